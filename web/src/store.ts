// Client state for the chat view: rooms, open rooms' messages, participants,
// notifications and the connection. One Store instance per page; components read it
// through useStore() and re-render on change. State objects are replaced, never
// mutated, so memoised components can compare by identity.
import type { Socket } from 'socket.io-client';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, uploadFile, type CreateRoomBody, type UploadHandle } from './api';
import { refusal } from './files';
import { desktopState, disableDesktop, enableDesktop, playChime, showDesktop, type DesktopState } from './notify';
import { messagePreview } from './util';
import { connectSocket, emitAck } from './socket';
import type {
  Id, Message, ModerationEvent, Notification, OpenedRoom, Participant, ParticipantPage, Permission, Pin, Poll, PollUpdate,
  Presence, PresenceUpdate, Question, ReactionUpdate, ReadState, Room, RoomListEntry, RoomPreferences, TypingEvent, User,
} from './types';
import type { ModerationAction, PresenceBody, RoomSettingsPatch } from './api';

export type Connection = 'connecting' | 'connected' | 'reconnecting' | 'offline';

export interface PendingMessage {
  client_id: string;
  room_id: Id;
  content: string;
  reply_to: Id | null;
  created_at: string;
  state: 'sending' | 'failed';
  error?: string;
  poll?: { question: string; options: string[]; multiple: boolean; closes_at?: string };
  /** 'event_update': an announcement (event organizers and room moderators). */
  type?: 'event_update';
}

/** A file on its way up (POST …/upload); replaced by the message once the server has it. */
export interface PendingUpload {
  client_id: string;
  room_id: Id;
  name: string;
  size: number;
  caption: string;
  /** Bytes sent so far. */
  loaded: number;
  /** 'processing': every byte sent, the server is checking it (thumbnail, scan). */
  phase: 'uploading' | 'processing';
  created_at: string;
}

/** One paged listing of a room's participants (GET …/participants). */
export interface RosterPage {
  cursor: string | null;
  hasMore: boolean;
  loaded: boolean;
  loading: boolean;
  error: string | null;
}

const emptyPage = (): RosterPage => ({ cursor: null, hasMore: false, loaded: false, loading: false, error: null });

/** Statuses that count as online (invisible looks offline to everyone else). */
export const ONLINE_STATUSES = new Set(['online', 'away', 'busy']);

/** A mute without end: the server stores it as this time. */
export const FOREVER = '9999-12-31T23:59:59Z';

export const ALL_PERMISSIONS: Permission[] = ['delete_messages', 'mute', 'kick', 'ban', 'manage_room', 'manage_moderators'];

export interface TypingUser {
  user: User;
  /** Date.now() after which the indicator lapses without a stop (the server's own timeout is 6 s). */
  expires: number;
}

export type QaSort = 'votes' | 'time';

export interface QaState {
  roomId: Id;
  sort: QaSort;
  /** Approved questions, plus my own still under review. */
  questions: Question[];
  cursor: string | null;
  hasMore: boolean;
  loading: boolean;
  error: string | null;
  /** The review queue (moderators of rooms with qa_moderation). */
  pending: Question[];
  pendingCursor: string | null;
  pendingHasMore: boolean;
  pendingLoading: boolean;
  pendingLoaded: boolean;
}

export interface RoomView {
  id: Id;
  messages: Message[];
  hasMoreBefore: boolean;
  loadingOlder: boolean;
  olderError: string | null;
  opened: boolean;
  opening: boolean;
  openError: string | null;
  /** Everyone of the room we know of: the join answer, pages of the people list, searches. */
  participants: Participant[];
  participantCount: number | null;
  onlineCount: number | null;
  roster: { online: RosterPage; all: RosterPage };
  /** My own mute in this room: RFC 3339 end (FOREVER without end), or null. */
  mutedUntil: string | null;
  muteReason: string | null;
  lastSeq: number;
  lastId: Id | null;
  dividerId: Id | null;
  pending: PendingMessage[];
  uploads: PendingUpload[];
  atBottom: boolean;
  newBelow: number;
}

export interface Toast {
  id: number;
  text: string;
  kind: 'info' | 'error';
  roomId?: Id;
  messageId?: Id | null;
}

export interface ThreadState {
  rootId: Id;
  roomId: Id;
  root: Message | null;
  replies: Message[];
  loading: boolean;
  error: string | null;
}

export interface ChatState {
  me: User;
  connection: Connection;
  everConnected: boolean;
  rooms: RoomListEntry[];
  roomsLoaded: boolean;
  roomsError: string | null;
  views: Record<string, RoomView>;
  currentRoomId: Id | null;
  notifications: Notification[];
  toasts: Toast[];
  announcement: string;
  thread: ThreadState | null;
  /** Set when the session ended (logged out elsewhere, expired). */
  signedOut: boolean;
  /** Presence by user id, from participant lists, look-ups and presence_updated. */
  presence: Record<string, Presence>;
  /** Who is typing, by room id (never me). */
  typing: Record<string, TypingUser[]>;
  /** Pinned messages by room id, once loaded. */
  pins: Record<string, Pin[]>;
  /** My moderation permissions by room id, once known. */
  perms: Record<string, Permission[]>;
  /** The Q&A list of the room whose Q&A panel is open. */
  qa: QaState | null;
  /** My notification level and sound per room id, once read from the server. */
  prefs: Record<string, RoomPreferences>;
  /** Browser notifications: supported, allowed by the browser and turned on here. */
  desktop: DesktopState;
}

function emptyView(id: Id): RoomView {
  return {
    id, messages: [], hasMoreBefore: false, loadingOlder: false, olderError: null, opened: false, opening: false,
    openError: null, participants: [], participantCount: null, onlineCount: null, roster: { online: emptyPage(), all: emptyPage() },
    mutedUntil: null, muteReason: null, lastSeq: 0, lastId: null, dividerId: null,
    pending: [], uploads: [], atBottom: true, newBelow: 0,
  };
}

const key = (id: Id) => String(id);

export function sameId(a: Id | null | undefined, b: Id | null | undefined): boolean {
  return a !== null && a !== undefined && b !== null && b !== undefined && String(a) === String(b);
}

function newClientId(): string {
  if (typeof crypto !== 'undefined' && 'randomUUID' in crypto) return crypto.randomUUID();
  return 'c' + Date.now().toString(36) + Math.random().toString(36).slice(2);
}

const ROLE_RANK: Record<string, number> = { owner: 0, moderator: 1, member: 2 };

/** The server's order: owners, moderators, members, each by username. */
export function sortParticipants(list: Participant[]): Participant[] {
  return [...list].sort((a, b) => (ROLE_RANK[a.role] ?? 3) - (ROLE_RANK[b.role] ?? 3)
    || (a.user.username.toLowerCase() < b.user.username.toLowerCase() ? -1 : a.user.username.toLowerCase() > b.user.username.toLowerCase() ? 1 : 0));
}

function mergeParticipants(list: Participant[], incoming: Participant[]): Participant[] {
  if (incoming.length === 0) return list;
  const byId = new Map<string, Participant>();
  for (const p of list) byId.set(key(p.user.id), p);
  for (const p of incoming) byId.set(key(p.user.id), p);
  return sortParticipants([...byId.values()]);
}

function presenceOf(u: PresenceUpdate): Presence {
  const src = u.presence ?? u;
  return { status: src.status ?? 'offline', custom_message: src.custom_message ?? null, last_active_at: src.last_active_at ?? null };
}

/** Questions in the order the panel shows them (the pinned one is shown apart). */
export function sortQuestions(list: Question[], sort: QaSort): Question[] {
  return [...list].sort((a, b) => {
    if (sort === 'votes' && a.vote_count !== b.vote_count) return b.vote_count - a.vote_count;
    return a.created_at < b.created_at ? 1 : a.created_at > b.created_at ? -1 : Number(b.id) - Number(a.id);
  });
}

/** Broadcasts carry no `voted` and hide anonymous authors; keep what an answer told us. */
function keepMyQuestion(old: Question | undefined, next: Question): Question {
  if (!old) return next;
  return { ...next, voted: next.voted ?? old.voted, author: next.author ?? (next.anonymous ? old.author : next.author) };
}

function upsertQuestion(list: Question[], q: Question): Question[] {
  const i = list.findIndex((x) => sameId(x.id, q.id));
  if (i < 0) return [...list, q];
  const out = [...list];
  out[i] = keepMyQuestion(list[i], q);
  return out;
}

function activityTime(r: RoomListEntry): string {
  return r.last_message?.created_at ?? r.created_at;
}

function sortRooms(rooms: RoomListEntry[]): RoomListEntry[] {
  return [...rooms].sort((a, b) => (activityTime(a) < activityTime(b) ? 1 : activityTime(a) > activityTime(b) ? -1 : 0));
}

/** Merges `incoming` into a seq-ordered list, replacing messages with the same id. */
function mergeMessages(list: Message[], incoming: Message[], preserveMine = true): Message[] {
  if (incoming.length === 0) return list;
  const byId = new Map<string, Message>();
  for (const m of list) byId.set(key(m.id), m);
  for (const m of incoming) {
    const old = byId.get(key(m.id));
    byId.set(key(m.id), old && preserveMine ? keepMine(old, m) : m);
  }
  return [...byId.values()].sort((a, b) => a.seq - b.seq);
}

