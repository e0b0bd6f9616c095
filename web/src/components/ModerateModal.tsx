// The moderation dialog for one participant: mute (5 min, 1 h, 1 day, until unmuted) or
// unmute, remove (kick), ban (1 h, 1 day, 1 week, permanently), with an optional reason.
import { useState } from 'preact/hooks';
import { Modal } from './Modal';
import type { Participant, Permission } from '../types';
import type { ModerationAction } from '../api';
import { displayName } from '../util';
import { Avatar } from './Avatar';
import { isMuted, muteText } from './ParticipantsPanel';

const MUTE_FOR: { value: number; label: string }[] = [
  { value: 300, label: '5 minutes' },
  { value: 3600, label: '1 hour' },
  { value: 86400, label: '1 day' },
  { value: 0, label: 'Until unmuted' },
];

const BAN_FOR: { value: number; label: string }[] = [
  { value: 3600, label: '1 hour' },
  { value: 86400, label: '1 day' },
  { value: 604800, label: '1 week' },
  { value: 0, label: 'Permanently' },
];

const VERB: Record<ModerationAction, string> = { mute: 'Mute', unmute: 'Unmute', kick: 'Remove', ban: 'Ban', unban: 'Unban' };

export function ModerateModal({ target, perms, roomName, onClose, onAct }: {
  target: Participant;
  perms: Permission[];
  roomName: string;
  onClose: () => void;
  onAct: (action: ModerationAction, opts: { duration_seconds?: number; reason?: string }) => Promise<void>;
}) {
  const muted = isMuted(target);
  const name = displayName(target.user);
  const choices: { value: ModerationAction; label: string; hint: string }[] = [];
  if (perms.includes('mute')) {
    choices.push(muted
      ? { value: 'unmute', label: 'Unmute', hint: `${name} can post again at once.` }
      : { value: 'mute', label: 'Mute', hint: `${name} can read but not post, react or vote.` });
  }
  if (perms.includes('kick')) choices.push({ value: 'kick', label: 'Remove from the room', hint: 'They can come back to a public room.' });
  if (perms.includes('ban')) choices.push({ value: 'ban', label: 'Ban', hint: 'Removed, and cannot come back until the ban ends.' });
  const [action, setAction] = useState<ModerationAction>(choices[0]?.value ?? 'mute');
  const [muteFor, setMuteFor] = useState(3600);
  const [banFor, setBanFor] = useState(86400);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const duration = action === 'mute' ? muteFor : action === 'ban' ? banFor : 0;
      await onAct(action, { duration_seconds: duration || undefined, reason: action === 'unmute' ? undefined : reason.trim() || undefined });
      onClose();
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  const durations = action === 'mute' ? MUTE_FOR : action === 'ban' ? BAN_FOR : null;
  return (
    <Modal title={`Moderate ${name}`} onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <div class="mod-who">
          <Avatar user={target.user} size={32} />
          <span class="person-text">
            <span class="person-name">{name}</span>
            <span class="person-sub">@{target.user.username} · {target.role} of #{roomName}{muted ? ` · muted ${muteText(target.muted_until!)}` : ''}</span>
          </span>
        </div>
        {choices.length === 0 ? (
          <p class="hint">You have no moderation permission for this room.</p>
        ) : (
          <fieldset class="checks">
            <legend>Action</legend>
            {choices.map((c) => (
              <label key={c.value} class="check">
                <input type="radio" name="mod-action" value={c.value} checked={action === c.value} onChange={() => setAction(c.value)}
                  aria-describedby={`mod-hint-${c.value}`} />
                <span class="status-text">
                  <span>{c.label}</span>
                  <span class="hint" id={`mod-hint-${c.value}`}>{c.hint}</span>
                </span>
              </label>
            ))}
          </fieldset>
        )}
        {durations && (
          <>
            <label for="mod-duration">{action === 'mute' ? 'Mute for' : 'Ban for'}</label>
            <select id="mod-duration" value={String(action === 'mute' ? muteFor : banFor)}
              onChange={(e) => (action === 'mute' ? setMuteFor : setBanFor)(Number(e.currentTarget.value))}>
              {durations.map((d) => <option key={d.value} value={String(d.value)}>{d.label}</option>)}
            </select>
          </>
        )}
        {action !== 'unmute' && action !== 'unban' && choices.length > 0 && (
          <>
            <label for="mod-reason">Reason <span class="optional">(optional)</span></label>
            <textarea id="mod-reason" rows={2} maxLength={500} value={reason} onInput={(e) => setReason(e.currentTarget.value)}
              aria-describedby="mod-reason-hint" />
            <p class="hint" id="mod-reason-hint">{name} sees it, and it is kept in the moderation log.</p>
          </>
        )}
        {error && <p class="form-error" role="alert">{error}</p>}
        <div class="modal-actions">
          <button type="button" class="btn" onClick={onClose}>Cancel</button>
          {choices.length > 0 && (
            <button type="submit" class={action === 'kick' || action === 'ban' ? 'btn danger' : 'btn primary'} disabled={busy}>
              {busy ? 'Working…' : VERB[action]}
            </button>
          )}
        </div>
      </form>
    </Modal>
  );
}
