import { memo } from 'preact/compat';
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Message, User } from '../types';
import { Markdown, type RenderOptions } from '../markdown';
import { displayName, fullTime, timeOf, classes, messagePreview } from '../util';
import { Avatar } from './Avatar';
import { EmojiPicker } from './EmojiPicker';
import { PollView } from './PollView';
import { sameId } from '../store';
import { Icon } from './Icon';
import { Attachments } from './Attachments';

export interface MessageActions {
  reply: (m: Message) => void;
  openThread: (m: Message) => void;
  startEdit: (m: Message) => void;
  saveEdit: (m: Message, content: string) => Promise<void>;
  cancelEdit: () => void;
  askDelete: (m: Message) => void;
  react: (m: Message, emoji: string, add: boolean) => void;
  vote: (m: Message, options: number[]) => void;
  jumpTo: (id: Message['id']) => void;
  /** Pins or unpins (users with manage_room). */
  pin?: (m: Message, pinned: boolean) => void;
  /** Opens the earlier versions of an edited message (moderators). */
  showHistory?: (m: Message) => void;
}

export interface MessageItemProps {
  message: Message;
  me: User;
  grouped: boolean;
  parent: Message | null | undefined; // undefined: not a reply; null: parent not loaded
  replyCount: number;
  active: boolean;
  editing: boolean;
  canModerate: boolean;
  actions: MessageActions;
  inThread?: boolean;
  pinned?: boolean;
  canPin?: boolean;
}

function renderOpts(m: Message, me: User): RenderOptions {
  return { mentions: new Set((m.mentions ?? []).map((u) => u.username.toLowerCase())), me: me.username.toLowerCase() };
}