/** Broadcasts omit the caller's own `me` / `my_votes`; keep what we knew. */
function keepMine(old: Message, next: Message): Message {
  let reactions = next.reactions;
  if (reactions.some((r) => r.me === undefined)) {
    reactions = reactions.map((r) => (r.me === undefined ? { ...r, me: old.reactions.find((o) => o.emoji === r.emoji)?.me ?? false } : r));
  }
  let poll = next.poll;
  if (poll && (poll.my_votes === undefined || poll.my_votes === null) && old.poll?.my_votes) {
    poll = { ...poll, my_votes: old.poll.my_votes };
  }
  return { ...next, reactions, poll };
}

function tail(messages: Message[]): { lastSeq: number; lastId: Id | null } {
  const last = messages[messages.length - 1];
  return last ? { lastSeq: last.seq, lastId: last.id } : { lastSeq: 0, lastId: null };
}

type Listener = () => void;

export class Store {
  state: ChatState;
  private listeners = new Set<Listener>();
  socket: Socket | null = null;
  private toastSeq = 0;
  private readTimers = new Map<string, number>();
  private lastMarked = new Map<string, string>();
  private roomsRefreshTimer: number | null = null;
  private catchingUp = new Set<string>();
  private typingTimer: number | null = null;
  private muteTimers = new Map<string, number>();

  constructor(me: User) {
    this.state = {
      me, connection: 'connecting', everConnected: false, rooms: [], roomsLoaded: false, roomsError: null, views: {},
      currentRoomId: null, notifications: [], toasts: [], announcement: '', thread: null, signedOut: false,
      presence: {}, typing: {}, pins: {}, perms: {}, qa: null, prefs: {}, desktop: desktopState(),
    };
  }

