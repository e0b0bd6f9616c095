// The room's pinned messages, newest pin first; a click jumps to the message when it is
// loaded. Moderators with manage_room unpin from here too.
import type { Message, Pin } from '../types';
import { displayName, fullTime, messagePreview, shortAgo } from '../util';
import { Avatar } from './Avatar';
import { Icon } from './Icon';

export function PinsPanel({ pins, canPin, onJump, onUnpin, onClose }: {
  pins: Pin[] | undefined;
  canPin: boolean;
  onJump: (m: Message) => void;
  onUnpin: (m: Message) => void;
  onClose: () => void;
}) {
  return (
    <section class="side-panel-inner pins" aria-labelledby="pins-title">
      <div class="panel-head">
        <h2 id="pins-title">Pinned messages <span class="count">{pins?.length ?? 0}</span></h2>
        <button type="button" class="icon-btn" aria-label="Close pinned messages" onClick={onClose}><Icon name="close" size={16} /></button>
      </div>
      <div class="panel-body">
        {!pins && <p class="empty-note" role="status">Loading…</p>}
        {pins && pins.length === 0 && (
          <p class="empty-note">Nothing pinned yet.{canPin ? ' Pin a message from its actions to keep it here.' : ''}</p>
        )}
        <ul class="pin-list" aria-label="Pinned messages">
          {pins?.map((p) => {
            const m = p.message;
            const text = m.deleted_at ? 'This message was deleted.' : messagePreview(m, 300);
            return (
              <li key={String(p.message_id)} class="pin-item">
                <button type="button" class="pin-open" onClick={() => onJump(m)} title={`Pinned ${fullTime(p.pinned_at)}. Show in the conversation`}>
                  <Avatar user={m.sender} size={24} />
                  <span class="pin-text">
                    <span class="pin-head"><strong>{displayName(m.sender)}</strong><span class="sr-only">:</span> <time dateTime={m.created_at}>{shortAgo(m.created_at)}</time></span>
                    <span class="pin-body">{text}</span>
                    <span class="pin-by">Pinned{p.pinned_by ? ` by ${displayName(p.pinned_by)}` : ''}</span>
                  </span>
                </button>
                {canPin && (
                  <button type="button" class="icon-btn small" aria-label={`Unpin message from ${displayName(m.sender)}`} title="Unpin"
                    onClick={() => onUnpin(m)}><Icon name="close" size={14} /></button>
                )}
              </li>
            );
          })}
        </ul>
      </div>
    </section>
  );
}
