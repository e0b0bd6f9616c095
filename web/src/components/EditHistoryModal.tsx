// The earlier versions of an edited message, for moderators: every text it had, oldest
// first, with when it was replaced, then the text it has now. Shown as plain text (an
// audit trail: what was written, exactly), never as markup.
import { useEffect, useState } from 'preact/hooks';
import { Modal } from './Modal';
import { api } from '../api';
import type { Message, MessageVersion } from '../types';
import { displayName, fullTime } from '../util';

/** Tolerates the shapes a history answer may take: {versions}, {edits}, {history} or a bare list. */
function versionsOf(data: unknown): MessageVersion[] {
  const list = Array.isArray(data) ? data
    : data && typeof data === 'object'
      ? ((data as Record<string, unknown>).versions ?? (data as Record<string, unknown>).edits ?? (data as Record<string, unknown>).history ?? [])
      : [];
  if (!Array.isArray(list)) return [];
  return list.map((v: Record<string, unknown>) => ({
    content: String(v.content ?? v.previous_content ?? v.text ?? ''),
    replaced_at: String(v.replaced_at ?? v.edited_at ?? v.created_at ?? ''),
    reason: (v.reason as string | null | undefined) ?? null,
  }));
}

export function EditHistoryModal({ message, onClose }: { message: Message; onClose: () => void }) {
  const [versions, setVersions] = useState<MessageVersion[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    api.editHistory(message.id).then(
      (d) => live && setVersions(versionsOf(d)),
      (e: Error & { status?: number }) => live && setError(e.status === 404 ? 'The server keeps no edit history for this message.' : e.message),
    );
    return () => {
      live = false;
    };
  }, [message.id]);
  return (
    <Modal title="Edit history" onClose={onClose}>
      <p class="hint">Message from <strong>{displayName(message.sender)}</strong>, sent {fullTime(message.created_at)}.</p>
      {error && <p class="form-error" role="alert">{error}</p>}
      {!error && versions === null && <p class="hint" role="status">Loading…</p>}
      {versions && (
        <ol class="edit-history" aria-label="Versions, oldest first">
          {versions.map((v, i) => (
            <li key={i} class="edit-version">
              <div class="edit-version-head">
                <strong>{i === 0 ? 'Original' : `Version ${i + 1}`}</strong>
                {v.replaced_at && <span class="hint"> · replaced {fullTime(v.replaced_at)}</span>}
                {v.reason && v.reason !== 'edit' && <span class="hint"> · {v.reason}</span>}
              </div>
              <p class="edit-version-text">{v.content}</p>
            </li>
          ))}
          <li class="edit-version current">
            <div class="edit-version-head">
              <strong>Current</strong>
              {message.edited_at && <span class="hint"> · edited {fullTime(message.edited_at)}</span>}
            </div>
            <p class="edit-version-text">{message.deleted_at ? 'This message was deleted.' : message.content}</p>
          </li>
        </ol>
      )}
      <div class="modal-actions">
        <button type="button" class="btn" onClick={onClose}>Close</button>
      </div>
    </Modal>
  );
}