  subscribe(fn: Listener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(patch: Partial<ChatState>): void {
    this.state = { ...this.state, ...patch };
    for (const fn of this.listeners) fn();
  }

  private updateView(id: Id, fn: (v: RoomView) => RoomView): void {
    const v = this.state.views[key(id)] ?? emptyView(id);
    this.set({ views: { ...this.state.views, [key(id)]: fn(v) } });
  }

  private updateEntry(id: Id, fn: (r: RoomListEntry) => RoomListEntry, resort = false): void {
    let found = false;
    let rooms = this.state.rooms.map((r) => {
      if (!sameId(r.id, id)) return r;
      found = true;
      return fn(r);
    });
    if (!found) return;
    if (resort) rooms = sortRooms(rooms);
    this.set({ rooms });
  }

  view(id: Id | null): RoomView | null {
    return id === null ? null : this.state.views[key(id)] ?? null;
  }

  entry(id: Id | null): RoomListEntry | null {
    return id === null ? null : this.state.rooms.find((r) => sameId(r.id, id)) ?? null;
  }

  // ---- lifecycle -------------------------------------------------------------------

  start(initialRoom: Id | null): void {
    void this.loadRooms().then(() => {
      if (initialRoom !== null) this.openRoom(initialRoom);
      else if (this.state.currentRoomId === null && this.state.rooms.length > 0 && window.innerWidth > 700) {
        this.openRoom(this.state.rooms[0].id);
      }
    });
    void this.loadNotifications();
    void this.loadPresence([this.state.me.id]);
    const socket = connectSocket();
    this.socket = socket;
    socket.on('connect', () => this.onConnect());
    socket.on('disconnect', (reason) => {
      this.set({ connection: navigator.onLine === false ? 'offline' : 'reconnecting' });
      if (reason === 'io server disconnect') void this.checkSession(true);
    });
    socket.on('connect_error', () => {
      this.set({ connection: this.state.everConnected ? 'reconnecting' : 'connecting' });
      void this.checkSession(false);
    });
    socket.on('new_chat_message', (m: Message) => this.onNewMessage(m));
    socket.on('message_edited', (m: Message) => this.applyMessage(m));
    socket.on('message_deleted', (p: { id: Id; room_id: Id }) => this.onDeleted(p.id, p.room_id));
    socket.on('message_reaction_added', (p: ReactionUpdate) => this.onReaction(p, true));
    socket.on('message_reaction_removed', (p: ReactionUpdate) => this.onReaction(p, false));
    socket.on('poll_updated', (p: PollUpdate) => this.onPoll(p));
    socket.on('room_read', (p: ReadState) => this.onRoomRead(p));
    socket.on('room_updated', (r: Room) => this.onRoomUpdated(r));
    socket.on('user_joined_chat', (p: { room_id: Id; user: User }) => this.onUserJoined(p.room_id, p.user));
    socket.on('user_left_chat', (p: { room_id: Id; user: User }) => this.onUserLeft(p.room_id, p.user));
    socket.on('presence_updated', (p: PresenceUpdate) => this.onPresence(p.user_id, presenceOf(p)));
    socket.on('user_typing_start', (p: TypingEvent) => this.onTyping(p, true));
    socket.on('user_typing_stop', (p: TypingEvent) => this.onTyping(p, false));
    socket.on('room_participant_count', (p: { room_id: Id; participant_count: number; online_count: number }) => this.onCounts(p));
    socket.on('user_muted', (p: ModerationEvent) => this.onModeration('mute', p));
    socket.on('user_unmuted', (p: ModerationEvent) => this.onModeration('unmute', p));
    socket.on('user_kicked', (p: ModerationEvent) => this.onModeration('kick', p));
    socket.on('user_banned', (p: ModerationEvent) => this.onModeration('ban', p));
    socket.on('user_unbanned', (p: ModerationEvent) => this.onModeration('unban', p));
    socket.on('qa_question_added', (q: Question) => this.onQuestion(q));
    socket.on('qa_question_updated', (q: Question) => this.onQuestion(q));
    socket.on('qa_question_removed', (p: { id: Id; room_id: Id }) => this.onQuestionRemoved(p.room_id, p.id));
    socket.on('message_pinned', (p: Pin) => this.onPinned(p));
    socket.on('message_unpinned', (p: { message_id: Id; room_id: Id }) => this.onUnpinned(p.room_id, p.message_id));
    socket.on('notification', (n: Notification) => this.onNotification(n));
    socket.on('resync_required', (p: { room_ids?: Id[] }) => this.onResync(p.room_ids ?? []));
    socket.on('chat_error', (e: { message?: string }) => this.toast(e?.message ?? 'Something went wrong.', 'error'));
    window.addEventListener('online', () => {
      if (this.socket && !this.socket.connected) this.socket.connect();
    });
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && this.state.desktop !== desktopState()) this.set({ desktop: desktopState() });
      if (document.visibilityState === 'visible' && this.state.currentRoomId !== null) this.maybeMarkRead(this.state.currentRoomId);
    });
  }

  stop(): void {
    this.socket?.removeAllListeners();
    this.socket?.disconnect();
    this.socket = null;
  }

  private async checkSession(reconnectIfOk: boolean): Promise<void> {
    try {
      await api.me();
      if (reconnectIfOk && this.socket && !this.socket.connected) this.socket.connect();
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        this.stop();
        this.set({ signedOut: true });
      } else if (reconnectIfOk && this.socket) {
        window.setTimeout(() => this.socket?.connect(), 2000);
      }
    }
  }

  private onConnect(): void {
    const first = !this.state.everConnected;
    this.set({ connection: 'connected', everConnected: true });
    if (!first) void this.loadRooms();
    // Reopen every room we show, replaying what we missed since the last message seen.
    for (const v of Object.values(this.state.views)) {
      if (v.opened || v.opening || sameId(v.id, this.state.currentRoomId)) void this.joinRoom(v.id, v.lastId ?? undefined);
    }
    this.flushPending();
    if (!first) {
      // What changed while we were away: pins and the open Q&A list are read again.
      for (const k of Object.keys(this.state.pins)) void this.loadPins(Number(k));
      if (this.state.qa) void this.openQa(this.state.qa.roomId);
    }
  }

  // ---- rooms -----------------------------------------------------------------------

  async loadRooms(): Promise<void> {
    try {
      const { rooms } = await api.rooms();
      this.set({ rooms: sortRooms(rooms), roomsLoaded: true, roomsError: null });
      // Presence of the people we have direct messages with (their dots in the room list).
      const partners = rooms.filter((r) => r.direct_with && !this.state.presence[key(r.direct_with.id)]).map((r) => r.direct_with!.id);
      if (partners.length) void this.loadPresence(partners);
      // The list may predate our last mark_read for the room on screen.
      if (this.state.currentRoomId !== null) this.maybeMarkRead(this.state.currentRoomId);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) {
        this.stop();
        this.set({ signedOut: true });
        return;
      }
      this.set({ roomsLoaded: true, roomsError: (e as Error).message });
    }
  }

  private refreshRoomsSoon(): void {
    if (this.roomsRefreshTimer !== null) return;
    this.roomsRefreshTimer = window.setTimeout(() => {
      this.roomsRefreshTimer = null;
      void this.loadRooms();
    }, 300);
  }

  openRoom(id: Id): void {
    const prev = this.state.currentRoomId;
    const entry = this.entry(id);
    this.set({ currentRoomId: id, thread: this.state.thread && sameId(this.state.thread.roomId, id) ? this.state.thread : null });
    const url = new URL(window.location.href);
    url.searchParams.set('room', String(id));
    if (url.href !== window.location.href) window.history.replaceState(null, '', url.pathname + url.search);
    const existing = this.view(id);
    if (!existing || !existing.opened) {
      this.updateView(id, (v) => ({ ...v, opening: true, openError: null }));
      if (this.socket?.connected) void this.joinRoom(id, existing?.lastId ?? undefined);
    } else {
      // Returning to a room: place the divider before what arrived while away.
      const unread = entry?.unread_count ?? 0;
      this.updateView(id, (v) => ({ ...v, dividerId: unread > 0 ? this.dividerFor(v.messages, unread) : null, newBelow: 0, atBottom: true }));
      if (this.socket?.connected && !sameId(prev, id)) void this.joinRoom(id, existing.lastId ?? undefined);
    }
  }

  private dividerFor(messages: Message[], unread: number): Id | null {
    let left = unread;
    for (let i = messages.length - 1; i >= 0; i--) {
      const m = messages[i];
      if (m.type === 'system' || (m.sender && sameId(m.sender.id, this.state.me.id))) continue;
      left--;
      if (left === 0) return m.id;
    }
    return messages[0]?.id ?? null;
  }

  /** join_chat_room: opens the room (joining if allowed), or replays after `since`. */
  async joinRoom(id: Id, since?: Id): Promise<void> {
    if (!this.socket) return;
    const k = key(id);
    if (this.catchingUp.has(k)) {
      if (since !== undefined) window.setTimeout(() => void this.joinRoom(id, since), 1000);
      return;
    }
    this.catchingUp.add(k);
    try {
      const payload: { room_id: Id; since?: Id } = { room_id: id };
      if (since !== undefined && since !== null) payload.since = since;
      const ack = await emitAck<OpenedRoom>(this.socket, 'join_chat_room', payload);
      let { messages, has_more } = ack;
      if (payload.since !== undefined && has_more) {
        // Too much to replay: start again from the latest page.
        const fresh = await emitAck<OpenedRoom>(this.socket, 'join_chat_room', { room_id: id });
        messages = fresh.messages;
        has_more = fresh.has_more;
        this.updateView(id, (v) => ({ ...v, messages: [], hasMoreBefore: has_more }));
      }
      const entry = this.entry(id);
      this.updateView(id, (v) => {
        let list: Message[];
        let hasMoreBefore = v.hasMoreBefore;
        if (payload.since === undefined || v.messages.length === 0) {
          list = mergeMessages([], messages, false);
          hasMoreBefore = has_more;
        } else {
          list = mergeMessages(mergeMessages(v.messages, messages), ack.updates ?? []);
        }
        // Drop pending sends that the replay shows as delivered.
        const delivered = new Set(list.map((m) => m.client_id).filter(Boolean) as string[]);
        const pending = v.pending.filter((p) => !delivered.has(p.client_id));
        const uploads = v.uploads.filter((u) => !delivered.has(u.client_id));
        const unread = entry?.unread_count ?? 0;
        const dividerId = !v.opened && unread > 0 ? this.dividerFor(list, unread) : v.dividerId;
        // A fresh open starts the people list again; a replay adds to what we had.
        const fresh = payload.since === undefined;
        const participants = ack.participants
          ? fresh ? sortParticipants(ack.participants) : mergeParticipants(v.participants, ack.participants)
          : v.participants;
        const mine = ack.participants?.find((x) => sameId(x.user.id, this.state.me.id));
        const mute = mine ? this.muteFrom(mine.muted_until, v) : { mutedUntil: v.mutedUntil, muteReason: v.muteReason };
        return {
          ...v, messages: list, hasMoreBefore, opened: true, opening: false, openError: null, pending, uploads, dividerId,
          participants,
          participantCount: ack.participant_count ?? ack.room?.participant_count ?? v.participantCount,
          onlineCount: ack.online_count ?? v.onlineCount,
          roster: fresh && ack.participants ? { online: emptyPage(), all: emptyPage() } : v.roster,
          ...mute,
          ...tail(list),
        };
      });
      if (ack.participants) this.notePresence(ack.participants);
      if (ack.room) this.mergeRoomFields(ack.room);
      this.scheduleMuteEnd(id);
      if (ack.participants && !ack.participants.some((x) => sameId(x.user.id, this.state.me.id))) void this.lookUpMyMute(id);
      void this.loadRoomExtras(id);
      if (!entry) this.refreshRoomsSoon();
      if (this.thread && sameId(this.thread.roomId, id)) {
        for (const m of [...messages, ...(ack.updates ?? [])]) this.applyToThread(m);
      }
      this.maybeMarkRead(id);
    } catch (e) {
      this.updateView(id, (v) => ({ ...v, opening: false, openError: v.opened ? null : (e as Error).message }));
    } finally {
      this.catchingUp.delete(k);
    }
  }

  private get thread(): ThreadState | null {
    return this.state.thread;
  }

  async loadOlder(id: Id): Promise<void> {
    const v = this.view(id);
    if (!v || v.loadingOlder || !v.hasMoreBefore || v.messages.length === 0) return;
    this.updateView(id, (x) => ({ ...x, loadingOlder: true, olderError: null }));
    try {
      const page = await api.history(id, { before: v.messages[0].id, limit: 50 });
      this.updateView(id, (x) => ({
        ...x, loadingOlder: false, hasMoreBefore: page.has_more, messages: mergeMessages(x.messages, page.messages),
      }));
    } catch (e) {
      this.updateView(id, (x) => ({ ...x, loadingOlder: false, olderError: (e as Error).message }));
    }
  }

  async createRoom(body: CreateRoomBody): Promise<Room> {
    const room = await api.createRoom(body);
    await this.loadRooms();
    this.openRoom(room.id);
    return room;
  }

  /** Changes room settings (PATCH); the answer (and the room_updated broadcast) update the list. */
  async updateRoom(id: Id, patch: RoomSettingsPatch): Promise<Room> {
    const room = await api.updateRoom(id, patch);
    this.mergeRoomFields(room);
    return room;
  }

  async joinPublicRoom(id: Id): Promise<void> {
    await api.joinRoom(id);
    await this.loadRooms();
    this.openRoom(id);
  }

  async leaveRoom(id: Id): Promise<void> {
    await api.leaveRoom(id);
    this.removeRoomLocally(id);
  }

  private removeRoomLocally(id: Id): void {
    const views = { ...this.state.views };
    delete views[key(id)];
    const rooms = this.state.rooms.filter((r) => !sameId(r.id, id));
    const current = sameId(this.state.currentRoomId, id) ? null : this.state.currentRoomId;
    const typing = { ...this.state.typing };
    delete typing[key(id)];
    this.set({
      rooms, views, currentRoomId: current, thread: current === null ? null : this.state.thread, typing,
      qa: this.state.qa && sameId(this.state.qa.roomId, id) ? null : this.state.qa,
    });
    if (current === null) {
      const url = new URL(window.location.href);
      url.searchParams.delete('room');
      window.history.replaceState(null, '', url.pathname + url.search);
    }
  }

  private mergeRoomFields(room: Room): void {
    this.updateEntry(room.id, (r) => ({ ...r, ...room }));
  }

  setAtBottom(id: Id, atBottom: boolean): void {
    const v = this.view(id);
    if (!v || v.atBottom === atBottom) return;
    this.updateView(id, (x) => ({ ...x, atBottom, newBelow: atBottom ? 0 : x.newBelow }));
    if (atBottom) this.maybeMarkRead(id);
  }

  /** Whether the user is looking at the newest messages of this room right now. */
  private canSee(id: Id): boolean {
    if (!sameId(this.state.currentRoomId, id) || document.visibilityState === 'hidden') return false;
    const v = this.view(id);
    return !!v && v.opened && v.atBottom && v.lastId !== null;
  }

  /** Marks the room read up to its newest message when the user can see it. */
  maybeMarkRead(id: Id): void {
    if (!this.canSee(id)) return;
    const v = this.view(id)!;
    const entry = this.entry(id);
    if (entry && (entry.unread_count > 0 || entry.mention_count > 0 || (entry.announcement_count ?? 0) > 0)) {
      this.updateEntry(id, (r) => ({ ...r, unread_count: 0, mention_count: 0, announcement_count: 0 }));
    }
    const k = key(id);
    if (this.lastMarked.get(k) === String(v.lastId)) return;
    const old = this.readTimers.get(k);
    if (old !== undefined) window.clearTimeout(old);
    this.readTimers.set(k, window.setTimeout(() => {
      this.readTimers.delete(k);
      if (!this.canSee(id)) return; // switched rooms or scrolled up meanwhile
      const messageId = this.view(id)!.lastId!;
      this.lastMarked.set(k, String(messageId));
      const done = (p: Promise<ReadState>) => p.then((s) => this.onRoomRead(s)).catch(() => this.lastMarked.delete(k));
      if (this.socket?.connected) done(emitAck<ReadState>(this.socket, 'mark_read', { room_id: id, message_id: messageId }));
      else done(api.markRead(id, messageId));
    }, 400));
  }

  // ---- messages --------------------------------------------------------------------

  send(roomId: Id, content: string, replyTo: Id | null, type?: 'event_update'): void {
    const p: PendingMessage = {
      client_id: newClientId(), room_id: roomId, content, reply_to: replyTo, created_at: new Date().toISOString(), state: 'sending',
    };
    if (type) p.type = type;
    this.updateView(roomId, (v) => ({ ...v, pending: [...v.pending, p] }));
    this.sendPending(p);
  }

  sendPoll(roomId: Id, poll: { question: string; options: string[]; multiple: boolean; closes_at?: string }): void {
    const p: PendingMessage = {
      client_id: newClientId(), room_id: roomId, content: poll.question, reply_to: null, created_at: new Date().toISOString(),
      state: 'sending', poll,
    };
    this.updateView(roomId, (v) => ({ ...v, pending: [...v.pending, p] }));
    this.sendPending(p);
  }

  retry(roomId: Id, clientId: string): void {
    const v = this.view(roomId);
    const p = v?.pending.find((x) => x.client_id === clientId);
    if (!p) return;
    const again = { ...p, state: 'sending' as const, error: undefined };
    this.updateView(roomId, (x) => ({ ...x, pending: x.pending.map((y) => (y.client_id === clientId ? again : y)) }));
    this.sendPending(again);
  }

  discard(roomId: Id, clientId: string): void {
    this.updateView(roomId, (x) => ({ ...x, pending: x.pending.filter((y) => y.client_id !== clientId) }));
  }

  private flushPending(): void {
    for (const v of Object.values(this.state.views)) for (const p of v.pending) if (p.state === 'sending') this.sendPending(p);
  }

  private inFlight = new Set<string>();

  private async sendPending(p: PendingMessage): Promise<void> {
    if (!this.socket?.connected || this.inFlight.has(p.client_id)) return; // flushed on (re)connect
    this.inFlight.add(p.client_id);
    const body: Record<string, unknown> = { room_id: p.room_id, content: p.content, client_id: p.client_id };
    if (p.reply_to !== null) body.reply_to = p.reply_to;
    if (p.type) body.type = p.type;
    if (p.poll) {
      body.type = 'poll';
      body.poll = p.poll;
    }
    try {
      const ack = await emitAck<{ message: Message }>(this.socket, 'send_chat_message', body);
      this.inFlight.delete(p.client_id);
      this.onNewMessage(ack.message, true);
    } catch (e) {
      this.inFlight.delete(p.client_id);
      const code = (e as { code?: string }).code;
      if (code === 'timeout' && !this.socket?.connected) return; // retried with the same client_id on reconnect
      if (code === 'muted') void this.lookUpMyMute(p.room_id);
      this.updateView(p.room_id, (v) => ({
        ...v, pending: v.pending.map((x) => (x.client_id === p.client_id ? { ...x, state: 'failed', error: (e as Error).message } : x)),
      }));
    }
  }

  // ---- uploads -----------------------------------------------------------------------

  private uploadsInFlight = new Map<string, UploadHandle>();

  /**
   * Uploads `file` to the room with `caption`. Refuses (with a toast, worded like the
   * server) what the server would refuse by name or size; returns whether it started.
   */
  upload(roomId: Id, file: File, caption: string): boolean {
    const entry = this.entry(roomId);
    const why = refusal(file, { allow_files: entry?.allow_files ?? true, allow_voice: entry?.allow_voice ?? true });
    if (why) {
      this.toast(`${file.name} was not uploaded: ${why}`, 'error');
      return false;
    }
    const u: PendingUpload = {
      client_id: newClientId(), room_id: roomId, name: file.name, size: file.size, caption, loaded: 0, phase: 'uploading',
      created_at: new Date().toISOString(),
    };
    this.updateView(roomId, (v) => ({ ...v, uploads: [...v.uploads, u] }));
    let shown = -1;
    const handle = uploadFile(roomId, file, { caption: caption || undefined, client_id: u.client_id }, (loaded, total) => {
      // One re-render per percent is plenty.
      const pct = total > 0 ? Math.floor((loaded / total) * 100) : 0;
      if (pct === shown) return;
      shown = pct;
      this.patchUpload(roomId, u.client_id, (x) => ({ ...x, loaded: Math.min(loaded, x.size), phase: loaded >= total ? 'processing' : 'uploading' }));
    });
    this.uploadsInFlight.set(u.client_id, handle);
    handle.done.then(
      (m) => {
        this.uploadsInFlight.delete(u.client_id);
        this.onNewMessage(m, true);
        // A message without our client_id (should not happen) still ends the pending item.
        this.dropUpload(roomId, u.client_id);
      },
      (e: unknown) => {
        this.uploadsInFlight.delete(u.client_id);
        this.dropUpload(roomId, u.client_id);
        if (e instanceof ApiError && e.code === 'aborted') return;
        this.toast(`${file.name} was not uploaded: ${(e as Error).message}`, 'error');
      },
    );
    return true;
  }

  cancelUpload(roomId: Id, clientId: string): void {
    const h = this.uploadsInFlight.get(clientId);
    if (h) h.abort();
    else this.dropUpload(roomId, clientId);
  }

  private patchUpload(roomId: Id, clientId: string, fn: (u: PendingUpload) => PendingUpload): void {
    const v = this.view(roomId);
    if (!v || !v.uploads.some((x) => x.client_id === clientId)) return;
    this.updateView(roomId, (x) => ({ ...x, uploads: x.uploads.map((y) => (y.client_id === clientId ? fn(y) : y)) }));
  }

  private dropUpload(roomId: Id, clientId: string): void {
    const v = this.view(roomId);
    if (!v || !v.uploads.some((x) => x.client_id === clientId)) return;
    this.updateView(roomId, (x) => ({ ...x, uploads: x.uploads.filter((y) => y.client_id !== clientId) }));
  }

  async edit(messageId: Id, content: string): Promise<void> {
    const ack = this.socket?.connected
      ? (await emitAck<{ message: Message }>(this.socket, 'edit_chat_message', { message_id: messageId, content })).message
      : await (async () => {
        throw new Error('Not connected; try again in a moment.');
      })();
    this.applyMessage(ack);
  }

  async remove(messageId: Id, roomId: Id): Promise<void> {
    if (!this.socket?.connected) throw new Error('Not connected; try again in a moment.');
    await emitAck(this.socket, 'delete_chat_message', { message_id: messageId });
    this.onDeleted(messageId, roomId);
  }

  async react(messageId: Id, emoji: string, add: boolean): Promise<void> {
    try {
      const upd = this.socket?.connected
        ? await emitAck<ReactionUpdate>(this.socket, add ? 'add_message_reaction' : 'remove_message_reaction', { message_id: messageId, emoji })
        : await api.react(messageId, emoji, add);
      this.onReaction({ ...upd, user_id: this.state.me.id }, add, true);
    } catch (e) {
      this.toast((e as Error).message, 'error');
    }
  }

  async vote(messageId: Id, options: number[]): Promise<void> {
    try {
      const upd = this.socket?.connected
        ? await emitAck<PollUpdate>(this.socket, 'vote_poll', { message_id: messageId, options })
        : await api.vote(messageId, options);
      const poll: Poll = { ...upd.poll, my_votes: upd.poll.my_votes ?? options };
      this.patchMessage(upd.room_id, messageId, (m) => ({ ...m, poll }));
    } catch (e) {
      this.toast((e as Error).message, 'error');
    }
  }

  private onNewMessage(m: Message, fromAck = false): void {
    const k = key(m.room_id);
    const v = this.state.views[k];
    const mine = !!m.sender && sameId(m.sender.id, this.state.me.id);
    const isCurrent = sameId(this.state.currentRoomId, m.room_id);
    let isNew = true;
    if (v) {
      isNew = !v.messages.some((x) => sameId(x.id, m.id));
      if (v.opened) {
        const before = v.messages.length > 0 ? v.messages[v.messages.length - 1] : null;
        if (before && m.seq > before.seq + 1) this.checkGap(m.room_id, before, m.seq);
        this.updateView(m.room_id, (x) => {
          const messages = mergeMessages(x.messages, [m]);
          const pending = m.client_id ? x.pending.filter((p) => p.client_id !== m.client_id) : x.pending;
          const uploads = m.client_id ? x.uploads.filter((u) => u.client_id !== m.client_id) : x.uploads;
          const away = !mine && isNew && m.type !== 'system' && (!x.atBottom || !isCurrent);
          return {
            ...x, messages, pending, uploads, ...tail(messages),
            newBelow: away && isCurrent ? x.newBelow + 1 : x.newBelow,
            dividerId: away && x.dividerId === null ? m.id : x.dividerId,
          };
        });
      } else if (m.client_id) {
        this.updateView(m.room_id, (x) => ({
          ...x, pending: x.pending.filter((p) => p.client_id !== m.client_id), uploads: x.uploads.filter((u) => u.client_id !== m.client_id),
        }));
      }
    }
    if (this.state.thread && m.reply_to !== null && sameId(m.reply_to, this.state.thread.rootId) && sameId(m.room_id, this.state.thread.roomId)) {
      this.set({ thread: { ...this.state.thread, replies: mergeMessages(this.state.thread.replies, [m]) } });
    }
    const entry = this.entry(m.room_id);
    if (!entry) {
      this.refreshRoomsSoon();
      return;
    }
    const viewNow = this.view(m.room_id);
    const seen = isCurrent && !!viewNow?.atBottom && document.visibilityState !== 'hidden';
    const mentionsMe = m.mentions?.some((u) => sameId(u.id, this.state.me.id));
    const newerThanLast = !entry.last_message || entry.last_message.seq <= m.seq;
    const counts = !mine && isNew && !seen && m.type !== 'system'; // the server counts no system messages
    this.updateEntry(m.room_id, (r) => ({
      ...r,
      last_message: newerThanLast ? m : r.last_message,
      unread_count: counts ? r.unread_count + 1 : r.unread_count,
      mention_count: counts && mentionsMe ? r.mention_count + 1 : r.mention_count,
      announcement_count: counts && m.type === 'event_update' ? (r.announcement_count ?? 0) + 1 : r.announcement_count,
    }), true);
    // Sending ends the sender's typing indicator.
    if (m.sender && !mine) this.dropTyping(m.room_id, m.sender.id);
    if (!mine && isNew && isCurrent && m.type !== 'system') {
      const who = m.sender?.display_name || m.sender?.username || 'Someone';
      const text = (m.content ?? '').slice(0, 200);
      const files = (m.attachments ?? []).map((a) => `${a.category === 'file' ? 'file' : a.category} ${a.name}`).join(', ');
      this.set({ announcement: `${who}: ${m.type === 'poll' ? 'poll: ' : ''}${files ? `shared ${files}${text ? '. ' : ''}` : ''}${text}` });
    }
    if (!mine && isNew && !fromAck && m.type !== 'system' && !m.deleted_at) void this.alertFor(m, seen, !!mentionsMe);
    if (seen) this.maybeMarkRead(m.room_id);
  }

  // ---- browser notifications and sound ------------------------------------------------

  private alerted = new Set<string>();
  private prefsLoading = new Map<string, Promise<RoomPreferences | null>>();

  /** My preferences in a room: from the state, else read once from the server. */
  prefsFor(roomId: Id): Promise<RoomPreferences | null> {
    const k = key(roomId);
    const known = this.state.prefs[k];
    if (known) return Promise.resolve(known);
    const entry = this.entry(roomId) as (RoomListEntry & { notifications?: RoomPreferences['notifications']; sound?: boolean; preferences?: RoomPreferences }) | null;
    // A room list that carries the preferences saves the request.
    const inline = entry?.preferences ?? (entry && entry.notifications && typeof entry.sound === 'boolean'
      ? { room_id: roomId, notifications: entry.notifications, sound: entry.sound } : null);
    if (inline) {
      this.set({ prefs: { ...this.state.prefs, [k]: { ...inline, room_id: roomId } } });
      return Promise.resolve(this.state.prefs[k]);
    }
    let p = this.prefsLoading.get(k);
    if (!p) {
      p = api.preferences(roomId).then(
        (x) => {
          this.prefsLoading.delete(k);
          if (!this.state.prefs[k]) this.set({ prefs: { ...this.state.prefs, [k]: x } });
          return this.state.prefs[k];
        },
        () => {
          this.prefsLoading.delete(k);
          return null;
        },
      );
      this.prefsLoading.set(k, p);
    }
    return p;
  }

  async setPrefs(roomId: Id, body: Partial<Pick<RoomPreferences, 'notifications' | 'sound'>>): Promise<void> {
    const k = key(roomId);
    const before = this.state.prefs[k];
    if (before) this.set({ prefs: { ...this.state.prefs, [k]: { ...before, ...body } } });
    try {
      const next = await api.setPreferences(roomId, body);
      this.set({ prefs: { ...this.state.prefs, [k]: next } });
    } catch (e) {
      if (before) this.set({ prefs: { ...this.state.prefs, [k]: before } });
      throw e;
    }
  }

  /** Call from a click: asks the browser for permission when it has not been asked yet. */
  async enableDesktop(): Promise<DesktopState> {
    const d = await enableDesktop();
    this.set({ desktop: d });
    if (d === 'denied') this.toast('The browser blocks notifications for this site; allow them in its site settings.', 'error');
    return d;
  }

  disableDesktop(): void {
    this.set({ desktop: disableDesktop() });
  }

  /**
   * A new message from someone else: a browser notification while the tab is hidden and
   * a chime unless the user is reading that room, as the room's preferences allow
   * (`all`; `mentions`: mentions of me, replies to me and direct messages; `none`).
   */
  private async alertFor(m: Message, seen: boolean, mentionsMe: boolean): Promise<void> {
    const id = key(m.id);
    if (this.alerted.has(id) || seen) return;
    this.alerted.add(id);
    if (this.alerted.size > 500) this.alerted = new Set([...this.alerted].slice(-200));
    const prefs = await this.prefsFor(m.room_id);
    const level = prefs?.notifications ?? 'all';
    if (level === 'none') return;
    const entry = this.entry(m.room_id);
    if (!entry) return;
    if (level === 'mentions' && !mentionsMe && !entry.is_direct && !this.repliesToMe(m) && m.type !== 'event_update') return;
    const hidden = document.visibilityState === 'hidden';
    if (hidden && this.state.desktop === 'on') {
      const who = m.sender?.display_name || m.sender?.username || 'Someone';
      const title = entry.is_direct ? who : `${who} in #${entry.name}`;
      const body = m.type === 'event_update' ? `Announcement: ${messagePreview(m, 160)}` : messagePreview(m, 160);
      showDesktop(title, body, `msg-${id}`, () => this.openRoom(m.room_id));
    }
    if (prefs?.sound ?? true) playChime();
  }

  private repliesToMe(m: Message): boolean {
    if (m.reply_to === null || m.reply_to === undefined) return false;
    const parent = this.view(m.room_id)?.messages.find((x) => sameId(x.id, m.reply_to));
    return !!parent?.sender && sameId(parent.sender.id, this.state.me.id);
  }

  /** A seq gap: unless the missing messages turn up by themselves, replay after `from`. */
  private checkGap(roomId: Id, from: Message, upTo: number): void {
    window.setTimeout(() => {
      const v = this.view(roomId);
      if (!v) return;
      const have = new Set(v.messages.map((m) => m.seq));
      for (let s = from.seq + 1; s < upTo; s++) {
        if (!have.has(s)) {
          void this.joinRoom(roomId, from.id);
          return;
        }
      }
    }, 800);
  }

  private patchMessage(roomId: Id, messageId: Id, fn: (m: Message) => Message): void {
    const v = this.view(roomId);
    if (v && v.messages.some((m) => sameId(m.id, messageId))) {
      this.updateView(roomId, (x) => ({ ...x, messages: x.messages.map((m) => (sameId(m.id, messageId) ? fn(m) : m)) }));
    }
    const t = this.state.thread;
    if (t && sameId(t.roomId, roomId)) {
      const root = t.root && sameId(t.root.id, messageId) ? fn(t.root) : t.root;
      const replies = t.replies.some((m) => sameId(m.id, messageId)) ? t.replies.map((m) => (sameId(m.id, messageId) ? fn(m) : m)) : t.replies;
      if (root !== t.root || replies !== t.replies) this.set({ thread: { ...t, root, replies } });
    }
    const e = this.entry(roomId);
    if (e?.last_message && sameId(e.last_message.id, messageId)) this.updateEntry(roomId, (r) => ({ ...r, last_message: r.last_message && fn(r.last_message) }));
  }

  private applyToThread(m: Message): void {
    const t = this.state.thread;
    if (!t) return;
    if (t.root && sameId(t.root.id, m.id)) this.set({ thread: { ...t, root: keepMine(t.root, m) } });
    else if (t.replies.some((x) => sameId(x.id, m.id))) this.set({ thread: { ...t, replies: mergeMessages(t.replies, [m]) } });
  }

  /** An edited (or otherwise updated) message replaces the one we hold. */
  private applyMessage(m: Message): void {
    this.patchMessage(m.room_id, m.id, (old) => keepMine(old, m));
  }

  private onDeleted(id: Id, roomId: Id): void {
    const now = new Date().toISOString();
    this.patchMessage(roomId, id, (m) => ({ ...m, content: null, deleted_at: m.deleted_at ?? now, reactions: [], poll: null, attachments: [] }));
  }

  private onReaction(p: ReactionUpdate, added: boolean, fromAck = false): void {
    const mineChange = sameId(p.user_id, this.state.me.id);
    this.patchMessage(p.room_id, p.message_id, (m) => ({
      ...m,
      reactions: p.reactions.map((r) => {
        if (fromAck && r.me !== undefined) return r;
        const before = m.reactions.find((o) => o.emoji === r.emoji)?.me ?? false;
        return { ...r, me: mineChange && r.emoji === p.emoji ? added : before };
      }),
    }));
  }

  private onPoll(p: PollUpdate): void {
    this.patchMessage(p.room_id, p.message_id, (m) => ({
      ...m, poll: { ...p.poll, my_votes: p.poll.my_votes ?? m.poll?.my_votes ?? null },
    }));
  }

  private onRoomRead(s: ReadState): void {
    this.updateEntry(s.room_id, (r) => ({
      ...r, unread_count: s.unread_count, mention_count: s.mention_count,
      // Announcements are among the unread messages: never more of them than unread ones.
      announcement_count: r.announcement_count ? Math.min(r.announcement_count, s.unread_count) : r.announcement_count,
    }));
    const k = key(s.room_id);
    if (String(s.last_read_message_id) !== this.lastMarked.get(k)) this.lastMarked.delete(k);
    if (s.unread_count > 0 || s.mention_count > 0) this.maybeMarkRead(s.room_id);
  }

  private onRoomUpdated(room: Room): void {
    if (!this.entry(room.id)) {
      this.refreshRoomsSoon();
      return;
    }
    this.mergeRoomFields(room);
  }

  private onUserJoined(roomId: Id, user: User): void {
    if (sameId(user.id, this.state.me.id) && !this.entry(roomId)) this.refreshRoomsSoon();
    const v = this.view(roomId);
    if (v && v.opened && !v.participants.some((p) => sameId(p.user.id, user.id))) {
      const p: Participant = {
        user, role: 'member', joined_at: new Date().toISOString(), muted_until: null,
        presence: { status: 'online', custom_message: null, last_active_at: new Date().toISOString() },
      };
      this.updateView(roomId, (x) => ({ ...x, participants: [...x.participants, p], participantCount: (x.participantCount ?? x.participants.length) + 1 }));
    }
  }

  private onUserLeft(roomId: Id, user: User): void {
    if (sameId(user.id, this.state.me.id)) {
      if (this.entry(roomId)) {
        this.toast(`You are no longer in #${this.entry(roomId)?.name ?? 'the room'}.`, 'info');
        this.removeRoomLocally(roomId);
      }
      return;
    }
    const v = this.view(roomId);
    if (v && v.participants.some((p) => sameId(p.user.id, user.id))) {
      this.updateView(roomId, (x) => ({
        ...x, participants: x.participants.filter((p) => !sameId(p.user.id, user.id)),
        participantCount: x.participantCount !== null ? Math.max(0, x.participantCount - 1) : null,
      }));
    }
  }

  private onPresence(userId: Id, presence: Presence): void {
    const k = key(userId);
    const before = this.state.presence[k];
    const views = { ...this.state.views };
    let changed = false;
    for (const [vk, v] of Object.entries(views)) {
      const p = v.participants.find((x) => sameId(x.user.id, userId));
      if (!p) continue;
      changed = true;
      // The room's online count follows a known participant coming and going; room_participant_count corrects it.
      const was = ONLINE_STATUSES.has((before ?? p.presence)?.status);
      const now = ONLINE_STATUSES.has(presence.status);
      views[vk] = {
        ...v,
        participants: v.participants.map((x) => (sameId(x.user.id, userId) ? { ...x, presence } : x)),
        onlineCount: v.onlineCount !== null && was !== now ? Math.max(0, v.onlineCount + (now ? 1 : -1)) : v.onlineCount,
      };
    }
    this.set({ presence: { ...this.state.presence, [k]: presence }, ...(changed ? { views } : {}) });
  }

  /** Records the presence that participant lists carry. */
  private notePresence(list: Participant[]): void {
    if (list.length === 0) return;
    const presence = { ...this.state.presence };
    for (const p of list) if (p.presence) presence[key(p.user.id)] = p.presence;
    this.set({ presence });
  }

  async loadPresence(ids: Id[]): Promise<void> {
    try {
      for (let i = 0; i < ids.length; i += 100) {
        const { presence } = await api.presence(ids.slice(i, i + 100));
        const map = { ...this.state.presence };
        for (const x of presence) map[key(x.user_id)] = presenceOf(x);
        this.set({ presence: map });
      }
    } catch {
      /* dots stay grey */
    }
  }

  /** Sets my status (and custom message) through the socket, or REST when offline. */
  async setPresence(body: PresenceBody): Promise<void> {
    let p: Presence;
    if (this.socket?.connected) {
      const ack = await emitAck<{ presence: PresenceUpdate }>(this.socket, 'update_presence', body);
      p = presenceOf(ack.presence);
    } else {
      p = presenceOf(await api.setPresence(body));
    }
    this.onPresence(this.state.me.id, p);
  }

  // ---- typing ----------------------------------------------------------------------

  /** chat_typing_start / chat_typing_stop; errors (muted, offline) are ignored. */
  emitTyping(roomId: Id, typing: boolean): void {
    if (!this.socket?.connected) return;
    this.socket.emit(typing ? 'chat_typing_start' : 'chat_typing_stop', { room_id: roomId }, () => {});
  }

  private onTyping(p: TypingEvent, on: boolean): void {
    if (!p?.user || sameId(p.user.id, this.state.me.id)) return;
    if (!on) {
      this.dropTyping(p.room_id, p.user.id);
      return;
    }
    const k = key(p.room_id);
    const list = (this.state.typing[k] ?? []).filter((t) => !sameId(t.user.id, p.user.id));
    this.set({ typing: { ...this.state.typing, [k]: [...list, { user: p.user, expires: Date.now() + 8000 }] } });
    this.scheduleTypingSweep();
  }

  private dropTyping(roomId: Id, userId: Id): void {
    const k = key(roomId);
    const list = this.state.typing[k];
    if (!list || !list.some((t) => sameId(t.user.id, userId))) return;
    this.set({ typing: { ...this.state.typing, [k]: list.filter((t) => !sameId(t.user.id, userId)) } });
  }

  /** Drops indicators whose stop never came (a lost event, a dropped connection). */
  private scheduleTypingSweep(): void {
    if (this.typingTimer !== null) return;
    this.typingTimer = window.setTimeout(() => {
      this.typingTimer = null;
      const now = Date.now();
      let left = false;
      const typing: Record<string, TypingUser[]> = {};
      let changed = false;
      for (const [k, list] of Object.entries(this.state.typing)) {
        const keep = list.filter((t) => t.expires > now);
        if (keep.length !== list.length) changed = true;
        if (keep.length) {
          typing[k] = keep;
          left = true;
        }
      }
      if (changed) this.set({ typing });
      if (left) this.scheduleTypingSweep();
    }, 1000);
  }

  // ---- people list, moderation -------------------------------------------------------

  private onCounts(p: { room_id: Id; participant_count: number; online_count: number }): void {
    const v = this.view(p.room_id);
    const onlineChanged = !!v && v.onlineCount !== p.online_count;
    if (v) this.updateView(p.room_id, (x) => ({ ...x, participantCount: p.participant_count, onlineCount: p.online_count }));
    if (this.entry(p.room_id)) this.updateEntry(p.room_id, (r) => ({ ...r, participant_count: p.participant_count }));
    // Large rooms send no presence_updated per person: when their online count moves,
    // read the presence of the people shown and the first online page again.
    if (v && onlineChanged && v.roster.online.loaded) void this.refreshRoster(p.room_id);
  }

  private async refreshRoster(roomId: Id): Promise<void> {
    const v = this.view(roomId);
    if (!v) return;
    await this.loadPresence(v.participants.map((x) => x.user.id));
    try {
      const res: ParticipantPage = await api.participants(roomId, { limit: 50, status: 'online' });
      this.notePresence(res.participants);
      this.updateView(roomId, (x) => ({ ...x, participants: mergeParticipants(x.participants, res.participants) }));
    } catch {
      /* the next count push tries again */
    }
  }

  /** Loads the next page of the online group (`online`) or of everyone (`all`, for the offline group). */
  async loadRosterPage(roomId: Id, which: 'online' | 'all'): Promise<void> {
    const v = this.view(roomId);
    if (!v) return;
    const page = v.roster[which];
    if (page.loading || (page.loaded && !page.hasMore)) return;
    const setPage = (fn: (x: RosterPage) => RosterPage) =>
      this.updateView(roomId, (x) => ({ ...x, roster: { ...x.roster, [which]: fn(x.roster[which]) } }));
    setPage((x) => ({ ...x, loading: true, error: null }));
    try {
      const res: ParticipantPage = await api.participants(roomId, { limit: 50, after: page.loaded ? page.cursor : null, status: which === 'online' ? 'online' : undefined });
      this.notePresence(res.participants);
      this.updateView(roomId, (x) => ({
        ...x,
        participants: mergeParticipants(x.participants, res.participants),
        participantCount: res.participant_count ?? x.participantCount,
        onlineCount: res.online_count ?? x.onlineCount,
        roster: { ...x.roster, [which]: { cursor: res.next_cursor, hasMore: res.has_more, loaded: true, loading: false, error: null } },
      }));
      const me = res.participants.find((x) => sameId(x.user.id, this.state.me.id));
      if (me) this.applyMyMute(roomId, me.muted_until, undefined);
    } catch (e) {
      setPage((x) => ({ ...x, loading: false, error: (e as Error).message }));
    }
  }

  /** The first pages of the people list, as the panel opens. */
  async loadParticipants(id: Id): Promise<void> {
    await Promise.all([this.loadRosterPage(id, 'online'), this.loadRosterPage(id, 'all')]);
  }

  /** Participants whose username or display name starts with `q` (the mention autocomplete in big rooms). */
  async searchParticipants(roomId: Id, q: string): Promise<Participant[]> {
    try {
      const res = await api.participants(roomId, { q, limit: 8 });
      this.notePresence(res.participants);
      this.updateView(roomId, (x) => ({ ...x, participants: mergeParticipants(x.participants, res.participants) }));
      return res.participants;
    } catch {
      return [];
    }
  }

  /** Whether the room's people list here is only part of the room. */
  rosterIncomplete(roomId: Id): boolean {
    const v = this.view(roomId);
    if (!v) return false;
    return (v.participantCount ?? 0) > v.participants.length;
  }

  /** My permissions in a room: owners and admins hold all, moderators what they were granted. */
  permissions(roomId: Id | null): Permission[] {
    if (roomId === null) return [];
    if (this.state.me.role === 'admin') return ALL_PERMISSIONS;
    const entry = this.entry(roomId);
    if (!entry) return [];
    if (entry.my_role === 'owner') return ALL_PERMISSIONS;
    if (entry.my_role !== 'moderator') return [];
    return this.state.perms[key(roomId)] ?? [];
  }

  /** After a room opens: my moderator permissions (when I am one) and its pins. */
  private async loadRoomExtras(roomId: Id): Promise<void> {
    const k = key(roomId);
    const entry = this.entry(roomId);
    if (entry?.my_role === 'moderator' && this.state.me.role !== 'admin' && !this.state.perms[k]) {
      try {
        const { moderators } = await api.moderators(roomId);
        const mine = moderators.find((m) => sameId(m.user.id, this.state.me.id));
        this.set({ perms: { ...this.state.perms, [k]: mine?.permissions ?? [] } });
      } catch {
        /* no moderation tools */
      }
    }
    if (!this.state.pins[k]) await this.loadPins(roomId);
  }

  private muteFrom(until: string | null, v: RoomView): { mutedUntil: string | null; muteReason: string | null } {
    const live = until && new Date(until).getTime() > Date.now() ? until : null;
    return { mutedUntil: live, muteReason: live ? v.muteReason : null };
  }

  private applyMyMute(roomId: Id, until: string | null, reason: string | null | undefined): void {
    const v = this.view(roomId);
    if (!v) return;
    const m = this.muteFrom(until, v);
    const muteReason = m.mutedUntil ? (reason !== undefined ? reason : v.muteReason) : null;
    if (m.mutedUntil === v.mutedUntil && muteReason === v.muteReason) return;
    this.updateView(roomId, (x) => ({ ...x, mutedUntil: m.mutedUntil, muteReason }));
    this.scheduleMuteEnd(roomId);
  }

  /** Re-enables the composer when a mute runs out, even if user_unmuted is missed. */
  private scheduleMuteEnd(roomId: Id): void {
    const k = key(roomId);
    const old = this.muteTimers.get(k);
    if (old !== undefined) window.clearTimeout(old);
    this.muteTimers.delete(k);
    const until = this.view(roomId)?.mutedUntil;
    if (!until || until === FOREVER) return;
    const ms = new Date(until).getTime() - Date.now();
    if (ms > 2 ** 31 - 1) return;
    this.muteTimers.set(k, window.setTimeout(() => {
      this.muteTimers.delete(k);
      this.applyMyMute(roomId, null, null);
    }, Math.max(0, ms) + 250));
  }

  /** My entry in a big room's list (the join answer names at most 50). */
  private async lookUpMyMute(roomId: Id): Promise<void> {
    try {
      const res = await api.participants(roomId, { q: this.state.me.username, limit: 10 });
      const me = res.participants.find((x) => sameId(x.user.id, this.state.me.id));
      if (me) this.applyMyMute(roomId, me.muted_until, undefined);
    } catch {
      /* the send answer says so if muted */
    }
  }

  /** Mute, unmute, kick, ban or unban someone in a room. */
  async moderate(roomId: Id, action: ModerationAction, userId: Id, opts: { duration_seconds?: number; reason?: string } = {}): Promise<void> {
    const body: { user_id: Id; duration_seconds?: number; reason?: string } = { user_id: userId };
    if (opts.duration_seconds) body.duration_seconds = opts.duration_seconds;
    if (opts.reason?.trim() && action !== 'unmute' && action !== 'unban') body.reason = opts.reason.trim();
    const ev = await api.moderate(roomId, action, body);
    this.onModeration(action, { ...ev, room_id: ev.room_id ?? roomId });
    // The server's next room_participant_count can still count whom we removed; read the counts again after it.
    if (action === 'kick' || action === 'ban') window.setTimeout(() => void this.refreshCounts(roomId), 3500);
  }

  private async refreshCounts(roomId: Id): Promise<void> {
    if (!this.view(roomId)) return;
    try {
      const res = await api.participants(roomId, { limit: 1 });
      this.onCounts({ room_id: roomId, participant_count: res.participant_count, online_count: res.online_count });
    } catch {
      /* the next push corrects it */
    }
  }

  private onModeration(action: ModerationAction, p: ModerationEvent): void {
    if (!p?.user) return;
    const mine = sameId(p.user.id, this.state.me.id);
    const until = action === 'mute' ? p.until ?? FOREVER : null;
    if (action === 'mute' || action === 'unmute') {
      const v = this.view(p.room_id);
      if (v && v.participants.some((x) => sameId(x.user.id, p.user.id))) {
        this.updateView(p.room_id, (x) => ({
          ...x, participants: x.participants.map((y) => (sameId(y.user.id, p.user.id) ? { ...y, muted_until: until } : y)),
        }));
      }
      if (mine) {
        const was = this.view(p.room_id)?.mutedUntil ?? null;
        this.applyMyMute(p.room_id, until, p.reason ?? null);
        if (action === 'unmute' && was) this.toast(`You can post in #${this.entry(p.room_id)?.name ?? 'the room'} again.`, 'info');
      }
      return;
    }
    if (action === 'unban') return;
    // Kicked or banned.
    if (mine) {
      const room = this.entry(p.room_id);
      if (room) {
        const by = p.actor ? ` by ${p.actor.display_name || p.actor.username}` : '';
        const what = action === 'ban' ? `banned from #${room.name}${p.until ? ` until ${new Date(p.until).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' })}` : ''}` : `removed from #${room.name}`;
        this.toast(`You were ${what}${by}${p.reason ? `: ${p.reason}` : '.'}`, 'error');
        this.removeRoomLocally(p.room_id);
      }
      return;
    }
    const v = this.view(p.room_id);
    if (v && v.participants.some((x) => sameId(x.user.id, p.user.id))) {
      const online = ONLINE_STATUSES.has(this.state.presence[key(p.user.id)]?.status ?? '');
      this.updateView(p.room_id, (x) => ({
        ...x, participants: x.participants.filter((y) => !sameId(y.user.id, p.user.id)),
        participantCount: x.participantCount !== null ? Math.max(0, x.participantCount - 1) : null,
        onlineCount: x.onlineCount !== null && online ? Math.max(0, x.onlineCount - 1) : x.onlineCount,
      }));
    }
    this.dropTyping(p.room_id, p.user.id);
  }

  // ---- pins --------------------------------------------------------------------------

  async loadPins(roomId: Id): Promise<void> {
    try {
      const { pins } = await api.pins(roomId);
      this.set({ pins: { ...this.state.pins, [key(roomId)]: pins } });
    } catch {
      /* no pins shown */
    }
  }

  async setPinned(m: Message, pinned: boolean): Promise<void> {
    try {
      if (pinned) this.onPinned(await api.pin(m.id));
      else {
        await api.unpin(m.id);
        this.onUnpinned(m.room_id, m.id);
      }
    } catch (e) {
      if (e instanceof ApiError && e.code === 'pin_limit_reached') this.toast('This room already has 50 pinned messages: unpin one first.', 'error');
      else this.toast((e as Error).message, 'error');
    }
  }

  private onPinned(p: Pin): void {
    const k = key(p.room_id);
    const list = this.state.pins[k];
    if (!list) return; // loaded when the room opens
    const rest = list.filter((x) => !sameId(x.message_id, p.message_id));
    this.set({ pins: { ...this.state.pins, [k]: [p, ...rest].sort((a, b) => (a.pinned_at < b.pinned_at ? 1 : -1)) } });
  }

  private onUnpinned(roomId: Id, messageId: Id): void {
    const k = key(roomId);
    const list = this.state.pins[k];
    if (!list || !list.some((x) => sameId(x.message_id, messageId))) return;
    this.set({ pins: { ...this.state.pins, [k]: list.filter((x) => !sameId(x.message_id, messageId)) } });
  }

  // ---- Q&A ---------------------------------------------------------------------------

  /** Opens (or re-sorts) the Q&A list of a room. */
  /** Moderators see the review queue apart and may approve, answer, pin and hide. */
  private qaModerator(roomId: Id): boolean {
    return this.permissions(roomId).length > 0;
  }

  async openQa(roomId: Id, sort: QaSort = this.state.qa && sameId(this.state.qa.roomId, roomId) ? this.state.qa.sort : 'votes'): Promise<void> {
    const moderator = this.qaModerator(roomId);
    const prev = this.state.qa && sameId(this.state.qa.roomId, roomId) ? this.state.qa : null;
    this.set({
      qa: {
        roomId, sort, questions: prev?.questions ?? [], cursor: null, hasMore: false, loading: true, error: null,
        pending: prev?.pending ?? [], pendingCursor: prev?.pendingCursor ?? null, pendingHasMore: prev?.pendingHasMore ?? false,
        pendingLoading: false, pendingLoaded: prev?.pendingLoaded ?? false,
      },
    });
    try {
      const page = await api.questions(roomId, { sort, limit: 50 });
      const qa = this.state.qa;
      if (!qa || !sameId(qa.roomId, roomId) || qa.sort !== sort) return;
      const questions = page.questions.filter((q) => q.status !== 'hidden' && (q.status !== 'pending' || !moderator));
      this.set({ qa: { ...qa, questions: sortQuestions(questions, sort), cursor: page.next_cursor, hasMore: page.has_more, loading: false } });
    } catch (e) {
      const qa = this.state.qa;
      if (qa && sameId(qa.roomId, roomId)) this.set({ qa: { ...qa, loading: false, error: (e as Error).message } });
    }
  }

  async loadMoreQuestions(): Promise<void> {
    const qa = this.state.qa;
    if (!qa || qa.loading || !qa.hasMore) return;
    this.set({ qa: { ...qa, loading: true } });
    try {
      const page = await api.questions(qa.roomId, { sort: qa.sort, after: qa.cursor, limit: 50 });
      const now = this.state.qa;
      if (!now || !sameId(now.roomId, qa.roomId) || now.sort !== qa.sort) return;
      let questions = now.questions;
      const moderator = this.qaModerator(now.roomId);
      for (const q of page.questions) if (q.status !== 'hidden' && (q.status !== 'pending' || !moderator)) questions = upsertQuestion(questions, q);
      this.set({ qa: { ...now, questions: sortQuestions(questions, now.sort), cursor: page.next_cursor, hasMore: page.has_more, loading: false } });
    } catch (e) {
      const now = this.state.qa;
      if (now) this.set({ qa: { ...now, loading: false, error: (e as Error).message } });
    }
  }

  /** The review queue (moderators). */
  async loadPendingQuestions(more = false): Promise<void> {
    const qa = this.state.qa;
    if (!qa || qa.pendingLoading) return;
    this.set({ qa: { ...qa, pendingLoading: true } });
    try {
      const page = await api.questions(qa.roomId, { status: 'pending', sort: 'time', after: more ? qa.pendingCursor : null, limit: 50 });
      const now = this.state.qa;
      if (!now || !sameId(now.roomId, qa.roomId)) return;
      let pending = more ? now.pending : [];
      for (const q of page.questions) if (q.status === 'pending') pending = upsertQuestion(pending, q);
      this.set({ qa: { ...now, pending: sortQuestions(pending, 'time'), pendingCursor: page.next_cursor, pendingHasMore: page.has_more, pendingLoading: false, pendingLoaded: true } });
    } catch (e) {
      const now = this.state.qa;
      if (now) this.set({ qa: { ...now, pendingLoading: false, error: (e as Error).message } });
    }
  }

  closeQa(): void {
    this.set({ qa: null });
  }

  async ask(roomId: Id, content: string, anonymous: boolean): Promise<Question> {
    const q = await api.ask(roomId, content, anonymous);
    this.onQuestion(q);
    return q;
  }

  async questionAction(q: Question, action: 'vote' | 'approve' | 'answer' | 'pin' | 'hide', value?: boolean): Promise<void> {
    try {
      const next = await api.questionAction(q.room_id, q.id, action, value);
      if (next.status === 'hidden') this.onQuestionRemoved(q.room_id, q.id);
      else this.onQuestion(next);
    } catch (e) {
      this.toast((e as Error).message, 'error');
    }
  }

  private onQuestion(q: Question): void {
    const qa = this.state.qa;
    if (!qa || !sameId(qa.roomId, q.room_id)) return;
    let { questions, pending } = qa;
    if (q.status === 'hidden') {
      this.onQuestionRemoved(q.room_id, q.id);
      return;
    }
    if (q.status === 'pending' && this.qaModerator(qa.roomId)) {
      pending = sortQuestions(upsertQuestion(pending, q), 'time');
      questions = questions.filter((x) => !sameId(x.id, q.id));
    } else {
      const old = questions.find((x) => sameId(x.id, q.id)) ?? pending.find((x) => sameId(x.id, q.id));
      questions = sortQuestions(upsertQuestion(questions.filter((x) => !sameId(x.id, q.id)).concat(old ? [old] : []), q), qa.sort);
      pending = pending.filter((x) => !sameId(x.id, q.id));
      // One pinned ("now answering") question per room.
      if (q.pinned) questions = questions.map((x) => (x.pinned && !sameId(x.id, q.id) ? { ...x, pinned: false } : x));
    }
    this.set({ qa: { ...qa, questions, pending } });
  }

  private onQuestionRemoved(roomId: Id, id: Id): void {
    const qa = this.state.qa;
    if (!qa || !sameId(qa.roomId, roomId)) return;
    this.set({ qa: { ...qa, questions: qa.questions.filter((x) => !sameId(x.id, id)), pending: qa.pending.filter((x) => !sameId(x.id, id)) } });
  }

  private onResync(roomIds: Id[]): void {
    void this.loadRooms();
    for (const id of roomIds) {
      const v = this.view(id);
      if (v && v.opened) void this.joinRoom(id, v.lastId ?? undefined);
    }
  }

  // ---- participants, threads, notifications -----------------------------------------

  async openThread(roomId: Id, rootId: Id): Promise<void> {
    const root = this.view(roomId)?.messages.find((m) => sameId(m.id, rootId)) ?? null;
    this.set({ thread: { rootId, roomId, root, replies: [], loading: true, error: null } });
    try {
      const [{ messages }, rootMsg] = await Promise.all([
        api.replies(rootId),
        root ? Promise.resolve(root) : this.fetchMessage(roomId, rootId),
      ]);
      const t = this.state.thread;
      if (!t || !sameId(t.rootId, rootId)) return;
      this.set({ thread: { ...t, root: t.root ?? rootMsg, replies: mergeMessages(t.replies, messages, true), loading: false } });
    } catch (e) {
      const t = this.state.thread;
      if (t && sameId(t.rootId, rootId)) this.set({ thread: { ...t, loading: false, error: (e as Error).message } });
    }
  }

  private async fetchMessage(roomId: Id, id: Id): Promise<Message | null> {
    // No single-message endpoint: the message is the first after (id - 1) when ids are numbers.
    if (typeof id !== 'number') return null;
    try {
      const page = await api.history(roomId, { after: id - 1, limit: 1 });
      return page.messages.find((m) => sameId(m.id, id)) ?? null;
    } catch {
      return null;
    }
  }

  closeThread(): void {
    this.set({ thread: null });
  }

  async loadNotifications(): Promise<void> {
    try {
      const { notifications } = await api.notifications();
      this.set({ notifications });
    } catch {
      /* shown empty */
    }
  }

  async markNotificationsRead(): Promise<void> {
    const unread = this.state.notifications.filter((n) => !n.read_at);
    if (unread.length === 0) return;
    const upTo = this.state.notifications.reduce<Id | undefined>((acc, n) => (acc === undefined || n.id > acc ? n.id : acc), undefined);
    const now = new Date().toISOString();
    this.set({ notifications: this.state.notifications.map((n) => (n.read_at ? n : { ...n, read_at: now })) });
    try {
      await api.markNotificationsRead(upTo);
    } catch {
      /* stays read locally */
    }
  }

  private onNotification(n: Notification): void {
    if (this.state.notifications.some((x) => sameId(x.id, n.id))) return;
    this.set({ notifications: [n, ...this.state.notifications] });
    const room = this.entry(n.room_id);
    const who = n.actor?.display_name || n.actor?.username || 'Someone';
    const where = room ? ` in #${room.name}` : '';
    const what = n.kind === 'mention' ? 'mentioned you' : n.kind === 'reply' ? 'replied to you' : n.kind === 'direct' ? 'sent you a message' : 'posted an announcement';
    this.toast(`${who} ${what}${where}`, 'info', n.room_id, n.message_id);
  }

  toast(text: string, kind: 'info' | 'error' = 'info', roomId?: Id, messageId?: Id | null): void {
    const t: Toast = { id: ++this.toastSeq, text, kind, roomId, messageId };
    this.set({ toasts: [...this.state.toasts.slice(-3), t] });
    window.setTimeout(() => this.dismissToast(t.id), kind === 'error' ? 8000 : 6000);
  }

  dismissToast(id: number): void {
    if (this.state.toasts.some((t) => t.id === id)) this.set({ toasts: this.state.toasts.filter((t) => t.id !== id) });
  }
}

/** Re-renders the calling component whenever the store changes. */
export function useStore(store: Store): ChatState {
  const [, force] = useState(0);
  useEffect(() => store.subscribe(() => force((n) => n + 1)), [store]);
  return store.state;
}
