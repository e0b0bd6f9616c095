// Participants grouped online / offline with presence dots. Moderation actions
// (mute, kick, ban) slot in per row once the server offers them.
import type { Participant, User } from '../types';
import { Icon } from './Icon';
import { sameId } from '../store';
import { displayName } from '../util';
import { Avatar, presenceLabel } from './Avatar';

const ONLINE = new Set(['online', 'away', 'busy']);

export function ParticipantsPanel({ participants, count, me, onClose }: { participants: Participant[]; count: number | null; me: User; onClose: () => void }) {
  const sorted = [...participants].sort((a, b) => displayName(a.user).localeCompare(displayName(b.user)));
  const online = sorted.filter((p) => ONLINE.has(p.presence?.status));
  const offline = sorted.filter((p) => !ONLINE.has(p.presence?.status));
  const total = Math.max(count ?? 0, participants.length);
  const row = (p: Participant) => (
    <li key={String(p.user.id)} class="person">
      <Avatar user={p.user} size={28} presence={p.presence?.status ?? 'offline'} />
      <span class="person-text">
        <span class="person-name">{displayName(p.user)}{sameId(p.user.id, me.id) ? ' (you)' : ''}</span>
        <span class="person-sub">
          <span class="sr-only">{presenceLabel(p.presence?.status ?? 'offline')}, </span>@{p.user.username}
          {p.presence?.custom_message ? ` · ${p.presence.custom_message}` : ''}
        </span>
      </span>
      {p.role !== 'member' && <span class="tag">{p.role}</span>}
      {p.user.role === 'admin' && <span class="tag">staff</span>}
    </li>
  );
  return (
    <section class="side-panel-inner" aria-labelledby="people-title">
      <div class="panel-head">
        <h2 id="people-title">People <span class="count">{total}</span></h2>
        <button type="button" class="icon-btn" aria-label="Close people list" onClick={onClose}><Icon name="close" size={16} /></button>
      </div>
      <div class="panel-body">
        <h3 class="group-title">Online — {online.length}</h3>
        <ul class="people">{online.map(row)}</ul>
        <h3 class="group-title">Offline — {offline.length}</h3>
        <ul class="people">{offline.map(row)}</ul>
        {total > participants.length && <p class="hint">Showing {participants.length} of {total}.</p>}
      </div>
    </section>
  );
}
