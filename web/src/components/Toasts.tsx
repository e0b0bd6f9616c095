import type { Store, Toast } from '../store';
import { Icon } from './Icon';

export function Toasts({ toasts, store, onOpen }: { toasts: Toast[]; store: Store; onOpen: (t: Toast) => void }) {
  return (
    <div class="toasts" role="status" aria-live="polite">
      {toasts.map((t) => (
        <div key={t.id} class={t.kind === 'error' ? 'toast error' : 'toast'}>
          <span class="toast-text">{t.text}</span>
          {t.roomId !== undefined && <button type="button" class="link-btn" onClick={() => { onOpen(t); store.dismissToast(t.id); }}>Open</button>}
          <button type="button" class="icon-btn small" aria-label="Dismiss" onClick={() => store.dismissToast(t.id)}><Icon name="close" size={16} /></button>
        </div>
      ))}
    </div>
  );
}
