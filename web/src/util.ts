import type { Id, Message, User } from './types';
import { plainPreview } from './markdown';
import { attachmentLabel } from './files';

export function displayName(u: User | null | undefined): string {
  if (!u) return 'System';
  return u.display_name?.trim() || u.username;
}

export function initials(u: User | null | undefined): string {
  // Letters and digits only, so punctuation in a name never shows up as an "initial".
  const words = displayName(u).split(/[^\p{L}\p{N}]+/u).filter(Boolean);
  if (words.length === 0) return '?';
  const first = (w: string) => Array.from(w)[0] ?? '';
  const out = words.length > 1 ? first(words[0]) + first(words[words.length - 1]) : Array.from(words[0]).slice(0, 2).join('');
  return out.toUpperCase();
}

// White text on each of these passes WCAG AA (≥ 4.5:1).
const AVATAR_COLORS = ['#b91c1c', '#c2410c', '#a16207', '#15803d', '#0f766e', '#1d4ed8', '#6d28d9', '#be185d', '#4d7c0f', '#0e7490'];

export function avatarColor(id: Id | null | undefined): string {
  const s = String(id ?? 0);
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) >>> 0;
  return AVATAR_COLORS[h % AVATAR_COLORS.length];
}

export function parseTime(s: string | null | undefined): Date | null {
  if (!s) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function timeOf(s: string): string {
  const d = parseTime(s);
  return d ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
}

export function fullTime(s: string | null | undefined): string {
  const d = parseTime(s);
  return d ? d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : '';
}

export function dayKey(s: string): string {
  const d = parseTime(s);
  return d ? `${d.getFullYear()}-${d.getMonth()}-${d.getDate()}` : '';
}

export function dayLabel(s: string): string {
  const d = parseTime(s);
  if (!d) return '';
  const today = new Date();
  const y = new Date();
  y.setDate(today.getDate() - 1);
  const same = (a: Date, b: Date) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();
  if (same(d, today)) return 'Today';
  if (same(d, y)) return 'Yesterday';
  return d.toLocaleDateString([], { weekday: 'long', month: 'long', day: 'numeric', year: d.getFullYear() === today.getFullYear() ? undefined : 'numeric' });
}

export function shortAgo(s: string | null | undefined): string {
  const d = parseTime(s);
  if (!d) return '';
  const diff = (Date.now() - d.getTime()) / 1000;
  if (diff < 60) return 'now';
  if (diff < 3600) return `${Math.floor(diff / 60)}m`;
  if (diff < 86400) return `${Math.floor(diff / 3600)}h`;
  return d.toLocaleDateString([], { month: 'short', day: 'numeric' });
}

export function classes(...names: (string | false | null | undefined)[]): string {
  return names.filter(Boolean).join(' ');
}

/** One-line preview of a message: its text, or what it shares when it has no text. */
export function messagePreview(m: Pick<Message, 'content' | 'attachments'>, max = 120): string {
  const text = plainPreview(m.content, max);
  if (text) return text;
  const a = m.attachments?.[0];
  if (!a) return '';
  // The file name as it is: no markdown stripping (my_notes.txt keeps its underscore).
  const label = attachmentLabel(a) + (m.attachments.length > 1 ? ` (+${m.attachments.length - 1})` : '');
  return label.length > max ? label.slice(0, max - 1) + '…' : label;
}

/** "5 minutes", "1 hour", "2 days", "1 week". */
export function humanDuration(seconds: number): string {
  const units: [number, string][] = [[604800, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']];
  for (const [n, name] of units) {
    if (seconds >= n && seconds % n === 0) {
      const v = seconds / n;
      return `${v} ${name}${v === 1 ? '' : 's'}`;
    }
  }
  for (const [n, name] of units) {
    if (seconds >= n) {
      const v = Math.round(seconds / n);
      return `about ${v} ${name}${v === 1 ? '' : 's'}`;
    }
  }
  return `${seconds} seconds`;
}

/** A time of day when it is today ("14:05"), else date and time. */
export function untilLabel(s: string): string {
  const d = parseTime(s);
  if (!d) return '';
  const now = new Date();
  const today = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return today ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : d.toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' });
}
