import type { Presence, RoomListEntry, User } from '../types';
import type { Connection } from '../store';
import { sameId } from '../store';
import { displayName, messagePreview, shortAgo } from '../util';
import { Avatar, presenceLabel } from './Avatar';
import { ConnectionBadge } from './ConnectionBadge';
import { Icon } from './Icon';
import { statusLabel } from './StatusModal';

export function roomTitle(r: { name: string; is_direct?: boolean; direct_with?: User | null }): string {
  if (r.is_direct && r.direct_with) return displayName(r.direct_with);
  return r.name;
}

function roomIcon(r: RoomListEntry): string {
  if (r.is_direct) return '@';
  switch (r.type) {
    case 'event':
      return '★';
    case 'support':
      return '?';
    case 'private':
    case 'group':
      return r.is_public ? '#' : '🔒';
    default:
      return '#';
  }
}

export interface SidebarProps {
  me: User;
  rooms: RoomListEntry[];
  loaded: boolean;
  error: string | null;
  currentRoomId: RoomListEntry['id'] | null;
  connection: Connection;
  onOpen: (id: RoomListEntry['id']) => void;
  onCreate: () => void;
  onBrowse: () => void;
  onSignOut: () => void;
  onRetry: () => void;
  presence: Record<string, Presence>;
  onStatus: () => void;
}

export function Sidebar(p: SidebarProps) {
  return (
    <div class="sidebar-inner">
      <div class="sidebar-head">
        <div class="brand">
          <span class="brand-mark" aria-hidden="true" />
          <span>EventSync</span>
        </div>
        <ConnectionBadge state={p.connection} />
      </div>
      <div class="sidebar-actions">
        <button type="button" class="btn primary small" onClick={p.onCreate}>+ New room</button>
        <button type="button" class="btn small" onClick={p.onBrowse}>Browse rooms</button>
      </div>
      <nav class="room-nav" aria-label="Your rooms">
        <h2 class="nav-title" id="rooms-title">Rooms</h2>
        {!p.loaded && <p class="empty-note" role="status">Loading rooms…</p>}
        {p.error && (
          <p class="form-error pad">
            {p.error} <button type="button" class="link-btn" onClick={p.onRetry}>Retry</button>
          </p>
        )}
        {p.loaded && !p.error && p.rooms.length === 0 && <p class="empty-note">No rooms yet. Create one or browse public rooms.</p>}
        <ul class="room-list" aria-labelledby="rooms-title">
          {p.rooms.map((r) => {
            const current = sameId(r.id, p.currentRoomId);
            const title = roomTitle(r);
            const announcements = r.announcement_count ?? 0;
            const counts = [
              r.unread_count > 0 ? `${r.unread_count} unread` : '',
              r.mention_count > 0 ? `${r.mention_count} ${r.mention_count === 1 ? 'mention' : 'mentions'}` : '',
              announcements > 0 ? `${announcements} ${announcements === 1 ? 'announcement' : 'announcements'}` : '',
            ].filter(Boolean).join(', ');
            const dm = r.is_direct && r.direct_with ? r.direct_with : null;
            const dmStatus = dm ? p.presence[String(dm.id)]?.status ?? 'offline' : undefined;
            return (
              <li key={String(r.id)}>
                <button type="button" class={current ? 'room-item current' : r.unread_count > 0 ? 'room-item unread' : 'room-item'}
                  aria-current={current ? 'page' : undefined} onClick={() => p.onOpen(r.id)}>
                  {dm ? <Avatar user={dm} size={24} presence={dmStatus} /> : <span class="room-icon" aria-hidden="true">{roomIcon(r)}</span>}
                  <span class="room-text">
                    <span class="room-name">{title}</span>
                    {dm && <span class="sr-only">, {presenceLabel(dmStatus ?? 'offline')}</span>}
                    {counts && <span class="sr-only">, {counts}</span>}
                    {r.last_message && (
                      <span class="room-last">
                        {r.last_message.sender ? displayName(r.last_message.sender) + ': ' : ''}
                        {r.last_message.deleted_at ? 'message deleted' : messagePreview(r.last_message, 60)}
                      </span>
                    )}
                  </span>
                  <span class="room-meta" aria-hidden="true">
                    {r.last_message && <span class="room-time">{shortAgo(r.last_message.created_at)}</span>}
                    <span class="badges">
                      {announcements > 0 && (
                        <span class="badge announce" title={`${announcements} unread ${announcements === 1 ? 'announcement' : 'announcements'}`}>
                          <Icon name="megaphone" size={11} />{announcements > 9 ? '9+' : announcements}
                        </span>
                      )}
                      {r.mention_count > 0 && <span class="badge mention">@{r.mention_count}</span>}
                      {r.unread_count > 0 && <span class="badge">{r.unread_count > 99 ? '99+' : r.unread_count}</span>}
                    </span>
                  </span>
                </button>
              </li>
            );
          })}
        </ul>
      </nav>
      <div class="sidebar-foot">
        {(() => {
          const mine = p.presence[String(p.me.id)];
          const status = mine?.status ?? 'online';
          const custom = mine?.custom_message ?? '';
          return (
            <button type="button" class="me-btn" aria-haspopup="dialog" onClick={p.onStatus} title="Set your status">
              <span class="sr-only">Set your status: </span>
              <Avatar user={p.me} size={32} presence={status} />
              <span class="me-text">
                <span class="me-name">{displayName(p.me)}</span>
                <span class="me-sub">@{p.me.username} · id {String(p.me.id)}</span>
                <span class="me-status">{statusLabel(status)}{custom ? ` · ${custom}` : ''}</span>
              </span>
            </button>
          );
        })()}
        <button type="button" class="btn small" onClick={p.onSignOut}>Sign out</button>
      </div>
    </div>
  );
}
