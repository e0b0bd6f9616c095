import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { Store, sameId, useStore } from '../store';
import type { Message, Notification, Participant, User } from '../types';
import { api } from '../api';
import { clearSession } from '../session';
import { navigate } from '../App';
import { displayName, untilLabel } from '../util';
import { FOREVER } from '../store';
import { Sidebar, roomTitle } from './Sidebar';
import { MessageList } from './MessageList';
import { Composer } from './Composer';
import type { MessageActions } from './MessageItem';
import { CreateRoomModal } from './CreateRoomModal';
import { PublicRoomsModal } from './PublicRoomsModal';
import { PollModal } from './PollModal';
import { ParticipantsPanel } from './ParticipantsPanel';
import { ThreadPanel } from './ThreadPanel';
import { NotificationsMenu } from './NotificationsMenu';
import { Toasts } from './Toasts';
import { ConnectionBanner } from './ConnectionBadge';
import { Modal } from './Modal';
import { Icon } from './Icon';
import { TypingIndicator } from './TypingIndicator';
import { StatusModal } from './StatusModal';
import { ModerateModal } from './ModerateModal';
import { ModerationLogModal } from './ModerationLogModal';
import { QaPanel } from './QaPanel';
import { PinsPanel } from './PinsPanel';
import { DesktopToggle, RoomSettingsModal } from './RoomSettingsModal';
import { EditHistoryModal } from './EditHistoryModal';
import { canRecordVoice } from '../voice';
import { primeAudioOnGesture } from '../notify';

type ModalKind = 'create' | 'browse' | 'poll' | 'status' | 'modlog' | 'settings' | null;
type PanelKind = 'people' | 'qa' | 'pins';

function initialRoom(): number | null {
  const raw = new URLSearchParams(window.location.search).get('room');
  if (!raw) return null;
  const n = Number(raw);
  return Number.isFinite(n) ? n : null;
}

