// REST client: same-origin fetch with the session cookie, plus the Bearer token when we
// have one (so a proxy or a stale cookie never turns a request into a CSRF refusal).
import { getToken } from './session';
import type {
  Ban, Id, Message, ModerationEvent, ModerationLogEntry, ModeratorEntry, Notification, ParticipantPage, Pin, PollUpdate,
  Presence, Question, QuestionPage, ReactionUpdate, ReadState, Room, RoomListEntry, RoomPreferences, EditHistory, User,
} from './types';

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: unknown, anonymous = false): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  const token = anonymous ? null : getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'network', 'The server cannot be reached.');
  }
  if (res.status === 204) return undefined as T;
  let data: unknown = null;
  try {
    data = await res.json();
  } catch {
    data = null;
  }
  if (!res.ok) {
    const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
    throw new ApiError(res.status, err?.code ?? 'http_' + res.status, err?.message ?? `Request failed (${res.status})`);
  }
  return data as T;
}

const enc = encodeURIComponent;

export interface AuthAnswer {
  token: string;
  user: User;
}

export interface CreateRoomBody {
  name: string;
  type: string;
  description?: string;
  is_public?: boolean;
  allow_files?: boolean;
  allow_voice?: boolean;
  moderation_enabled?: boolean;
  qa_enabled?: boolean;
  qa_moderation?: boolean;
  participant_ids?: Id[];
}

export interface ParticipantQuery {
  limit?: number;
  after?: string | null;
  status?: 'online';
  q?: string;
}

export interface PresenceBody {
  status: string;
  custom_message?: string | null;
  clear_after_seconds?: number;
}

export interface RoomSettingsPatch {
  name?: string;
  description?: string;
  is_public?: boolean;
  allow_files?: boolean;
  allow_voice?: boolean;
  moderation_enabled?: boolean;
  slow_mode_seconds?: number;
  posting?: 'everyone' | 'moderators';
  qa_enabled?: boolean;
  qa_moderation?: boolean;
}

export type ModerationAction = 'mute' | 'unmute' | 'kick' | 'ban' | 'unban';

export const api = {
  login: (username: string, password: string) =>
    request<AuthAnswer>('POST', '/api/auth/login', { username, password }, true),
  register: (username: string, password: string, display_name?: string) =>
    request<AuthAnswer>('POST', '/api/auth/register', { username, password, display_name: display_name || undefined }, true),
  logout: () => request<void>('POST', '/api/auth/logout'),
  me: () => request<User | { user: User }>('GET', '/api/auth/me'),

  rooms: () => request<{ rooms: RoomListEntry[] }>('GET', '/api/chat/rooms'),
  publicRooms: (before?: Id) =>
    request<{ rooms: Room[] }>('GET', `/api/chat/rooms/public?limit=50${before !== undefined ? '&before=' + enc(String(before)) : ''}`),
  createRoom: (body: CreateRoomBody) => request<Room>('POST', '/api/chat/rooms', body),
  joinRoom: (id: Id) => request<Room>('POST', `/api/chat/rooms/${enc(String(id))}/join`),
  leaveRoom: (id: Id) => request<void>('POST', `/api/chat/rooms/${enc(String(id))}/leave`),
  participants: (id: Id, opts: ParticipantQuery = {}) => {
    const q = new URLSearchParams();
    q.set('limit', String(opts.limit ?? 50));
    if (opts.after) q.set('after', opts.after);
    if (opts.status) q.set('status', opts.status);
    if (opts.q) q.set('q', opts.q);
    return request<ParticipantPage>('GET', `/api/chat/rooms/${enc(String(id))}/participants?${q}`);
  },
  presence: (userIds: Id[]) =>
    request<{ presence: ({ user_id: Id; presence?: Presence } & Partial<Presence>)[] }>(
      'GET', `/api/chat/presence?user_ids=${userIds.map((x) => enc(String(x))).join(',')}`),
  setPresence: (body: PresenceBody) => request<{ user_id: Id } & Presence>('PUT', '/api/chat/presence', body),
  moderators: (roomId: Id) => request<{ moderators: ModeratorEntry[] }>('GET', `/api/chat/rooms/${enc(String(roomId))}/moderators`),
  moderate: (roomId: Id, action: ModerationAction, body: { user_id: Id; duration_seconds?: number; reason?: string }) =>
    request<ModerationEvent>('POST', `/api/chat/rooms/${enc(String(roomId))}/${action}`, body),
  bans: (roomId: Id) => request<{ bans: Ban[] }>('GET', `/api/chat/rooms/${enc(String(roomId))}/bans`),
  moderationLog: (roomId: Id, before?: Id) =>
    request<{ entries: ModerationLogEntry[]; has_more: boolean }>(
      'GET', `/api/chat/rooms/${enc(String(roomId))}/moderation-log?limit=50${before !== undefined ? '&before=' + enc(String(before)) : ''}`),

  questions: (roomId: Id, opts: { sort?: 'votes' | 'time'; status?: 'pending' | 'hidden'; after?: string | null; limit?: number } = {}) => {
    const q = new URLSearchParams();
    if (opts.sort) q.set('sort', opts.sort);
    if (opts.status) q.set('status', opts.status);
    if (opts.after) q.set('after', opts.after);
    q.set('limit', String(opts.limit ?? 50));
    return request<QuestionPage>('GET', `/api/chat/rooms/${enc(String(roomId))}/questions?${q}`);
  },
  ask: (roomId: Id, content: string, anonymous: boolean) =>
    request<Question>('POST', `/api/chat/rooms/${enc(String(roomId))}/questions`, { content, anonymous }),
  questionAction: (roomId: Id, qid: Id, action: 'vote' | 'approve' | 'answer' | 'pin' | 'hide', value?: boolean) =>
    request<Question>('POST', `/api/chat/rooms/${enc(String(roomId))}/questions/${enc(String(qid))}/${action}${value === false ? '?value=false' : ''}`),

  pins: (roomId: Id) => request<{ pins: Pin[] }>('GET', `/api/chat/rooms/${enc(String(roomId))}/pins`),
  pin: (messageId: Id) => request<Pin>('POST', `/api/chat/messages/${enc(String(messageId))}/pin`),
  unpin: (messageId: Id) => request<{ message_id: Id; room_id: Id }>('DELETE', `/api/chat/messages/${enc(String(messageId))}/pin`),
  markRead: (id: Id, message_id: Id) =>
    request<ReadState>('POST', `/api/chat/rooms/${enc(String(id))}/read`, { message_id }),

  history: (roomId: Id, opts: { before?: Id; after?: Id; limit?: number }) => {
    const q = new URLSearchParams();
    if (opts.before !== undefined) q.set('before', String(opts.before));
    if (opts.after !== undefined) q.set('after', String(opts.after));
    q.set('limit', String(opts.limit ?? 50));
    return request<{ messages: Message[]; has_more: boolean }>('GET', `/api/chat/rooms/${enc(String(roomId))}/messages?${q}`);
  },
  replies: (messageId: Id) => request<{ messages: Message[] }>('GET', `/api/chat/messages/${enc(String(messageId))}/replies`),
  react: (messageId: Id, emoji: string, add: boolean) =>
    request<ReactionUpdate>(add ? 'POST' : 'DELETE', `/api/chat/messages/${enc(String(messageId))}/react`, { emoji }),
  vote: (messageId: Id, options: number[]) =>
    request<PollUpdate>('POST', `/api/chat/messages/${enc(String(messageId))}/vote`, { options }),

  /** PATCH /api/chat/rooms/:id: any of the room settings (owner, moderators with manage_room, admins). */
  updateRoom: (id: Id, patch: RoomSettingsPatch) => request<Room>('PATCH', `/api/chat/rooms/${enc(String(id))}`, patch),
  /** GET /api/chat/rooms/:id/preferences: my notification level and sound in a room. */
  preferences: (id: Id) => request<RoomPreferences>('GET', `/api/chat/rooms/${enc(String(id))}/preferences`),
  /** PUT /api/chat/rooms/:id/preferences: changes them; answers the saved values. */
  setPreferences: (id: Id, body: Partial<Pick<RoomPreferences, 'notifications' | 'sound'>>) =>
    request<RoomPreferences>('PUT', `/api/chat/rooms/${enc(String(id))}/preferences`, body),
  /** Every earlier version of an edited message (moderators). */
  editHistory: (messageId: Id) => request<EditHistory>('GET', `/api/chat/messages/${enc(String(messageId))}/history`),

  notifications: () => request<{ notifications: Notification[] }>('GET', '/api/chat/notifications?limit=50'),
  markNotificationsRead: (up_to?: Id) => request<unknown>('POST', '/api/chat/notifications/read', up_to === undefined ? {} : { up_to }),
};

