import type { User } from '../types';
import type { PendingMessage, Store } from '../store';
import { Markdown } from '../markdown';

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
