// One room's settings: my notifications for it (everyone: level, sound, browser
// notifications) and, for those who may manage the room, its settings (PATCH
// /api/chat/rooms/:id): files, voice, moderation, slow mode, who posts, Q&A and review.
import { useEffect, useState } from 'preact/hooks';
import { Modal } from './Modal';
import type { Store } from '../store';
import type { NotificationLevel, RoomListEntry, RoomPreferences } from '../types';
import type { RoomSettingsPatch } from '../api';
import type { DesktopState } from '../notify';

const LEVELS: { value: NotificationLevel; label: string }[] = [
  { value: 'all', label: 'All new messages' },
  { value: 'mentions', label: 'Only mentions, replies to me and direct messages' },
  { value: 'none', label: 'Nothing (mute this room)' },
];

export function DesktopToggle({ store, state }: { store: Store; state: DesktopState }) {
  const [busy, setBusy] = useState(false);
  if (state === 'unsupported') return <p class="hint">This browser does not show notifications.</p>;
  return (
    <div class="desktop-toggle">
      <label class="check">
        <input type="checkbox" checked={state === 'on'} disabled={busy || state === 'denied'}
          onChange={async (e) => {
            const input = e.currentTarget;
            const want = input.checked;
            if (!want) {
              store.disableDesktop();
              return;
            }
            setBusy(true);
            try {
              // The permission prompt comes from this click.
              const d = await store.enableDesktop();
              input.checked = d === 'on';
            } finally {
              setBusy(false);
            }
          }} />
        Browser notifications while this tab is hidden
      </label>
      {state === 'denied' && <p class="hint">The browser blocks notifications for this site: allow them in its site settings to turn this on.</p>}
    </div>
  );
}