export interface UploadFields {
  caption?: string;
  client_id?: string;
  expires_in?: number;
}

export interface UploadHandle {
  /** Resolves with the created message (201), or the earlier one when client_id repeats (200). */
  done: Promise<Message>;
  abort: () => void;
}

/**
 * POST /api/chat/rooms/:id/upload as multipart/form-data, through XMLHttpRequest for its
 * upload progress events (fetch has none). Errors reject with an ApiError carrying the
 * server's message; an abort rejects with code `aborted`.
 */
export function uploadFile(roomId: Id, file: File, fields: UploadFields, onProgress?: (loaded: number, total: number) => void): UploadHandle {
  const xhr = new XMLHttpRequest();
  const done = new Promise<Message>((resolve, reject) => {
    const form = new FormData();
    if (fields.caption) form.append('caption', fields.caption);
    if (fields.expires_in !== undefined) form.append('expires_in', String(fields.expires_in));
    if (fields.client_id) form.append('client_id', fields.client_id);
    form.append('file', file, file.name);
    xhr.open('POST', `/api/chat/rooms/${enc(String(roomId))}/upload`);
    xhr.withCredentials = true;
    xhr.setRequestHeader('Accept', 'application/json');
    const token = getToken();
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    if (onProgress) {
      xhr.upload.onprogress = (e) => onProgress(e.loaded, e.lengthComputable ? e.total : file.size);
      xhr.upload.onload = () => onProgress(file.size, file.size);
    }
    xhr.onload = () => {
      let data: unknown = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300 && data && typeof data === 'object' && 'id' in data) {
        resolve(data as Message);
        return;
      }
      const err = (data as { error?: { code?: string; message?: string } } | null)?.error;
      const fallback = xhr.status === 413 ? `the file is larger than this server takes` : `Upload failed (${xhr.status})`;
      reject(new ApiError(xhr.status, err?.code ?? 'http_' + xhr.status, err?.message ?? fallback));
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'The server cannot be reached.'));
    xhr.onabort = () => reject(new ApiError(0, 'aborted', 'Upload cancelled.'));
    xhr.send(form);
  });
  return { done, abort: () => xhr.abort() };
}
