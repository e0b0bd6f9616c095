// What the server takes as an upload (POST /api/chat/rooms/:id/upload), checked before a
// byte is sent so the user hears at once why a file is refused. The server's answer stays
// the authority: it also checks that the content matches the extension.
import type { Attachment } from './types';

export const MAX_UPLOAD_BYTES = 50 * 1024 * 1024;

const CATEGORIES: Record<string, 'image' | 'file' | 'audio' | 'video'> = {
  png: 'image', jpg: 'image', jpeg: 'image', gif: 'image', webp: 'image',
  pdf: 'file', doc: 'file', docx: 'file', txt: 'file', rtf: 'file', odt: 'file',
  mp3: 'audio', wav: 'audio', ogg: 'audio', m4a: 'audio',
  mp4: 'video', webm: 'video', avi: 'video', mov: 'video',
  zip: 'file', rar: 'file', '7z': 'file', tar: 'file', gz: 'file',
};

export const ALLOWED_EXTENSIONS = Object.keys(CATEGORIES);

/** For `<input type=file accept>`. */
export const ACCEPT = ALLOWED_EXTENSIONS.map((e) => '.' + e).join(',');

export function extensionOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 && dot < name.length - 1 ? name.slice(dot + 1).toLowerCase() : '';
}

export function categoryOf(name: string): 'image' | 'file' | 'audio' | 'video' | null {
  return CATEGORIES[extensionOf(name)] ?? null;
}

/** Why the server would refuse this file in this room, worded like the server; null if it looks fine. */
export function refusal(file: { name: string; size: number }, room: { allow_files: boolean; allow_voice: boolean }): string | null {
  if (!room.allow_files) return 'this room does not take files';
  const ext = extensionOf(file.name);
  const allowed = ALLOWED_EXTENSIONS.join(', ');
  if (!ext) return `a file without an extension cannot be uploaded; allowed: ${allowed}`;
  const category = CATEGORIES[ext];
  if (!category) return `.${ext} files cannot be uploaded; allowed: ${allowed}`;
  if (file.size > MAX_UPLOAD_BYTES) return `files are limited to ${humanSize(MAX_UPLOAD_BYTES)} (this one is ${humanSize(file.size)})`;
  if (file.size === 0) return 'the file is empty';
  if (category === 'audio' && !room.allow_voice) return 'this room does not take audio files';
  return null;
}

/** 1234567 → "1.2 MB" (binary multiples, the way the limit is set). */
export function humanSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '';
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = bytes / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  const text = v >= 100 || Number.isInteger(v) ? Math.round(v).toString() : v.toFixed(1).replace(/\.0$/, '');
  return `${text} ${units[i]}`;
}

/** Expired now, by the server's flag or because `expires_at` has passed since it was sent. */
export function isExpired(a: Attachment, now = Date.now()): boolean {
  if (a.expired) return true;
  if (!a.expires_at) return false;
  const t = Date.parse(a.expires_at);
  return Number.isFinite(t) && t <= now;
}

export function attachmentLabel(a: Pick<Attachment, 'category' | 'name'>): string {
  const kind = a.category === 'image' ? 'Image' : a.category === 'audio' ? 'Audio' : a.category === 'video' ? 'Video' : 'File';
  return `${kind}: ${a.name}`;
}
