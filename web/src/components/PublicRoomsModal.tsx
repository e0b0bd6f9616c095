import { useEffect, useState } from 'preact/hooks';
import { Modal } from './Modal';
import { api } from '../api';
import type { Store } from '../store';
import { sameId } from '../store';
import type { Room, RoomListEntry } from '../types';

export function PublicRoomsModal({ store, mine, onClose }: { store: Store; mine: RoomListEntry[]; onClose: () => void }) {
  const [rooms, setRooms] = useState<Room[]>([]);
  const [hasMore, setHasMore] = useState(false);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const [joining, setJoining] = useState<string | null>(null);
  const [filter, setFilter] = useState('');

  const load = async (before?: Room['id']) => {
    setLoading(true);
    setError(null);
    try {
      const page = await api.publicRooms(before);
      setRooms((r) => (before === undefined ? page.rooms : [...r, ...page.rooms]));
      setHasMore(page.rooms.length >= 50);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setLoading(false);
    }
  };
  useEffect(() => void load(), []);

  const join = async (r: Room) => {
    setJoining(String(r.id));
    setError(null);
    try {
      if (mine.some((m) => sameId(m.id, r.id))) store.openRoom(r.id);
      else await store.joinPublicRoom(r.id);
      onClose();
    } catch (e) {
      setError((e as Error).message);
      setJoining(null);
    }
  };

  const shown = rooms.filter((r) => !filter || r.name.toLowerCase().includes(filter.toLowerCase()));
  return (
    <Modal title="Browse public rooms" onClose={onClose} wide>
      <label for="room-filter" class="sr-only">Filter rooms</label>
      <input id="room-filter" type="search" placeholder="Filter by name" value={filter} onInput={(e) => setFilter(e.currentTarget.value)} />
      {error && <p class="form-error" role="alert">{error}</p>}
      <ul class="public-list">
        {shown.map((r) => {
          const joined = mine.some((m) => sameId(m.id, r.id));
          return (
            <li key={String(r.id)} class="public-room">
              <div class="public-text">
                <span class="room-name"># {r.name}</span>
                {r.description && <span class="room-desc">{r.description}</span>}
                <span class="room-last">{r.participant_count ?? 0} {r.participant_count === 1 ? 'member' : 'members'} · {r.type}</span>
              </div>
              <button type="button" class={joined ? 'btn small' : 'btn small primary'} disabled={joining !== null}
                aria-label={`${joined ? 'Open' : 'Join'} ${r.name}`} onClick={() => void join(r)}>
                {joining === String(r.id) ? 'Joining…' : joined ? 'Open' : 'Join'}
              </button>
            </li>
          );
        })}
      </ul>
      {loading && <p class="empty-note" role="status">Loading…</p>}
      {!loading && shown.length === 0 && <p class="empty-note">No public rooms{filter ? ' match' : ' yet'}.</p>}
      {hasMore && !loading && (
        <button type="button" class="btn small" onClick={() => void load(rooms[rooms.length - 1]?.id)}>Load more</button>
      )}
    </Modal>
  );
}
