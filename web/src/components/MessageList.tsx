// The scrolling message list: date separators, sender grouping, the "new messages"
// divider, infinite scroll upwards that keeps the reader's place, auto-scroll to new
// messages unless the user reads history, and a jump-to-latest button.
import { Fragment } from 'preact';
import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Message, User } from '../types';
import type { PendingMessage, RoomView, Store } from '../store';
import { sameId } from '../store';
import { dayKey, dayLabel, parseTime } from '../util';
import { MessageItem, type MessageActions } from './MessageItem';
import { PendingItem, UploadItem } from './PendingItem';

const GROUP_MS = 5 * 60 * 1000;
const BOTTOM_SLACK = 80;

export interface ListProps {
  store: Store;
  view: RoomView;
  me: User;
  roomName: string;
  canModerate: boolean;
  editingId: Message['id'] | null;
  actions: MessageActions;
  stickSignal: number; // bumps when the user sends: scroll to the bottom
  /** Ids of the room's pinned messages. */
  pinnedIds?: Set<string>;
  canPin?: boolean;
  /** Asks the list to scroll to this message (the pins panel); bump `seq` to repeat. */
  jumpRequest?: { id: Message['id']; seq: number } | null;
}

export function MessageList(p: ListProps) {
  const { view, store } = p;
  const scroller = useRef<HTMLDivElement>(null);
  const anchor = useRef<{ id: string; top: number } | null>(null);
  const atBottom = useRef(true);
  const initialDone = useRef<string | null>(null);
  const [activeId, setActiveId] = useState<string | null>(null);
  const [highlight, setHighlight] = useState<string | null>(null);

  const messages = view.messages;
  const byId = useMemo(() => {
    const m = new Map<string, Message>();
    for (const x of messages) m.set(String(x.id), x);
    return m;
  }, [messages]);
  const replyCounts = useMemo(() => {
    const c = new Map<string, number>();
    for (const x of messages) if (x.reply_to !== null && x.reply_to !== undefined) c.set(String(x.reply_to), (c.get(String(x.reply_to)) ?? 0) + 1);
    return c;
  }, [messages]);

  const captureAnchor = useCallback(() => {
    const s = scroller.current;
    if (!s) return;
    const top = s.getBoundingClientRect().top;
    const items = s.querySelectorAll<HTMLElement>('[data-mid]');
    for (const el of items) {
      const r = el.getBoundingClientRect();
      if (r.bottom > top + 1) {
        anchor.current = { id: el.dataset.mid!, top: r.top - top };
        return;
      }
    }
    anchor.current = null;
  }, []);

  const measureBottom = () => {
    const s = scroller.current;
    if (!s) return true;
    return s.scrollHeight - s.scrollTop - s.clientHeight < BOTTOM_SLACK;
  };

  const scrollToBottom = () => {
    const s = scroller.current;
    if (s) s.scrollTop = s.scrollHeight;
    atBottom.current = true;
  };

  // After every change of the list: keep the reader's place (or stay at the bottom).
  useLayoutEffect(() => {
    const s = scroller.current;
    if (!s) return;
    const roomKey = String(view.id);
    if (initialDone.current !== roomKey) {
      if (!view.opened || messages.length === 0) return;
      initialDone.current = roomKey;
      const divider = view.dividerId !== null ? s.querySelector<HTMLElement>('.divider-new') : null;
      if (divider && divider.offsetTop > s.clientHeight / 2) {
        s.scrollTop = Math.max(0, divider.offsetTop - 60);
        atBottom.current = measureBottom();
      } else {
        scrollToBottom();
      }
      store.setAtBottom(view.id, atBottom.current);
      captureAnchor();
      return;
    }
    if (atBottom.current) {
      scrollToBottom();
    } else if (anchor.current) {
      const el = s.querySelector<HTMLElement>(`[data-mid="${CSS.escape(anchor.current.id)}"]`);
      if (el) {
        const delta = el.getBoundingClientRect().top - s.getBoundingClientRect().top - anchor.current.top;
        if (Math.abs(delta) >= 1) s.scrollTop += delta;
      }
    }
    captureAnchor();
  }, [messages, view.pending, view.uploads, view.opened, view.id]);

  useLayoutEffect(() => {
    if (p.stickSignal > 0) {
      scrollToBottom();
      store.setAtBottom(view.id, true);
    }
  }, [p.stickSignal]);

  // Keep the bottom in view when the list's own size changes (composer grows, rotate).
  useEffect(() => {
    const s = scroller.current;
    if (!s || typeof ResizeObserver === 'undefined') return;
    const ro = new ResizeObserver(() => {
      if (atBottom.current) scrollToBottom();
    });
    ro.observe(s);
    return () => ro.disconnect();
  }, []);

  const onScroll = () => {
    const s = scroller.current;
    if (!s) return;
    const bottom = measureBottom();
    atBottom.current = bottom;
    store.setAtBottom(view.id, bottom);
    captureAnchor();
    if (s.scrollTop < 400 && view.hasMoreBefore && !view.loadingOlder) void store.loadOlder(view.id);
  };

  // Also fetch older history when the first page does not fill the screen.
  useEffect(() => {
    const s = scroller.current;
    if (s && view.opened && view.hasMoreBefore && !view.loadingOlder && s.scrollHeight <= s.clientHeight + 10) void store.loadOlder(view.id);
  }, [view.opened, view.hasMoreBefore, view.loadingOlder, messages.length]);

  const jumpTo = useCallback((id: Message['id']) => {
    const s = scroller.current;
    const el = s?.querySelector<HTMLElement>(`[data-mid="${CSS.escape(String(id))}"]`);
    if (!el) {
      p.actions.openThread({ id } as Message);
      return;
    }
    el.scrollIntoView({ block: 'center' });
    el.focus({ preventScroll: true });
    setHighlight(String(id));
    window.setTimeout(() => setHighlight((h) => (h === String(id) ? null : h)), 1600);
  }, [p.actions]);
  const actions = useMemo(() => ({ ...p.actions, jumpTo }), [p.actions, jumpTo]);
  // Only requests made while this list is shown (not one left from another room).
  const lastJump = useRef(p.jumpRequest?.seq ?? 0);
  useEffect(() => {
    if (p.jumpRequest && p.jumpRequest.seq !== lastJump.current) {
      lastJump.current = p.jumpRequest.seq;
      jumpTo(p.jumpRequest.id);
    }
  }, [p.jumpRequest?.seq]);

  // Roving focus: one message is in the tab order; arrows move between messages.
  const defaultActive = messages.length ? String(messages[messages.length - 1].id) : null;
  const active = activeId && byId.has(activeId) ? activeId : defaultActive;
  const onKeyDown = (e: KeyboardEvent) => {
    const target = e.target as HTMLElement;
    if (!target.matches('[data-mid]')) return;
    const items = Array.from(scroller.current?.querySelectorAll<HTMLElement>('[data-mid]') ?? []);
    const i = items.indexOf(target);
    let next: HTMLElement | undefined;
    if (e.key === 'ArrowUp') next = items[i - 1];
    else if (e.key === 'ArrowDown') next = items[i + 1];
    else if (e.key === 'Home') next = items[0];
    else if (e.key === 'End') next = items[items.length - 1];
    else return;
    e.preventDefault();
    if (next) {
      setActiveId(next.dataset.mid!);
      next.focus();
      next.scrollIntoView({ block: 'nearest' });
    } else if (e.key === 'ArrowUp' && view.hasMoreBefore) void store.loadOlder(view.id);
  };
  const onFocusIn = (e: FocusEvent) => {
    const el = (e.target as HTMLElement).closest<HTMLElement>('[data-mid]');
    if (el?.dataset.mid && el.dataset.mid !== activeId) setActiveId(el.dataset.mid);
  };

  const rows: preact.JSX.Element[] = [];
  let prev: Message | null = null;
  for (const m of messages) {
    const newDay = !prev || dayKey(prev.created_at) !== dayKey(m.created_at);
    if (newDay) rows.push(<div key={'d' + dayKey(m.created_at)} class="day-sep" role="separator" aria-label={dayLabel(m.created_at)}><span>{dayLabel(m.created_at)}</span></div>);
    const divider = view.dividerId !== null && sameId(view.dividerId, m.id);
    if (divider) rows.push(<div key="new-divider" class="divider-new" role="separator" aria-label="New messages"><span>New messages</span></div>);
    const grouped = !!prev && !newDay && !divider && m.type !== 'system' && prev.type !== 'system' && m.reply_to === null &&
      !!m.sender && !!prev.sender && sameId(m.sender.id, prev.sender.id) &&
      (parseTime(m.created_at)?.getTime() ?? 0) - (parseTime(prev.created_at)?.getTime() ?? 0) < GROUP_MS;
    const parent = m.reply_to === null || m.reply_to === undefined ? undefined : byId.get(String(m.reply_to)) ?? null;
    const id = String(m.id);
    rows.push(
      <Fragment key={id}>
        <div class={highlight === id ? 'msg-row flash' : 'msg-row'}>
          <MessageItem message={m} me={p.me} grouped={grouped} parent={parent} replyCount={replyCounts.get(id) ?? 0}
            active={active === id} editing={p.editingId !== null && sameId(p.editingId, m.id)} canModerate={p.canModerate} actions={actions}
            pinned={p.pinnedIds?.has(id) ?? false} canPin={p.canPin} />
        </div>
      </Fragment>,
    );
    prev = m;
  }

  return (
    <div class="message-pane">
      <div class="messages" ref={scroller} onScroll={onScroll} onKeyDown={onKeyDown} onFocusIn={onFocusIn}
        role="region" aria-label={`Messages in ${p.roomName}`} aria-busy={view.loadingOlder || view.opening}>
        <div class="history-top">
          {view.loadingOlder ? <span class="spinner-text" role="status">Loading older messages…</span>
            : view.olderError ? <span class="form-error">{view.olderError} <button type="button" class="link-btn" onClick={() => void store.loadOlder(view.id)}>Retry</button></span>
            : view.opened && !view.hasMoreBefore ? <span class="history-start">This is the beginning of #{p.roomName}.</span>
            : view.hasMoreBefore ? <button type="button" class="link-btn" onClick={() => void store.loadOlder(view.id)}>Load older messages</button> : null}
        </div>
        {rows}
        {view.pending.map((pm: PendingMessage) => <PendingItem key={pm.client_id} p={pm} me={p.me} store={store} />)}
        {view.uploads.map((u) => <UploadItem key={u.client_id} u={u} store={store} />)}
        {view.opening && !view.opened && <p class="empty-note" role="status">Loading messages…</p>}
        {view.openError && <p class="form-error pad" role="alert">{view.openError}</p>}
        {view.opened && messages.length === 0 && view.pending.length === 0 && view.uploads.length === 0 && <p class="empty-note">No messages yet. Say hello!</p>}
      </div>
      {!view.atBottom && (
        <button type="button" class="jump-latest" onClick={() => { scrollToBottom(); store.setAtBottom(view.id, true); }}>
          {view.newBelow > 0 ? `${view.newBelow} new ${view.newBelow === 1 ? 'message' : 'messages'} ↓` : 'Jump to latest ↓'}
        </button>
      )}
    </div>
  );
}
