// "Alice is typing…" below the message list, with animated dots. The text sits in a
// polite live region, so screen readers hear who started typing without losing their place.
import type { TypingUser } from '../store';
import { displayName } from '../util';

export function typingText(list: TypingUser[]): string {
  const names = list.map((t) => displayName(t.user));
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return 'Several people are typing…';
}

export function TypingIndicator({ typing }: { typing: TypingUser[] }) {
  const text = typingText(typing);
  return (
    <div class="typing-row" aria-live="polite" aria-atomic="true">
      {text && (
        <span class="typing">
          <span class="typing-dots" aria-hidden="true"><span /><span /><span /></span>
          <span class="typing-text">{text}</span>
        </span>
      )}
    </div>
  );
}
