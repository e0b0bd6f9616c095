// "Set your status": online, away, busy or invisible, and a custom message that can clear
// itself later (update_presence with clear_after_seconds).
import { useState } from 'preact/hooks';
import { Modal } from './Modal';
import type { Store } from '../store';
import type { Presence } from '../types';
import { presenceClass } from './Avatar';

export const STATUSES: { value: string; label: string; hint: string }[] = [
  { value: 'online', label: 'Online', hint: 'Shown as available.' },
  { value: 'away', label: 'Away', hint: 'Shown as away from the keyboard.' },
  { value: 'busy', label: 'Busy', hint: 'Shown as busy: people know you may answer late.' },
  { value: 'invisible', label: 'Invisible', hint: 'You appear offline to everyone else, and can still chat.' },
];

const CLEAR_AFTER: { value: string; label: string }[] = [
  { value: '0', label: "Don't clear" },
  { value: '1800', label: '30 minutes' },
  { value: '3600', label: '1 hour' },
  { value: '14400', label: '4 hours' },
  { value: 'today', label: 'Today' },
  { value: '604800', label: 'This week' },
];

export function statusLabel(status: string | undefined): string {
  return STATUSES.find((s) => s.value === status)?.label ?? 'Offline';
}

function secondsUntilMidnight(): number {
  const now = new Date();
  const midnight = new Date(now.getFullYear(), now.getMonth(), now.getDate() + 1);
  return Math.max(60, Math.round((midnight.getTime() - now.getTime()) / 1000));
}

export function StatusModal({ store, current, onClose }: { store: Store; current: Presence | null; onClose: () => void }) {
  const initial = current && current.status !== 'offline' ? current.status : 'online';
  const [status, setStatus] = useState(initial);
  const [message, setMessage] = useState(current?.custom_message ?? '');
  const [clearAfter, setClearAfter] = useState('0');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const save = async (body: { status: string; custom_message: string | null; clear_after_seconds?: number }) => {
    setBusy(true);
    setError(null);
    try {
      await store.setPresence(body);
      onClose();
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };

  const submit = (e: Event) => {
    e.preventDefault();
    const text = message.trim();
    const body: { status: string; custom_message: string | null; clear_after_seconds?: number } = { status, custom_message: text || null };
    if (text && clearAfter !== '0') body.clear_after_seconds = clearAfter === 'today' ? secondsUntilMidnight() : Number(clearAfter);
    void save(body);
  };

  return (
    <Modal title="Set your status" onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <fieldset class="status-choices">
          <legend>Status</legend>
          {STATUSES.map((s) => (
            <label key={s.value} class="check status-choice">
              <input type="radio" name="presence-status" value={s.value} checked={status === s.value}
                onChange={() => setStatus(s.value)} aria-describedby={`status-hint-${s.value}`} />
              <span class={`presence-dot inline ${presenceClass(s.value)}`} aria-hidden="true" />
              <span class="status-text">
                <span>{s.label}</span>
                <span class="hint" id={`status-hint-${s.value}`}>{s.hint}</span>
              </span>
            </label>
          ))}
        </fieldset>
        <label for="status-message">Status message <span class="optional">(optional)</span></label>
        <input id="status-message" maxLength={100} value={message} placeholder="e.g. In the keynote until 3 pm"
          onInput={(e) => setMessage(e.currentTarget.value)} aria-describedby="status-message-hint" />
        <p class="hint" id="status-message-hint">{message.length}/100 · shown next to your name in people lists.</p>
        <label for="status-clear">Clear the message after</label>
        <select id="status-clear" value={clearAfter} disabled={!message.trim()} onChange={(e) => setClearAfter(e.currentTarget.value)}>
          {CLEAR_AFTER.map((c) => <option key={c.value} value={c.value}>{c.label}</option>)}
        </select>
        {error && <p class="form-error" role="alert">{error}</p>}
        <div class="modal-actions">
          {current?.custom_message && (
            <button type="button" class="btn push-left" disabled={busy} onClick={() => void save({ status, custom_message: null })}>Clear message</button>
          )}
          <button type="button" class="btn" onClick={onClose}>Cancel</button>
          <button type="submit" class="btn primary" disabled={busy}>{busy ? 'Saving…' : 'Save status'}</button>
        </div>
      </form>
    </Modal>
  );
}