export function ChatPage({ me }: { me: User }) {
  const store = useMemo(() => new Store(me), [me.id]);
  const s = useStore(store);
  const [modal, setModal] = useState<ModalKind>(null);
  const [panel, setPanel] = useState<PanelKind | null>(null);
  const [modTarget, setModTarget] = useState<Participant | null>(null);
  const [jump, setJump] = useState<{ id: Message['id']; seq: number } | null>(null);
  const [announceMode, setAnnounceMode] = useState(false);
  const [drawer, setDrawer] = useState(false);
  const [notifOpen, setNotifOpen] = useState(false);
  const [replyTo, setReplyTo] = useState<Message | null>(null);
  const [editingId, setEditingId] = useState<Message['id'] | null>(null);
  const [confirmDelete, setConfirmDelete] = useState<Message | null>(null);
  const [historyOf, setHistoryOf] = useState<Message | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [stick, setStick] = useState(0);
  const [confirmLeave, setConfirmLeave] = useState(false);
  const [leaveError, setLeaveError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const dragDepth = useRef(0);
  const attachRef = useRef<((files: File[]) => void) | null>(null);
  const stateRef = useRef(s);
  stateRef.current = s;

  useEffect(() => {
    store.start(initialRoom());
    document.title = 'EventSync Chat';
    // The message chime needs an audio context the user has woken with a click or key.
    const unprime = primeAudioOnGesture();
    return () => {
      unprime();
      store.stop();
    };
  }, [store]);

  useEffect(() => {
    if (s.signedOut) {
      clearSession();
      navigate('/login');
    }
  }, [s.signedOut]);

  const current = store.entry(s.currentRoomId);
  const view = store.view(s.currentRoomId);
  const title = current ? roomTitle(current) : '';

  useEffect(() => {
    setReplyTo(null);
    setEditingId(null);
    setAnnounceMode(false);
    if (window.matchMedia('(max-width: 700px)').matches) setDrawer(false);
  }, [s.currentRoomId]);

  useEffect(() => {
    const unread = s.rooms.reduce((n, r) => n + (r.unread_count > 0 ? 1 : 0), 0);
    document.title = `${unread ? `(${unread}) ` : ''}${title ? title + ' · ' : ''}EventSync Chat`;
  }, [title, s.rooms]);

  // The drawer takes focus when it opens and gives it back to the menu button.
  const drawerWasOpen = useRef(false);
  useEffect(() => {
    if (drawer) {
      window.setTimeout(() => document.querySelector<HTMLElement>('#sidebar .room-item.current, #sidebar .room-item, #sidebar button')?.focus(), 50);
    } else if (drawerWasOpen.current && window.matchMedia('(max-width: 700px)').matches) {
      document.querySelector<HTMLElement>('.menu-btn')?.focus();
    }
    drawerWasOpen.current = drawer;
  }, [drawer]);

  useEffect(() => {
    if (view?.opened && panel === 'people' && !view.roster.all.loaded && !view.roster.all.loading) void store.loadParticipants(view.id);
  }, [panel, view?.id, view?.opened, view?.roster.all.loaded]);

  // The Q&A panel follows the room on screen; rooms without Q&A close it.
  const qaRoom = panel === 'qa' && current?.qa_enabled ? current.id : null;
  useEffect(() => {
    if (panel === 'qa' && current && !current.qa_enabled) setPanel(null);
    if (qaRoom !== null) {
      if (!s.qa || !sameId(s.qa.roomId, qaRoom)) void store.openQa(qaRoom, 'votes');
    } else if (s.qa) store.closeQa();
  }, [qaRoom, current?.qa_enabled]);

  // Esc closes the innermost open layer; modals handle Esc themselves.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape' || e.defaultPrevented || modal || confirmDelete || confirmLeave || modTarget || historyOf) return;
      if (notifOpen) setNotifOpen(false);
      else if (drawer) setDrawer(false);
      else if (stateRef.current.thread) store.closeThread();
      else if (panel) setPanel(null);
      else return;
      e.preventDefault();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [notifOpen, drawer, panel, modal, confirmDelete, confirmLeave, modTarget, historyOf]);

  const canModerate = current?.my_role === 'owner' || current?.my_role === 'moderator' || me.role === 'admin';
  const perms = current ? store.permissions(current.id) : [];
  const canPin = perms.includes('manage_room');
  const pins = current ? s.pins[String(current.id)] : undefined;
  const pinnedIds = useMemo(() => new Set((pins ?? []).map((p) => String(p.message_id))), [pins]);
  const mutedUntil = view?.mutedUntil ?? null;
  const muted = !!mutedUntil && new Date(mutedUntil).getTime() > Date.now();
  const muteNotice = muted
    ? `${mutedUntil === FOREVER ? 'You are muted in this room until a moderator unmutes you' : `You are muted until ${untilLabel(mutedUntil!)}`}${view?.muteReason ? ` (reason: ${view.muteReason})` : ''}.`
    : null;
  const disabled = !view?.opened
    ? view?.openError ? 'You cannot post in this room.' : 'Loading…'
    : muteNotice;
  const typing = current ? s.typing[String(current.id)] ?? [] : [];
  const canAnnounce = current?.type === 'event' && canModerate;

  const actions: MessageActions = useMemo(() => ({
    reply: (m) => {
      setReplyTo(m);
    },
    openThread: (m) => {
      const st = stateRef.current;
      if (st.currentRoomId === null) return;
      setPanel(null);
      void store.openThread(m.room_id ?? st.currentRoomId, m.reply_to ?? m.id);
    },
    startEdit: (m) => setEditingId(m.id),
    saveEdit: async (m, content) => {
      await store.edit(m.id, content);
      setEditingId(null);
    },
    cancelEdit: () => setEditingId(null),
    askDelete: (m) => {
      setDeleteError(null);
      setConfirmDelete(m);
    },
    react: (m, emoji, add) => void store.react(m.id, emoji, add),
    vote: (m, options) => void store.vote(m.id, options),
    jumpTo: () => {},
    pin: (m, pinned) => void store.setPinned(m, pinned),
    showHistory: (m) => setHistoryOf(m),
  }), [store]);

  const editLast = (): boolean => {
    const v = store.view(stateRef.current.currentRoomId);
    if (!v) return false;
    for (let i = v.messages.length - 1; i >= 0; i--) {
      const m = v.messages[i];
      if (m.sender && sameId(m.sender.id, me.id) && !m.deleted_at && m.type === 'text') {
        setEditingId(m.id);
        return true;
      }
    }
    return false;
  };

  const send = (text: string) => {
    if (s.currentRoomId === null) return;
    store.send(s.currentRoomId, text, replyTo?.id ?? null, announceMode && canAnnounce ? 'event_update' : undefined);
    setReplyTo(null);
    setStick((n) => n + 1);
  };

  // Files: the composer's paperclip, a paste, or a drop anywhere on the room pane.
  const attach = (files: File[], caption: string): boolean => {
    const roomId = stateRef.current.currentRoomId;
    if (roomId === null) return false;
    if (caption.length > 4000) {
      store.toast(`The caption is too long: ${caption.length}/4000 characters.`, 'error');
      return false;
    }
    let started = false;
    for (const f of files) {
      // The caption goes with the first file that is taken.
      if (store.upload(roomId, f, started ? '' : caption)) started = true;
    }
    if (started) setStick((n) => n + 1);
    return started;
  };
  const canAttach = !!current && !!view && current.allow_files !== false;
  // Voice messages are audio uploads: the room must take files and voice.
  const canVoice = canAttach && current?.allow_voice !== false && canRecordVoice();
  const sendVoice = (file: File) => {
    const roomId = stateRef.current.currentRoomId;
    if (roomId === null) return;
    if (store.upload(roomId, file, '')) setStick((n) => n + 1);
  };
  const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes('Files');
  const onDragEnter = (e: DragEvent) => {
    if (!current || !hasFiles(e)) return;
    e.preventDefault();
    dragDepth.current += 1;
    setDragging(true);
  };
  const onDragOver = (e: DragEvent) => {
    if (!current || !hasFiles(e)) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = canAttach && !disabled ? 'copy' : 'none';
    if (!dragging) setDragging(true);
  };
  const onDragLeave = (e: DragEvent) => {
    if (!current || !hasFiles(e)) return;
    dragDepth.current = Math.max(0, dragDepth.current - 1);
    if (dragDepth.current === 0) setDragging(false);
  };
  const onDrop = (e: DragEvent) => {
    if (!current || !hasFiles(e)) return;
    e.preventDefault();
    dragDepth.current = 0;
    setDragging(false);
    const files = Array.from(e.dataTransfer?.files ?? []);
    if (files.length === 0) return;
    if (!current.allow_files) store.toast(`${files[0].name} was not uploaded: this room does not take files`, 'error');
    else if (disabled) store.toast(`${files[0].name} was not uploaded: ${disabled}`, 'error');
    else if (attachRef.current) attachRef.current(files);
    else attach(files, '');
  };

  // A file dropped outside the room pane must not make the browser navigate to it.
  useEffect(() => {
    const stop = (e: DragEvent) => {
      if (Array.from(e.dataTransfer?.types ?? []).includes('Files')) e.preventDefault();
    };
    const end = () => {
      dragDepth.current = 0;
      setDragging(false);
    };
    document.addEventListener('dragover', stop);
    document.addEventListener('drop', stop);
    document.addEventListener('dragend', end);
    return () => {
      document.removeEventListener('dragover', stop);
      document.removeEventListener('drop', stop);
      document.removeEventListener('dragend', end);
    };
  }, []);

  const signOut = async () => {
    try {
      await api.logout();
    } catch {
      /* signed out locally anyway */
    }
    store.stop();
    clearSession();
    navigate('/login');
  };

  const openNotification = (n: Notification) => {
    setNotifOpen(false);
    store.openRoom(n.room_id);
  };

  const toggleNotifs = () => {
    setNotifOpen((o) => {
      if (!o) void store.markNotificationsRead();
      return !o;
    });
  };
  const unreadNotifs = s.notifications.filter((n) => !n.read_at).length;
  const sidePanel = s.thread && current && sameId(s.thread.roomId, current.id) ? 'thread'
    : panel === 'people' && view ? 'people'
    : panel === 'qa' && current?.qa_enabled && s.qa ? 'qa'
    : panel === 'pins' && current ? 'pins' : null;
  const togglePanel = (kind: PanelKind) => {
    store.closeThread();
    setPanel((x) => (x === kind ? null : kind));
  };
  const panelLabel = { thread: 'Thread', people: 'People', qa: 'Questions and answers', pins: 'Pinned messages' } as const;

  return (
    <div class={`chat-app${drawer ? ' drawer-open' : ''}${sidePanel ? ' with-panel' : ''}`}>
      <a href="#composer-input" class="skip-link">Skip to message composer</a>
      <aside class="sidebar" id="sidebar" aria-label="Rooms and account">
        <Sidebar me={me} rooms={s.rooms} loaded={s.roomsLoaded} error={s.roomsError} currentRoomId={s.currentRoomId} connection={s.connection}
          onOpen={(id) => { store.openRoom(id); setDrawer(false); }} onCreate={() => setModal('create')} onBrowse={() => setModal('browse')}
          onSignOut={() => void signOut()} onRetry={() => void store.loadRooms()}
          presence={s.presence} onStatus={() => setModal('status')} />
      </aside>
      {drawer && <button type="button" class="drawer-backdrop" aria-label="Close room list" onClick={() => setDrawer(false)} />}
      <main class={dragging ? 'room-pane dragging' : 'room-pane'} aria-label={current ? `Room ${title}` : 'Chat'}
        onDragEnter={onDragEnter} onDragOver={onDragOver} onDragLeave={onDragLeave} onDrop={onDrop}>
        {dragging && current && (
          <div class={canAttach && !disabled ? 'drop-zone' : 'drop-zone refused'} aria-hidden="true">
            <div class="drop-zone-inner">
              <Icon name="paperclip" size={28} />
              <span>{canAttach && !disabled ? `Drop to share in ${title}` : current.allow_files ? disabled : 'This room does not take files'}</span>
            </div>
          </div>
        )}
        <header class="room-head">
          <button type="button" class="icon-btn menu-btn" aria-label="Open room list" aria-controls="sidebar" aria-expanded={drawer}
            onClick={() => setDrawer(true)}><Icon name="menu" size={20} />{s.rooms.some((r) => r.unread_count > 0 && !sameId(r.id, s.currentRoomId)) && <span class="menu-dot" aria-hidden="true" />}</button>
          <div class="room-title">
            <h1>{current ? title : 'EventSync Chat'}</h1>
            {current?.description && <p class="room-desc">{current.description}</p>}
          </div>
          <div class="head-actions">
            {current?.qa_enabled && (
              <button type="button" class={panel === 'qa' ? 'btn small active' : 'btn small'} aria-pressed={panel === 'qa'}
                onClick={() => togglePanel('qa')} aria-label="Q&A" title="Questions and answers">
                <Icon name="question" size={16} /><span class="head-label" aria-hidden="true">Q&amp;A</span>
              </button>
            )}
            {current && view && (
              <button type="button" class={panel === 'pins' ? 'btn small active' : 'btn small'} aria-pressed={panel === 'pins'}
                onClick={() => togglePanel('pins')} aria-label={`Pinned messages, ${pins?.length ?? 0}`} title="Pinned messages">
                <Icon name="pin" size={16} /><span aria-hidden="true">{pins?.length ?? 0}</span>
              </button>
            )}
            {current && view && (
              <button type="button" class={panel === 'people' ? 'btn small active' : 'btn small'} aria-pressed={panel === 'people'}
                onClick={() => togglePanel('people')}
                aria-label={`People, ${view.participantCount ?? current.participant_count ?? view.participants.length} in this room`}>
                <Icon name="people" size={16} /><span aria-hidden="true">{view.participantCount ?? current.participant_count ?? view.participants.length}</span>
              </button>
            )}
            {current && (
              <button type="button" class="icon-btn" aria-label="Room settings and notifications" title="Room settings and notifications"
                aria-haspopup="dialog" onClick={() => setModal('settings')}>
                <Icon name="settings" size={18} />
              </button>
            )}
            {current && (
              <button type="button" class="icon-btn" aria-label={`Leave ${title}`} title="Leave room"
                onClick={() => { setLeaveError(null); setConfirmLeave(true); }}>
                <Icon name="leave" size={18} />
              </button>
            )}
            <span class="bell-wrap">
              <button type="button" class="icon-btn bell" aria-haspopup="dialog" aria-expanded={notifOpen}
                aria-label={unreadNotifs ? `Notifications, ${unreadNotifs} unread` : 'Notifications'} onClick={toggleNotifs}>
                <Icon name="bell" size={20} />{unreadNotifs > 0 && <span class="bell-count" aria-hidden="true">{unreadNotifs > 9 ? '9+' : unreadNotifs}</span>}
              </button>
              {notifOpen && <NotificationsMenu items={s.notifications} rooms={s.rooms} onOpen={openNotification} onClose={() => setNotifOpen(false)}
                footer={<DesktopToggle store={store} state={s.desktop} />} />}
            </span>
          </div>
        </header>
        <ConnectionBanner state={s.connection} ever={s.everConnected} />
        {current && view ? (
          <>
            <MessageList key={String(view.id)} store={store} view={view} me={me} roomName={title} canModerate={canModerate}
              editingId={editingId} actions={actions} stickSignal={stick} pinnedIds={pinnedIds} canPin={canPin} jumpRequest={jump} />
            <TypingIndicator typing={typing} />
            <Composer draftKey={String(view.id)} roomName={title} participants={view.participants} replyTo={replyTo} disabled={disabled}
              notice={muteNotice}
              announce={canAnnounce ? { on: announceMode, toggle: () => setAnnounceMode((x) => !x) } : undefined}
              onCancelReply={() => setReplyTo(null)} onSend={send} onEditLast={editLast} onPoll={() => setModal('poll')} idPrefix="composer"
              onAttach={canAttach ? attach : undefined} attachRef={attachRef}
              onVoice={canVoice ? sendVoice : undefined} onVoiceError={(msg) => store.toast(msg, 'error')}
              onTyping={(t) => store.emitTyping(view.id, t)}
              searchPeople={store.rosterIncomplete(view.id) ? (q) => void store.searchParticipants(view.id, q) : undefined} />
          </>
        ) : (
          <div class="no-room">
            {s.roomsLoaded && (
              <>
                <h2>{s.rooms.length ? 'Pick a room' : 'Welcome to EventSync Chat'}</h2>
                <p>{s.rooms.length ? 'Choose a room from the list to start chatting.' : 'Create a room or join a public one.'}</p>
                <div class="no-room-actions">
                  <button type="button" class="btn primary" onClick={() => setModal('create')}>Create a room</button>
                  <button type="button" class="btn" onClick={() => setModal('browse')}>Browse public rooms</button>
                  <button type="button" class="btn menu-only" onClick={() => setDrawer(true)}>Your rooms</button>
                </div>
              </>
            )}
          </div>
        )}
      </main>
      {sidePanel && (
        <aside class="side-panel" aria-label={panelLabel[sidePanel]}>
          {sidePanel === 'thread' && s.thread ? (
            <ThreadPanel thread={s.thread} me={me} roomName={title} participants={view?.participants ?? []} canModerate={canModerate}
              editingId={editingId} actions={actions} disabled={disabled}
              onSend={(text) => store.send(s.thread!.roomId, text, s.thread!.rootId)} onClose={() => store.closeThread()} />
          ) : sidePanel === 'people' && view ? (
            <ParticipantsPanel view={view} presence={s.presence} me={me} perms={perms} onClose={() => setPanel(null)}
              onMore={(which) => void store.loadRosterPage(view.id, which)} onModerate={(p) => setModTarget(p)} onLog={() => setModal('modlog')} />
          ) : sidePanel === 'qa' && s.qa && current ? (
            <QaPanel store={store} qa={s.qa} room={current} me={me} moderator={perms.length > 0} onClose={() => setPanel(null)} />
          ) : sidePanel === 'pins' ? (
            <PinsPanel pins={pins} canPin={canPin} onClose={() => setPanel(null)}
              onJump={(m) => {
                if (window.matchMedia('(max-width: 1100px)').matches) setPanel(null);
                setJump((j) => ({ id: m.id, seq: (j?.seq ?? 0) + 1 }));
              }}
              onUnpin={(m) => void store.setPinned(m, false)} />
          ) : null}
        </aside>
      )}
      {modal === 'create' && <CreateRoomModal store={store} me={me} onClose={() => setModal(null)} />}
      {modal === 'browse' && <PublicRoomsModal store={store} mine={s.rooms} onClose={() => setModal(null)} />}
      {modal === 'status' && <StatusModal store={store} current={s.presence[String(me.id)] ?? null} onClose={() => setModal(null)} />}
      {modal === 'settings' && current && (
        <RoomSettingsModal store={store} room={current} roomName={title} canManage={perms.includes('manage_room')}
          prefs={s.prefs[String(current.id)]} desktop={s.desktop} onClose={() => setModal(null)} />
      )}
      {historyOf && <EditHistoryModal message={view?.messages.find((x) => sameId(x.id, historyOf.id)) ?? historyOf} onClose={() => setHistoryOf(null)} />}
      {modal === 'modlog' && current && <ModerationLogModal store={store} roomId={current.id} roomName={title} canBan={perms.includes('ban')} onClose={() => setModal(null)} />}
      {modTarget && current && (
        <ModerateModal target={view?.participants.find((x) => sameId(x.user.id, modTarget.user.id)) ?? modTarget} perms={perms} roomName={title}
          onClose={() => setModTarget(null)}
          onAct={(action, opts) => store.moderate(current.id, action, modTarget.user.id, opts)} />
      )}
      {modal === 'poll' && s.currentRoomId !== null && (
        <PollModal onClose={() => setModal(null)} onCreate={(poll) => { store.sendPoll(s.currentRoomId!, poll); setStick((n) => n + 1); }} />
      )}
      {confirmLeave && current && (
        <Modal title="Leave this room?" onClose={() => setConfirmLeave(false)}>
          <p>You will stop receiving messages from <strong>{title}</strong>.{current.is_public ? ' You can join it again from Browse rooms.' : ' You need to be added again to come back.'}</p>
          {leaveError && <p class="form-error" role="alert">{leaveError}</p>}
          <div class="modal-actions">
            <button type="button" class="btn" onClick={() => setConfirmLeave(false)}>Cancel</button>
            <button type="button" class="btn danger" onClick={async () => {
              try {
                await store.leaveRoom(current.id);
                setConfirmLeave(false);
              } catch (e) {
                setLeaveError((e as Error).message);
              }
            }}>Leave room</button>
          </div>
        </Modal>
      )}
      {confirmDelete && (
        <Modal title="Delete message?" onClose={() => setConfirmDelete(null)}>
          <p>This removes the message for everyone{confirmDelete.sender && !sameId(confirmDelete.sender.id, me.id) ? ` (sent by ${displayName(confirmDelete.sender)})` : ''}.</p>
          {deleteError && <p class="form-error" role="alert">{deleteError}</p>}
          <div class="modal-actions">
            <button type="button" class="btn" onClick={() => setConfirmDelete(null)}>Cancel</button>
            <button type="button" class="btn danger" onClick={async () => {
              try {
                await store.remove(confirmDelete.id, confirmDelete.room_id);
                setConfirmDelete(null);
              } catch (e) {
                setDeleteError((e as Error).message);
              }
            }}>Delete</button>
          </div>
        </Modal>
      )}
      <Toasts toasts={s.toasts} store={store} onOpen={(t) => t.roomId !== undefined && store.openRoom(t.roomId)} />
      <div class="sr-only" aria-live="polite" aria-atomic="true">{s.announcement}</div>
    </div>
  );
}
