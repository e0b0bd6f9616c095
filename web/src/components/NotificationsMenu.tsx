import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import type { Notification, RoomListEntry } from '../types';
import { sameId } from '../store';
import { displayName, shortAgo } from '../util';
import { Avatar } from './Avatar';

function describe(n: Notification): string {
  switch (n.kind) {
    case 'mention':
      return 'mentioned you';
    case 'reply':
      return 'replied to you';
    case 'direct':
      return 'sent you a direct message';
    case 'announcement':
      return 'posted an announcement';
    default:
      return n.kind;
  }
}

export function NotificationsMenu({ items, rooms, onOpen, onClose, footer }: {
  items: Notification[]; rooms: RoomListEntry[]; onOpen: (n: Notification) => void; onClose: () => void; footer?: ComponentChildren;
}) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLElement>('button, [tabindex]')?.focus();
    const down = (e: MouseEvent) => {
      const t = e.target as HTMLElement;
      if (ref.current && !ref.current.contains(t) && !t.closest('.bell')) onClose();
    };
    document.addEventListener('mousedown', down, true);
    return () => document.removeEventListener('mousedown', down, true);
  }, []);
  return (
    <div class="popover notif-menu" role="dialog" aria-label="Notifications" ref={ref}
      onKeyDown={(e) => { if (e.key === 'Escape') { e.stopPropagation(); onClose(); } }}>
      <h2 class="popover-title" tabIndex={-1}>Notifications</h2>
      {items.length === 0 && <p class="empty-note">Nothing yet. Mentions of you show up here.</p>}
      <ul class="notif-list">
        {items.map((n) => {
          const room = rooms.find((r) => sameId(r.id, n.room_id));
          return (
            <li key={String(n.id)}>
              <button type="button" class={n.read_at ? 'notif' : 'notif unread'} onClick={() => onOpen(n)}>
                <Avatar user={n.actor} size={28} />
                <span class="notif-text">
                  <strong>{displayName(n.actor)}</strong> {describe(n)}{room ? <> in <strong>#{room.name}</strong></> : null}
                  <span class="notif-time">{shortAgo(n.created_at)}</span>
                </span>
              </button>
            </li>
          );
        })}
      </ul>
      {footer && <div class="notif-foot">{footer}</div>}
    </div>
  );
}
