import type { Message, Participant, User } from '../types';
import { Icon } from './Icon';
import type { ThreadState } from '../store';
import { sameId } from '../store';
import { MessageItem, type MessageActions } from './MessageItem';
import { Composer } from './Composer';

export function ThreadPanel(p: {
  thread: ThreadState;
  me: User;
  roomName: string;
  participants: Participant[];
  canModerate: boolean;
  editingId: Message['id'] | null;
  actions: MessageActions;
  onSend: (text: string) => void;
  onClose: () => void;
  disabled: string | null;
}) {
  const { thread } = p;
  return (
    <section class="side-panel-inner thread" aria-labelledby="thread-title"
      onKeyDown={(e) => { if (e.key === 'Escape' && !(e.target as HTMLElement).closest('.emoji-picker, .edit-box')) { e.stopPropagation(); p.onClose(); } }}>
      <div class="panel-head">
        <h2 id="thread-title">Thread</h2>
        <button type="button" class="icon-btn" aria-label="Close thread" onClick={p.onClose}><Icon name="close" size={16} /></button>
      </div>
      <div class="panel-body thread-body" role="region" aria-label="Thread messages">
        {thread.root ? (
          <MessageItem message={thread.root} me={p.me} grouped={false} parent={undefined} replyCount={0} active
            editing={p.editingId !== null && sameId(p.editingId, thread.root.id)} canModerate={p.canModerate} actions={p.actions} inThread />
        ) : !thread.loading && <p class="empty-note">The original message is not available.</p>}
        <div class="thread-sep" role="separator" aria-label="Replies">
          <span>{thread.replies.length} {thread.replies.length === 1 ? 'reply' : 'replies'}</span>
        </div>
        {thread.loading && <p class="empty-note" role="status">Loading replies…</p>}
        {thread.error && <p class="form-error" role="alert">{thread.error}</p>}
        {thread.replies.map((m) => (
          <MessageItem key={String(m.id)} message={m} me={p.me} grouped={false} parent={undefined} replyCount={0} active
            editing={p.editingId !== null && sameId(p.editingId, m.id)} canModerate={p.canModerate} actions={p.actions} inThread />
        ))}
      </div>
      <Composer draftKey={`thread-${String(thread.rootId)}`} roomName={p.roomName} participants={p.participants} replyTo={null}
        disabled={p.disabled} placeholder="Reply in thread" onCancelReply={() => {}} onSend={p.onSend} idPrefix="thread" autoFocus={false} />
    </section>
  );
}
