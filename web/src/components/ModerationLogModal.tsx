// The room's moderation log, newest first, 50 at a time ("Load more" pages with `before`),
// and who is banned now (with Unban for moderators holding `ban`).
import { useEffect, useState } from 'preact/hooks';
import { Modal } from './Modal';
import { api } from '../api';
import type { Store } from '../store';
import type { Ban, Id, ModerationLogEntry } from '../types';
import { displayName, fullTime, humanDuration, timeOf } from '../util';

const VERBS: Record<string, string> = {
  mute: 'muted', unmute: 'unmuted', kick: 'removed', ban: 'banned', unban: 'unbanned',
  delete_message: 'deleted a message by', pin: 'pinned a message by', unpin: 'unpinned a message by',
};

export function describeEntry(e: ModerationLogEntry): string {
  const actor = e.actor ? displayName(e.actor) : 'The server';
  const verb = VERBS[e.action] ?? e.action.replace(/_/g, ' ');
  const target = e.target ? ` ${displayName(e.target)}` : '';
  const dur = e.duration_seconds ? ` for ${humanDuration(e.duration_seconds)}` : (e.action === 'mute' || e.action === 'ban') ? ' with no end' : '';
  return `${actor} ${verb}${target}${dur}`;
}

export function ModerationLogModal({ store, roomId, roomName, canBan, onClose }: {
  store: Store; roomId: Id; roomName: string; canBan: boolean; onClose: () => void;
}) {
  const [bans, setBans] = useState<Ban[]>([]);
  const [banError, setBanError] = useState<string | null>(null);
  const [entries, setEntries] = useState<ModerationLogEntry[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);

  const load = async (before?: Id) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api.moderationLog(roomId, before);
      setEntries((x) => (before === undefined ? page.entries : [...x, ...page.entries]));
      setHasMore(page.has_more);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
    }
  };
  const loadBans = async () => {
    try {
      setBans((await api.bans(roomId)).bans);
    } catch {
      setBans([]);
    }
  };
  useEffect(() => {
    void load();
    void loadBans();
  }, [roomId]);

  const unban = async (b: Ban) => {
    setBanError(null);
    try {
      await store.moderate(roomId, 'unban', b.user.id);
      setBans((x) => x.filter((y) => y.user.id !== b.user.id));
      void load();
    } catch (e) {
      setBanError((e as Error).message);
    }
  };

  return (
    <Modal title="Moderation log" onClose={onClose} wide>
      {bans.length > 0 && (
        <section class="bans" aria-labelledby="bans-title">
          <h3 class="group-title" id="bans-title">Banned now — {bans.length}</h3>
          <ul class="ban-list">
            {bans.map((b) => (
              <li key={String(b.user.id)} class="mod-entry">
                <span class="mod-entry-text">
                  <strong>{displayName(b.user)}</strong> {b.until ? `until ${fullTime(b.until)}` : 'permanently'}
                  {b.reason && <span class="mod-reason"> — “{b.reason}”</span>}
                </span>
                {canBan && <button type="button" class="btn small" onClick={() => void unban(b)} aria-label={`Unban ${displayName(b.user)}`}>Unban</button>}
              </li>
            ))}
          </ul>
          {banError && <p class="form-error" role="alert">{banError}</p>}
        </section>
      )}
      <p class="hint">Every mute, removal and ban in #{roomName}, newest first.</p>
      <ol class="mod-log" aria-label={`Moderation log of ${roomName}`}>
        {entries.map((e) => (
          <li key={String(e.id)} class="mod-entry" data-action={e.action}>
            <span class="mod-entry-text">
              <span class={`tag act-${e.action}`}>{e.action.replace(/_/g, ' ')}</span> {describeEntry(e)}
              {e.reason && <span class="mod-reason"> — “{e.reason}”</span>}
            </span>
            <time dateTime={e.created_at} title={fullTime(e.created_at)}>{fullTime(e.created_at) || timeOf(e.created_at)}</time>
          </li>
        ))}
      </ol>
      {loading && <p class="empty-note" role="status">Loading…</p>}
      {!loading && !error && entries.length === 0 && <p class="empty-note">Nothing yet.</p>}
      {error && <p class="form-error" role="alert">{error} <button type="button" class="link-btn" onClick={() => void load(entries[entries.length - 1]?.id)}>Retry</button></p>}
      {hasMore && !loading && (
        <div class="modal-actions">
          <button type="button" class="btn" onClick={() => void load(entries[entries.length - 1]?.id)}>Load more</button>
        </div>
      )}
    </Modal>
  );
}