function NotificationPrefs({ store, room, prefs, desktop }: { store: Store; room: RoomListEntry; prefs: RoomPreferences | undefined; desktop: DesktopState }) {
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(!prefs);
  useEffect(() => {
    if (prefs) return;
    void store.prefsFor(room.id).then((x) => {
      setLoading(false);
      if (!x) setError('Your notification settings for this room could not be read.');
    });
  }, [room.id]);
  const save = async (body: Partial<Pick<RoomPreferences, 'notifications' | 'sound'>>) => {
    setError(null);
    try {
      await store.setPrefs(room.id, body);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  return (
    <section class="settings-section" aria-labelledby="prefs-title">
      <h3 id="prefs-title">Your notifications</h3>
      {loading && !prefs ? <p class="hint" role="status">Loading…</p> : (
        <>
          <fieldset class="checks" disabled={!prefs}>
            <legend>Notify me about</legend>
            {LEVELS.map((l) => (
              <label key={l.value}>
                <input type="radio" name="notif-level" value={l.value} checked={prefs?.notifications === l.value}
                  onChange={() => void save({ notifications: l.value })} /> {l.label}
              </label>
            ))}
          </fieldset>
          <label class="check">
            <input type="checkbox" checked={!!prefs?.sound} disabled={!prefs} onChange={(e) => void save({ sound: e.currentTarget.checked })} />
            Play a sound for new messages
          </label>
        </>
      )}
      <DesktopToggle store={store} state={desktop} />
      {error && <p class="form-error" role="alert">{error}</p>}
    </section>
  );
}

function RoomSettingsForm({ store, room, onClose }: { store: Store; room: RoomListEntry; onClose: () => void }) {
  const [name, setName] = useState(room.name);
  const [description, setDescription] = useState(room.description ?? '');
  const [isPublic, setIsPublic] = useState(!!room.is_public);
  const [allowFiles, setAllowFiles] = useState(room.allow_files !== false);
  const [allowVoice, setAllowVoice] = useState(room.allow_voice !== false);
  const [moderation, setModeration] = useState(!!room.moderation_enabled);
  const [slow, setSlow] = useState(String(room.slow_mode_seconds ?? 0));
  const [posting, setPosting] = useState<'everyone' | 'moderators'>(room.posting === 'moderators' ? 'moderators' : 'everyone');
  const [qa, setQa] = useState(!!room.qa_enabled);
  const [qaReview, setQaReview] = useState(!!room.qa_moderation);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const slowN = Number(slow);
    if (!Number.isInteger(slowN) || slowN < 0 || slowN > 86400) {
      setError('Slow mode must be a whole number of seconds from 0 to 86400.');
      return;
    }
    // Only what changed, so two moderators editing different settings do not undo each other.
    const next: Required<RoomSettingsPatch> = {
      name: name.trim(), description: description.trim(), is_public: isPublic, allow_files: allowFiles, allow_voice: allowVoice,
      moderation_enabled: moderation, slow_mode_seconds: slowN, posting, qa_enabled: qa, qa_moderation: qa && qaReview,
    };
    const was: Record<string, unknown> = {
      name: room.name, description: room.description ?? '', is_public: !!room.is_public, allow_files: room.allow_files !== false,
      allow_voice: room.allow_voice !== false, moderation_enabled: !!room.moderation_enabled, slow_mode_seconds: room.slow_mode_seconds ?? 0,
      posting: room.posting === 'moderators' ? 'moderators' : 'everyone', qa_enabled: !!room.qa_enabled, qa_moderation: !!room.qa_moderation,
    };
    const patch: RoomSettingsPatch = {};
    for (const [k, v] of Object.entries(next)) if (was[k] !== v) (patch as Record<string, unknown>)[k] = v;
    if (Object.keys(patch).length === 0) {
      onClose();
      return;
    }
    setBusy(true);
    try {
      await store.updateRoom(room.id, patch);
      onClose();
    } catch (err) {
      setError((err as Error).message);
      setBusy(false);
    }
  };

  return (
    <section class="settings-section" aria-labelledby="room-settings-title">
      <h3 id="room-settings-title">Room settings</h3>
      <form class="form" onSubmit={submit}>
        <label for="rs-name">Name</label>
        <input id="rs-name" required maxLength={100} value={name} onInput={(e) => setName(e.currentTarget.value)} />
        <label for="rs-desc">Description <span class="optional">(optional)</span></label>
        <textarea id="rs-desc" rows={2} maxLength={1000} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
        <fieldset class="checks">
          <legend>Settings</legend>
          <label><input type="checkbox" checked={isPublic} onChange={(e) => setIsPublic(e.currentTarget.checked)} /> Public (listed, anyone can join)</label>
          <label><input type="checkbox" checked={allowFiles} onChange={(e) => setAllowFiles(e.currentTarget.checked)} /> Allow files</label>
          <label><input type="checkbox" checked={allowVoice} onChange={(e) => setAllowVoice(e.currentTarget.checked)} /> Allow voice messages</label>
          <label><input type="checkbox" checked={moderation} onChange={(e) => setModeration(e.currentTarget.checked)} /> Moderation (content filter, flood control)</label>
          <label><input type="checkbox" checked={posting === 'moderators'} onChange={(e) => setPosting(e.currentTarget.checked ? 'moderators' : 'everyone')} /> Only moderators post (announcements)</label>
          <label><input type="checkbox" checked={qa} onChange={(e) => setQa(e.currentTarget.checked)} /> Q&amp;A (people ask and vote on questions)</label>
          {qa && <label class="sub-check"><input type="checkbox" checked={qaReview} onChange={(e) => setQaReview(e.currentTarget.checked)} /> Review questions before they are shown</label>}
        </fieldset>
        <label for="rs-slow">Slow mode <span class="optional">(seconds between a member's messages, 0 for off)</span></label>
        <input id="rs-slow" type="number" min={0} max={86400} step={1} inputMode="numeric" value={slow} onInput={(e) => setSlow(e.currentTarget.value)} />
        {error && <p class="form-error" role="alert">{error}</p>}
        <div class="modal-actions">
          <button type="button" class="btn" onClick={onClose}>Cancel</button>
          <button type="submit" class="btn primary" disabled={busy || !name.trim()}>{busy ? 'Saving…' : 'Save settings'}</button>
        </div>
      </form>
    </section>
  );
}

export function RoomSettingsModal({ store, room, roomName, canManage, prefs, desktop, onClose }: {
  store: Store; room: RoomListEntry; roomName: string; canManage: boolean; prefs: RoomPreferences | undefined; desktop: DesktopState; onClose: () => void;
}) {
  return (
    <Modal title={`Settings for ${roomName}`} onClose={onClose}>
      <NotificationPrefs store={store} room={room} prefs={prefs} desktop={desktop} />
      {canManage ? <RoomSettingsForm store={store} room={room} onClose={onClose} /> : (
        <div class="modal-actions"><button type="button" class="btn" onClick={onClose}>Done</button></div>
      )}
    </Modal>
  );
}
