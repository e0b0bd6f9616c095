import { useEffect, useRef } from 'preact/hooks';

export const QUICK_EMOJI = ['❤️', '👍', '😂', '🎉', '😮', '😢', '🙏', '🔥', '👀', '✅', '👏', '🚀'];

/** A small popover of emoji buttons; arrow keys move, Esc or a click outside closes. */
export function EmojiPicker({ onPick, onClose, label = 'Add a reaction' }: { onPick: (e: string) => void; onClose: () => void; label?: string }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    ref.current?.querySelector<HTMLButtonElement>('button')?.focus();
    const onDown = (e: MouseEvent) => {
      if (ref.current && !ref.current.contains(e.target as Node)) onClose();
    };
    document.addEventListener('mousedown', onDown, true);
    return () => document.removeEventListener('mousedown', onDown, true);
  }, []);
  const onKey = (e: KeyboardEvent) => {
    const buttons = Array.from(ref.current?.querySelectorAll<HTMLButtonElement>('button') ?? []);
    const i = buttons.indexOf(document.activeElement as HTMLButtonElement);
    if (e.key === 'Escape') {
      e.preventDefault();
      e.stopPropagation();
      onClose();
    } else if (e.key === 'ArrowRight' || e.key === 'ArrowDown') {
      e.preventDefault();
      buttons[(i + 1) % buttons.length]?.focus();
    } else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') {
      e.preventDefault();
      buttons[(i - 1 + buttons.length) % buttons.length]?.focus();
    }
  };
  return (
    <div class="emoji-picker" role="dialog" aria-label={label} ref={ref} onKeyDown={onKey}>
      {QUICK_EMOJI.map((e) => (
        <button key={e} type="button" class="emoji-btn" aria-label={`React with ${e}`} onClick={() => onPick(e)}>
          {e}
        </button>
      ))}
    </div>
  );
}
