import type { User } from '../types';
import type { PendingMessage, PendingUpload, Store } from '../store';
import { Markdown } from '../markdown';
import { humanSize } from '../files';
import { Icon } from './Icon';

export function PendingItem({ p, me, store }: { p: PendingMessage; me: User; store: Store }) {
  return (
    <div class="msg-row">
    <div class={p.state === 'failed' ? 'msg mine pending failed' : 'msg mine pending'}>
      <div class="msg-main">
        <div class="bubble">
          <Markdown text={p.poll ? `Poll: ${p.poll.question}` : p.content} opts={{ mentions: new Set(), me: me.username.toLowerCase() }} />
        </div>
        <div class="pending-state">
          {p.state === 'sending' ? (
            <span>Sending…</span>
          ) : (
            <span role="alert">
              Not sent{p.error ? `: ${p.error}` : ''}.{' '}
              <button type="button" class="link-btn" onClick={() => store.retry(p.room_id, p.client_id)}>Retry</button>{' '}
              <button type="button" class="link-btn" onClick={() => store.discard(p.room_id, p.client_id)}>Discard</button>
            </span>
          )}
        </div>
      </div>
    </div>
    </div>
  );
}

/** A file being uploaded: name, size, a progress bar and a cancel button. */
export function UploadItem({ u, store }: { u: PendingUpload; store: Store }) {
  const pct = u.size > 0 ? Math.min(100, Math.round((u.loaded / u.size) * 100)) : 100;
  const processing = u.phase === 'processing';
  const label = `Uploading ${u.name}`;
  return (
    <div class="msg-row">
      <div class="msg mine pending upload" data-upload={u.client_id} role="group" aria-label={label}>
        <div class="msg-main">
          <div class="upload-card">
            <span class="file-icon" aria-hidden="true"><Icon name="paperclip" size={20} /></span>
            <span class="file-text">
              <span class="file-name" title={u.name}>{u.name}</span>
              <span class="att-meta">
                {processing ? `${humanSize(u.size)} · processing…` : `${humanSize(u.loaded)} of ${humanSize(u.size)} · ${pct}%`}
              </span>
              <span class="progress" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={processing ? 100 : pct}
                aria-valuetext={processing ? 'Processing' : `${pct}%`}>
                <span class={processing ? 'progress-bar busy' : 'progress-bar'} style={{ width: `${processing ? 100 : pct}%` }} />
              </span>
            </span>
            <button type="button" class="icon-btn small" aria-label={`Cancel upload of ${u.name}`} title="Cancel upload"
              onClick={() => store.cancelUpload(u.room_id, u.client_id)}><Icon name="close" size={14} /></button>
          </div>
          {u.caption && (
            <div class="bubble">
              <Markdown text={u.caption} opts={{ mentions: new Set(), me: '' }} />
            </div>
          )}
        </div>
      </div>
    </div>
  );
}