export const MessageItem = memo(function MessageItem(p: MessageItemProps) {
  const { message: m, me, actions } = p;
  const [picker, setPicker] = useState(false);
  const mine = !!m.sender && sameId(m.sender.id, me.id);
  const deleted = !!m.deleted_at;
  const mentionsMe = (m.mentions ?? []).some((u) => sameId(u.id, me.id));

  if (m.type === 'system') {
    return (
      <div class="msg-system" data-mid={String(m.id)} tabIndex={p.active ? 0 : -1} role="article" aria-label={`${m.content ?? ''}, ${fullTime(m.created_at)}`}>
        <span>{m.content}</span> <time dateTime={m.created_at}>{timeOf(m.created_at)}</time>
      </div>
    );
  }

  const name = displayName(m.sender);
  const tab = p.active ? 0 : -1;
  const canEdit = mine && !deleted && (m.type === 'text' || m.type === 'event_update');
  const canDelete = !deleted && (mine || p.canModerate);
  const announcement = m.type === 'event_update';
  const reactions = m.reactions ?? [];
  const attachments = deleted ? [] : m.attachments ?? [];
  // An upload without a caption is its attachment alone: no empty bubble.
  const showBubble = deleted || p.editing || attachments.length === 0 || !!(m.content ?? '').trim() || (m.type === 'poll' && !!m.poll);

  const onDbl = () => {
    if (deleted) return;
    window.getSelection()?.removeAllRanges();
    const heart = reactions.find((r) => r.emoji === '❤️');
    if (!heart?.me) actions.react(m, '❤️', true);
  };

  return (
    <div
      class={classes('msg', mine && 'mine', p.grouped && !announcement && 'grouped', mentionsMe && 'mentions-me', deleted && 'deleted',
        p.active && 'active', announcement && 'announcement', p.pinned && 'is-pinned')}
      data-mid={String(m.id)}
      tabIndex={tab}
      role="article"
      aria-label={`${announcement ? 'Announcement from ' : ''}${name}, ${fullTime(m.created_at)}${mentionsMe ? ', mentions you' : ''}${p.pinned ? ', pinned' : ''}`}
    >
      {!mine && (
        <div class="msg-gutter">
          {!p.grouped ? <Avatar user={m.sender} /> : <time class="gutter-time" dateTime={m.created_at}>{timeOf(m.created_at)}</time>}
        </div>
      )}
      <div class="msg-main">
        {(!p.grouped || announcement) && (
          <div class="msg-head">
            {!mine && <span class="msg-author">{name}</span>}
            {announcement && <span class="tag announce-tag"><Icon name="megaphone" size={12} />Announcement</span>}
            {p.pinned && <span class="tag pin-tag"><Icon name="pin" size={11} />Pinned</span>}
            <time dateTime={m.created_at} title={fullTime(m.created_at)}>{timeOf(m.created_at)}</time>
          </div>
        )}
        {p.parent !== undefined && !p.inThread && (
          <button type="button" class="reply-quote" tabIndex={tab} onClick={() => (p.parent ? actions.jumpTo(p.parent.id) : actions.openThread(m))}
            aria-label={p.parent ? `Reply to ${displayName(p.parent.sender)}: ${p.parent.deleted_at ? 'deleted message' : messagePreview(p.parent, 80)}` : 'Reply to an earlier message, open thread'}>
            <span class="reply-bar" aria-hidden="true" />
            {p.parent ? (
              <>
                <span class="reply-author">{displayName(p.parent.sender)}</span>
                <span class="reply-text">{p.parent.deleted_at ? 'Message deleted' : messagePreview(p.parent, 90)}</span>
              </>
            ) : (
              <span class="reply-text">Reply to an earlier message</span>
            )}
          </button>
        )}
        {attachments.length > 0 && <Attachments items={attachments} tab={tab} />}
        {showBubble && <div class="bubble" onDblClick={onDbl}>
          {deleted ? (
            <p class="deleted-text">This message was deleted.</p>
          ) : p.editing ? (
            <EditBox message={m} actions={actions} />
          ) : m.type === 'poll' && m.poll ? (
            <PollView message={m} poll={m.poll} onVote={(opts) => actions.vote(m, opts)} tab={0} />
          ) : (
            <Markdown text={m.content ?? ''} opts={renderOpts(m, me)} />
          )}
          {m.edited_at && !deleted && !p.editing && (p.canModerate && actions.showHistory
            ? <button type="button" class="edited" tabIndex={tab} title={`Edited ${fullTime(m.edited_at)}: show the edit history`}
                aria-label={`Edited ${fullTime(m.edited_at)}, show edit history`} onClick={() => actions.showHistory!(m)}>(edited)</button>
            : <span class="edited" title={`Edited ${fullTime(m.edited_at)}`}>(edited)</span>)}
        </div>}
        {reactions.length > 0 && !deleted && (
          <div class="reactions" role="group" aria-label="Reactions">
            {reactions.map((r) => (
              <button key={r.emoji} type="button" class={r.me ? 'reaction me' : 'reaction'} aria-pressed={!!r.me} tabIndex={tab}
                aria-label={`${r.emoji} ${r.count} ${r.count === 1 ? 'reaction' : 'reactions'}${r.me ? ', including yours' : ''}`}
                onClick={() => actions.react(m, r.emoji, !r.me)}>
                <span aria-hidden="true">{r.emoji}</span> <span aria-hidden="true" class="count">{r.count}</span>
              </button>
            ))}
          </div>
        )}
        {p.replyCount > 0 && !p.inThread && (
          <button type="button" class="thread-link" tabIndex={tab} onClick={() => actions.openThread(m)}>
            {p.replyCount} {p.replyCount === 1 ? 'reply' : 'replies'}
          </button>
        )}
      </div>
      {!deleted && !p.editing && (
        <div class="msg-tools" role="toolbar" aria-label="Message actions">
          <button type="button" class="tool" tabIndex={tab} aria-label="Add reaction" aria-haspopup="dialog" aria-expanded={picker} onClick={() => setPicker((x) => !x)}><Icon name="smile" size={16} /></button>
          <button type="button" class="tool" tabIndex={tab} aria-label="Reply" onClick={() => actions.reply(m)}><Icon name="reply" size={16} /></button>
          {!p.inThread && <button type="button" class="tool" tabIndex={tab} aria-label="Open thread" onClick={() => actions.openThread(m)}><Icon name="thread" size={16} /></button>}
          {p.canPin && actions.pin && (
            <button type="button" class="tool" tabIndex={tab} aria-label={p.pinned ? 'Unpin message' : 'Pin message'} title={p.pinned ? 'Unpin' : 'Pin'}
              onClick={() => actions.pin!(m, !p.pinned)}><Icon name="pin" size={16} /></button>
          )}
          {canEdit && <button type="button" class="tool" tabIndex={tab} aria-label="Edit message" onClick={() => actions.startEdit(m)}><Icon name="edit" size={16} /></button>}
          {canDelete && <button type="button" class="tool danger" tabIndex={tab} aria-label="Delete message" onClick={() => actions.askDelete(m)}><Icon name="trash" size={16} /></button>}
          {picker && (
            <EmojiPicker
              onClose={() => setPicker(false)}
              onPick={(e) => {
                setPicker(false);
                const had = reactions.find((r) => r.emoji === e)?.me;
                actions.react(m, e, !had);
              }}
            />
          )}
        </div>
      )}
    </div>
  );
});

function EditBox({ message, actions }: { message: Message; actions: MessageActions }) {
  const [text, setText] = useState(message.content ?? '');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const t = ref.current;
    if (!t) return;
    t.focus();
    t.setSelectionRange(t.value.length, t.value.length);
  }, []);
  useEffect(() => {
    const t = ref.current;
    if (!t) return;
    t.style.height = 'auto';
    t.style.height = Math.min(t.scrollHeight, 240) + 'px';
  }, [text]);
  const save = async () => {
    const content = text.trim();
    if (!content) return;
    if (content === (message.content ?? '').trim()) {
      actions.cancelEdit();
      return;
    }
    setBusy(true);
    try {
      await actions.saveEdit(message, text);
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };
  return (
    <div class="edit-box">
      <textarea ref={ref} aria-label="Edit message" value={text} disabled={busy} rows={1}
        onInput={(e) => setText(e.currentTarget.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
            e.preventDefault();
            void save();
          } else if (e.key === 'Escape') {
            e.preventDefault();
            e.stopPropagation();
            actions.cancelEdit();
          }
        }} />
      {error && <p class="form-error" role="alert">{error}</p>}
      <div class="edit-actions">
        <span class="hint">Enter to save · Esc to cancel</span>
        <button type="button" class="btn small" onClick={() => actions.cancelEdit()}>Cancel</button>
        <button type="button" class="btn small primary" disabled={busy} onClick={() => void save()}>Save</button>
      </div>
    </div>
  );
}
