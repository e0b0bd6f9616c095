// Participants grouped Online / Offline with the room's counts, presence dots and custom
// statuses, paged ("Show more": the online group pages `status=online`, the offline group
// the full listing). Moderators get a per-row button that opens the moderation dialog,
// and the moderation log.
import type { Participant, Permission, Presence, User } from '../types';
import type { RoomView } from '../store';
import { ONLINE_STATUSES, FOREVER, sameId } from '../store';
import { Icon } from './Icon';
import { displayName, untilLabel } from '../util';
import { Avatar, presenceLabel } from './Avatar';

export interface ParticipantsPanelProps {
  view: RoomView;
  presence: Record<string, Presence>;
  me: User;
  perms: Permission[];
  onClose: () => void;
  onMore: (which: 'online' | 'all') => void;
  onModerate: (p: Participant) => void;
  onLog: () => void;
}

export function isMuted(p: Participant): boolean {
  return !!p.muted_until && new Date(p.muted_until).getTime() > Date.now();
}

export function muteText(until: string): string {
  return until === FOREVER || until.startsWith('9999') ? 'until unmuted' : `until ${untilLabel(until)}`;
}

/** Whether I may act on this participant at all (the server has the last word). */
export function canActOn(p: Participant, me: User, perms: Permission[]): boolean {
  if (sameId(p.user.id, me.id) || p.role === 'owner' || p.user.role === 'admin') return false;
  if (!perms.some((x) => x === 'mute' || x === 'kick' || x === 'ban')) return false;
  return p.role !== 'moderator' || perms.includes('manage_moderators');
}

export function ParticipantsPanel(p: ParticipantsPanelProps) {
  const { view, presence, me } = p;
  const statusOf = (x: Participant) => presence[String(x.user.id)]?.status ?? x.presence?.status ?? 'offline';
  const customOf = (x: Participant) => presence[String(x.user.id)]?.custom_message ?? x.presence?.custom_message ?? null;
  const list = view.participants;
  const online = list.filter((x) => ONLINE_STATUSES.has(statusOf(x)));
  const offline = list.filter((x) => !ONLINE_STATUSES.has(statusOf(x)));
  const total = Math.max(view.participantCount ?? 0, list.length);
  // With everyone loaded, count what we show; else the server's counts.
  const complete = list.length >= total;
  const onlineCount = complete ? online.length : Math.max(view.onlineCount ?? 0, online.length);
  const offlineCount = complete ? offline.length : Math.max(total - onlineCount, offline.length);
  const moderator = p.perms.length > 0;
  const { online: onPage, all: allPage } = view.roster;
  const moreOnline = online.length < onlineCount && (!onPage.loaded || onPage.hasMore);
  const moreOffline = offline.length < offlineCount && (!allPage.loaded || allPage.hasMore);

  const row = (x: Participant) => {
    const status = statusOf(x);
    const custom = customOf(x);
    const muted = isMuted(x);
    const name = displayName(x.user);
    return (
      <li key={String(x.user.id)} class="person">
        <Avatar user={x.user} size={28} presence={status} />
        <span class="person-text">
          <span class="person-name">{name}{sameId(x.user.id, me.id) ? ' (you)' : ''}</span>
          <span class="person-sub">
            <span class="sr-only">{presenceLabel(status)}, </span>@{x.user.username}
            {custom ? <span class="person-status"> · {custom}</span> : null}
          </span>
        </span>
        {x.role !== 'member' && <span class="tag">{x.role}</span>}
        {x.user.role === 'admin' && <span class="tag">staff</span>}
        {muted && <span class="tag warn" title={`Muted ${muteText(x.muted_until!)}`}>muted</span>}
        {canActOn(x, me, p.perms) && (
          <button type="button" class="icon-btn small mod-btn" aria-label={`Moderate ${name}`} aria-haspopup="dialog" title="Moderate"
            onClick={() => p.onModerate(x)}><Icon name="shield" size={15} /></button>
        )}
      </li>
    );
  };
  const more = (which: 'online' | 'all', label: string) => {
    const page = which === 'online' ? onPage : allPage;
    return (
      <div class="show-more">
        {page.error && <p class="form-error">{page.error}</p>}
        <button type="button" class="btn small" disabled={page.loading} onClick={() => p.onMore(which)}>
          {page.loading ? 'Loading…' : label}
        </button>
      </div>
    );
  };
  return (
    <section class="side-panel-inner" aria-labelledby="people-title">
      <div class="panel-head">
        <h2 id="people-title">People <span class="count">{total}</span></h2>
        <div class="panel-head-actions">
          {moderator && (
            <button type="button" class="btn small" aria-haspopup="dialog" onClick={p.onLog}>
              <Icon name="list" size={15} />Moderation log
            </button>
          )}
          <button type="button" class="icon-btn" aria-label="Close people list" onClick={p.onClose}><Icon name="close" size={16} /></button>
        </div>
      </div>
      <div class="panel-body">
        <h3 class="group-title" id="people-online">Online — {onlineCount}</h3>
        <ul class="people" aria-labelledby="people-online">{online.map(row)}</ul>
        {moreOnline && more('online', `Show more online (${onlineCount - online.length})`)}
        <h3 class="group-title" id="people-offline">Offline — {offlineCount}</h3>
        <ul class="people" aria-labelledby="people-offline">{offline.map(row)}</ul>
        {moreOffline && more('all', `Show more (${offlineCount - offline.length})`)}
        {!complete && <p class="hint pad">Showing {list.length} of {total}.</p>}
      </div>
    </section>
  );
}
