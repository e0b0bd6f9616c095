// A native <dialog> opened modally: focus is trapped, Esc closes, the backdrop click closes.
import type { ComponentChildren } from 'preact';
import { Icon } from './Icon';
import { useEffect, useRef } from 'preact/hooks';

export function Modal({ title, onClose, children, wide }: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const ref = useRef<HTMLDialogElement>(null);
  const closeRef = useRef(onClose);
  closeRef.current = onClose;
  useEffect(() => {
    const d = ref.current;
    if (!d) return;
    const opener = document.activeElement as HTMLElement | null;
    if (!d.open) d.showModal();
    const onCancel = (e: Event) => {
      e.preventDefault();
      closeRef.current();
    };
    d.addEventListener('cancel', onCancel);
    return () => {
      d.removeEventListener('cancel', onCancel);
      if (d.open) d.close();
      opener?.focus?.();
    };
  }, []);
  const titleId = 'dlg-' + title.replace(/\W+/g, '-').toLowerCase();
  return (
    <dialog ref={ref} class={wide ? 'modal wide' : 'modal'} aria-labelledby={titleId}
      onClick={(e) => { if (e.target === ref.current) closeRef.current(); }}>
      <div class="modal-inner">
        <div class="modal-head">
          <h2 id={titleId}>{title}</h2>
          <button type="button" class="icon-btn" aria-label="Close" onClick={() => closeRef.current()}><Icon name="close" size={16} /></button>
        </div>
        {children}
      </div>
    </dialog>
  );
}
