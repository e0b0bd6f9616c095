import { useState } from 'preact/hooks';
import { Modal } from './Modal';
import type { Store } from '../store';
import type { User } from '../types';

const TYPES: { value: string; label: string; hint: string }[] = [
  { value: 'general', label: 'General', hint: 'Public by default: anyone signed in can join.' },
  { value: 'group', label: 'Group', hint: 'Only people you add can read and join, unless you make it public.' },
  { value: 'private', label: 'Private / direct', hint: 'With exactly one other person this is a direct message.' },
  { value: 'support', label: 'Support', hint: 'You and the support staff (admins).' },
];

export function CreateRoomModal({ store, me, onClose }: { store: Store; me: User; onClose: () => void }) {
  const [name, setName] = useState('');
  const [type, setType] = useState('general');
  const [description, setDescription] = useState('');
  const [isPublic, setIsPublic] = useState(true);
  const [publicTouched, setPublicTouched] = useState(false);
  const [allowFiles, setAllowFiles] = useState(true);
  const [allowVoice, setAllowVoice] = useState(true);
  const [moderation, setModeration] = useState(false);
  const [qa, setQa] = useState(false);
  const [qaReview, setQaReview] = useState(false);
  const [people, setPeople] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const chooseType = (t: string) => {
    setType(t);
    if (!publicTouched) setIsPublic(t === 'general');
  };

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const ids: number[] = [];
    for (const part of people.split(/[\s,;]+/).filter(Boolean)) {
      const n = Number(part);
      if (!Number.isInteger(n) || n <= 0) {
        setError(`“${part}” is not a user id.`);
        return;
      }
      if (n !== Number(me.id)) ids.push(n);
    }
    setBusy(true);
    try {
      await store.createRoom({
        name: name.trim(), type, description: description.trim() || undefined, is_public: isPublic, allow_files: allowFiles,
        allow_voice: allowVoice, moderation_enabled: moderation, participant_ids: ids.length ? ids : undefined,
        qa_enabled: qa || undefined, qa_moderation: qa && qaReview ? true : undefined,
      });
      onClose();
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  const hint = TYPES.find((t) => t.value === type)?.hint;
  return (
    <Modal title="Create a room" onClose={onClose}>
      <form class="form" onSubmit={submit}>
        <label for="room-name">Name</label>
        <input id="room-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} placeholder="e.g. lobby" />
        <label for="room-type">Type</label>
        <select id="room-type" value={type} onChange={(e) => chooseType(e.currentTarget.value)} aria-describedby="room-type-hint">
          {TYPES.map((t) => <option key={t.value} value={t.value}>{t.label}</option>)}
        </select>
        <p class="hint" id="room-type-hint">{hint}</p>
        <label for="room-desc">Description <span class="optional">(optional)</span></label>
        <textarea id="room-desc" rows={2} maxLength={500} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        <fieldset class="checks">
          <legend>Settings</legend>
          <label><input type="checkbox" checked={isPublic} onChange={(e) => { setIsPublic(e.currentTarget.checked); setPublicTouched(true); }} /> Public (listed, anyone can join)</label>
          <label><input type="checkbox" checked={allowFiles} onChange={(e) => setAllowFiles(e.currentTarget.checked)} /> Allow files</label>
          <label><input type="checkbox" checked={allowVoice} onChange={(e) => setAllowVoice(e.currentTarget.checked)} /> Allow voice messages</label>
          <label><input type="checkbox" checked={moderation} onChange={(e) => setModeration(e.currentTarget.checked)} /> Moderation (content filter, flood control)</label>
          <label><input type="checkbox" checked={qa} onChange={(e) => setQa(e.currentTarget.checked)} /> Q&amp;A (people ask and vote on questions)</label>
          {qa && <label class="sub-check"><input type="checkbox" checked={qaReview} onChange={(e) => setQaReview(e.currentTarget.checked)} /> Review questions before they are shown</label>}
        </fieldset>
        <label for="room-people">Add people <span class="optional">(user ids, comma-separated)</span></label>
        <input id="room-people" inputMode="numeric" value={people} onInput={(e) => setPeople(e.currentTarget.value)} placeholder="e.g. 12, 15"
          aria-describedby="room-people-hint" />
        <p class="hint" id="room-people-hint">Your user id is {String(me.id)}; it is shown under your name in the sidebar.</p>
        {error && <p class="form-error" role="alert">{error}</p>}
        <div class="modal-actions">
          <button type="button" class="btn" onClick={onClose}>Cancel</button>
          <button type="submit" class="btn primary" disabled={busy || !name.trim()}>{busy ? 'Creating…' : 'Create room'}</button>
        </div>
      </form>
    </Modal>
  );
}
