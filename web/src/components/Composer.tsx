// The message composer: auto-growing textarea, Enter sends, Shift+Enter adds a line,
// Up (in an empty composer) edits your last message, Esc cancels a reply, @ opens the
// mention autocomplete. Drafts are kept per room in localStorage. With `onAttach`, a
// paperclip button (and pasting an image) shares files, the typed text as their caption.
// With `onTyping`, typing is announced: a start on input (renewed at most every 2 s), a
// stop on sending, on emptying the box, after 4 s without a keystroke and on leaving.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { Message, Participant } from '../types';
import { displayName, messagePreview } from '../util';
import { ACCEPT } from '../files';
import { clock, MAX_VOICE_SECONDS, useVoiceRecorder } from '../voice';
import { Avatar } from './Avatar';
import { Icon } from './Icon';

const DRAFT_PREFIX = 'eventsync.draft.';
const MAX_LEN = 4000;
const TYPING_RENEW_MS = 2000;
const TYPING_IDLE_MS = 4000;

export function loadDraft(roomId: string | number): string {
  try {
    return localStorage.getItem(DRAFT_PREFIX + roomId) ?? '';
  } catch {
    return '';
  }
}

function saveDraft(roomId: string | number, text: string): void {
  try {
    if (text) localStorage.setItem(DRAFT_PREFIX + roomId, text);
    else localStorage.removeItem(DRAFT_PREFIX + roomId);
  } catch {
    /* storage full or disabled */
  }
}

export interface ComposerProps {
  draftKey: string;
  roomName: string;
  participants: Participant[];
  replyTo: Message | null;
  disabled?: string | null;
  placeholder?: string;
  onCancelReply: () => void;
  onSend: (text: string) => void;
  onEditLast?: () => boolean;
  onPoll?: () => void;
  autoFocus?: boolean;
  idPrefix: string;
  /**
   * Shares files with `caption` (the composer's text); returns whether the caption was
   * used (the composer then empties). Without it there is no attach button.
   */
  onAttach?: (files: File[], caption: string) => boolean;
  /** Filled with a function that attaches files the same way (drops on the message list). */
  attachRef?: { current: ((files: File[]) => void) | null };
  /** Typing started (true) or stopped (false) in this composer's room. */
  onTyping?: (typing: boolean) => void;
  /** Event rooms, for organizers and moderators: send the next messages as announcements. */
  announce?: { on: boolean; toggle: () => void };
  /** Shown above the box while it is disabled for a reason the user should read (a mute). */
  notice?: string | null;
  /** Asks the server for participants by name prefix (when `participants` is only part of the room). */
  searchPeople?: (q: string) => void;
  /** Rooms that take voice messages: a record button; the finished recording is handed over as a file. */
  onVoice?: (file: File) => void;
  onVoiceError?: (message: string) => void;
}

export function Composer(p: ComposerProps) {
  const [text, setText] = useState(() => loadDraft(p.draftKey));
  const [mention, setMention] = useState<{ start: number; query: string } | null>(null);
  const [sel, setSel] = useState(0);
  const ref = useRef<HTMLTextAreaElement>(null);
  const voice = useVoiceRecorder((f) => p.onVoice?.(f), (msg) => p.onVoiceError?.(msg));
  const recording = voice.phase !== 'idle';
  const stopBtn = useRef<HTMLButtonElement>(null);
  // Where the caret goes once a picked mention is rendered. Applied in a layout effect,
  // before the next keystroke is handled, so fast typing after a pick is never reordered.
  const caretAfterRender = useRef<number | null>(null);
  // Typing: whom we told we are typing (the callback of the room it was), when, and the idle timer.
  const typing = useRef<{ cb: ((t: boolean) => void) | null; last: number; idle: number | null }>({ cb: null, last: 0, idle: null });

  const stopTyping = () => {
    const t = typing.current;
    if (t.idle !== null) window.clearTimeout(t.idle);
    t.idle = null;
    if (t.cb) t.cb(false);
    t.cb = null;
    t.last = 0;
  };

  const noteTyping = (value: string) => {
    if (!p.onTyping || p.disabled) return;
    if (!value.trim()) {
      stopTyping();
      return;
    }
    const t = typing.current;
    const now = Date.now();
    if (!t.cb || now - t.last >= TYPING_RENEW_MS) {
      t.cb = p.onTyping;
      t.last = now;
      p.onTyping(true);
    }
    if (t.idle !== null) window.clearTimeout(t.idle);
    t.idle = window.setTimeout(stopTyping, TYPING_IDLE_MS);
  };

  useEffect(() => {
    setText(loadDraft(p.draftKey));
    setMention(null);
    if (p.autoFocus !== false && window.matchMedia('(min-width: 700px)').matches) ref.current?.focus();
    // Switching rooms (or closing this composer) ends typing in the room we left, and
    // throws away a recording that was meant for it.
    return () => {
      stopTyping();
      voice.cancel();
    };
  }, [p.draftKey]);

  useEffect(() => {
    if (p.disabled) {
      stopTyping();
      voice.cancel();
    }
  }, [p.disabled]);

  useEffect(() => {
    if (!p.onVoice) voice.cancel();
  }, [!!p.onVoice]);

  // Focus follows the recording: onto Stop while it runs, back to the text box after.
  const wasRecording = useRef(false);
  useEffect(() => {
    if (voice.phase === 'recording') stopBtn.current?.focus();
    else if (voice.phase === 'idle' && wasRecording.current) ref.current?.focus();
    wasRecording.current = voice.phase !== 'idle';
  }, [voice.phase]);

  // Big rooms: the list we hold is partial, so ask the server for names with this prefix.
  useEffect(() => {
    if (!mention || !p.searchPeople || !mention.query) return;
    const q = mention.query;
    const t = window.setTimeout(() => p.searchPeople?.(q), 150);
    return () => window.clearTimeout(t);
  }, [mention?.query, !!p.searchPeople]);

  useEffect(() => {
    if (p.replyTo) ref.current?.focus();
  }, [p.replyTo]);

  useLayoutEffect(() => {
    const pos = caretAfterRender.current;
    caretAfterRender.current = null;
    if (pos !== null && ref.current) {
      ref.current.focus();
      ref.current.setSelectionRange(pos, pos);
    }
  }, [text]);

  useEffect(() => {
    const t = ref.current;
    if (!t) return;
    t.style.height = 'auto';
    // An empty box keeps one line, however long its placeholder is.
    if (text) t.style.height = Math.min(t.scrollHeight + 2, 200) + 'px';
  }, [text]);

  const matches = useMemo(() => {
    if (!mention) return [];
    const q = mention.query.toLowerCase();
    return p.participants
      .filter((x) => x.user.username.toLowerCase().startsWith(q) || displayName(x.user).toLowerCase().startsWith(q))
      .slice(0, 8);
  }, [mention, p.participants]);

  const update = (value: string, caret: number) => {
    setText(value);
    saveDraft(p.draftKey, value);
    noteTyping(value);
    const before = value.slice(0, caret);
    const m = /(^|[\s(])@([A-Za-z0-9_.-]{0,32})$/.exec(before);
    if (m) {
      setMention({ start: caret - m[2].length - 1, query: m[2] });
      setSel(0);
    } else setMention(null);
  };

  const pick = (x: Participant) => {
    if (!mention) return;
    const t = ref.current;
    const caret = t?.selectionStart ?? text.length;
    const next = text.slice(0, mention.start) + '@' + x.user.username + ' ' + text.slice(caret);
    const pos = mention.start + x.user.username.length + 2;
    setText(next);
    saveDraft(p.draftKey, next);
    setMention(null);
    caretAfterRender.current = pos;
  };

  const fileInput = useRef<HTMLInputElement>(null);
  const attach = (files: File[]) => {
    if (!p.onAttach || p.disabled || files.length === 0) return;
    const caption = text.replace(/^\s*\n|\s+$/g, '');
    if (p.onAttach(files, caption) && caption) {
      stopTyping();
      setText('');
      saveDraft(p.draftKey, '');
      setMention(null);
    }
  };
  if (p.attachRef) p.attachRef.current = p.onAttach && !p.disabled ? attach : null;
  useEffect(() => () => {
    if (p.attachRef) p.attachRef.current = null;
  }, []);

  const onPaste = (e: ClipboardEvent) => {
    const files = Array.from(e.clipboardData?.files ?? []);
    // Text with a picture of it (copied from an office app, say) pastes as text.
    if (!p.onAttach || files.length === 0 || e.clipboardData?.types.includes('text/plain')) return;
    e.preventDefault();
    // Pasted screenshots come as "image.png"; give them a name worth keeping.
    const stamp = new Date().toISOString().slice(0, 19).replace(/[T:]/g, '-');
    attach(files.map((f, i) => (/^image\.(png|jpe?g|gif|webp)$/i.test(f.name)
      ? new File([f], `pasted-${stamp}${files.length > 1 ? '-' + (i + 1) : ''}.${f.name.split('.').pop()}`, { type: f.type })
      : f)));
  };

  const send = () => {
    const content = text.trim();
    if (!content || p.disabled) return;
    if (content.length > MAX_LEN) return;
    stopTyping();
    p.onSend(text.replace(/^\s*\n|\s+$/g, ''));
    setText('');
    saveDraft(p.draftKey, '');
    setMention(null);
  };

  const onKeyDown = (e: KeyboardEvent) => {
    if (mention && matches.length > 0) {
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        setSel((s) => (s + 1) % matches.length);
        return;
      }
      if (e.key === 'ArrowUp') {
        e.preventDefault();
        setSel((s) => (s - 1 + matches.length) % matches.length);
        return;
      }
      if (e.key === 'Enter' || e.key === 'Tab') {
        e.preventDefault();
        pick(matches[Math.min(sel, matches.length - 1)]);
        return;
      }
      if (e.key === 'Escape') {
        e.preventDefault();
        e.stopPropagation();
        setMention(null);
        return;
      }
    }
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      send();
    } else if (e.key === 'ArrowUp' && text === '' && p.onEditLast) {
      if (p.onEditLast()) e.preventDefault();
    } else if (e.key === 'Escape' && p.replyTo) {
      e.preventDefault();
      e.stopPropagation();
      p.onCancelReply();
    }
  };

  const listId = `${p.idPrefix}-mentions`;
  const open = !!mention && matches.length > 0;
  const tooLong = text.length > MAX_LEN;
  return (
    <div class="composer">
      {p.replyTo && (
        <div class="replying">
          <span class="reply-bar" aria-hidden="true" />
          <span class="replying-text">
            Replying to <strong>{displayName(p.replyTo.sender)}</strong>: {messagePreview(p.replyTo, 80)}
          </span>
          <button type="button" class="icon-btn small" aria-label="Cancel reply" onClick={p.onCancelReply}><Icon name="close" size={14} /></button>
        </div>
      )}
      {open && (
        <ul class="mention-list" role="listbox" id={listId} aria-label="Mention someone">
          {matches.map((x, i) => (
            <li key={String(x.user.id)} id={`${listId}-${i}`} role="option" aria-selected={i === sel} class={i === sel ? 'sel' : ''}
              onMouseDown={(e) => { e.preventDefault(); pick(x); }}>
              <Avatar user={x.user} size={24} />
              <span class="mention-name">{displayName(x.user)}</span>
              <span class="mention-user">@{x.user.username}</span>
            </li>
          ))}
        </ul>
      )}
      {p.notice && <p class="composer-notice" role="status"><Icon name="clock" size={14} />{p.notice}</p>}
      {recording && (
        <div class="composer-row recording" role="group" aria-label="Recording a voice message"
          onKeyDown={(e) => { if (e.key === 'Escape') { e.preventDefault(); e.stopPropagation(); voice.cancel(); } }}>
          <span class="rec-dot" aria-hidden="true" />
          <span class="rec-label">
            {voice.phase === 'starting' ? 'Opening the microphone…' : voice.phase === 'finishing' ? 'Finishing…' : 'Recording'}
          </span>
          <span class="rec-time" role="timer" aria-label={`Recorded ${clock(voice.elapsed)} of at most ${clock(MAX_VOICE_SECONDS)}`}>{clock(voice.elapsed)}</span>
          <span class="rec-spacer" />
          <button type="button" class="btn" onClick={voice.cancel} disabled={voice.phase === 'finishing'}>Cancel</button>
          <button ref={stopBtn} type="button" class="btn primary" onClick={voice.finish} disabled={voice.phase !== 'recording'}
            aria-label="Stop and send voice message"><Icon name="stop" size={14} />Send</button>
        </div>
      )}
      <div class="composer-row" hidden={recording}>
        {p.onAttach && (
          <>
            <button type="button" class="icon-btn" aria-label="Attach a file" title="Attach a file (or drop or paste it here)" disabled={!!p.disabled}
              onClick={() => fileInput.current?.click()}><Icon name="paperclip" size={20} /></button>
            <input ref={fileInput} type="file" multiple accept={ACCEPT} class="file-input" hidden tabIndex={-1} aria-hidden="true"
              disabled={!!p.disabled}
              onChange={(e) => {
                const input = e.currentTarget;
                const files = Array.from(input.files ?? []);
                input.value = ''; // picking the same file again fires change again
                attach(files);
              }} />
          </>
        )}
        {p.onVoice && (
          <button type="button" class="icon-btn" aria-label="Record a voice message" title="Record a voice message" disabled={!!p.disabled || recording}
            onClick={voice.start}><Icon name="mic" size={20} /></button>
        )}
        {p.onPoll && (
          <button type="button" class="icon-btn" aria-label="Create a poll" title="Create a poll" disabled={!!p.disabled} onClick={p.onPoll}><Icon name="poll" size={20} /></button>
        )}
        {p.announce && (
          <button type="button" class={p.announce.on ? 'icon-btn toggled' : 'icon-btn'} aria-pressed={p.announce.on} disabled={!!p.disabled}
            aria-label="Send as announcement" title="Send as an announcement (highlighted for everyone)" onClick={p.announce.toggle}>
            <Icon name="megaphone" size={20} />
          </button>
        )}
        <textarea
          ref={ref}
          id={`${p.idPrefix}-input`}
          rows={1}
          value={text}
          disabled={!!p.disabled}
          placeholder={p.disabled ?? p.placeholder ?? (p.announce?.on ? `Announcement to #${p.roomName}` : `Message #${p.roomName}`)}
          aria-label={p.placeholder ?? `Message #${p.roomName}`}
          role="combobox"
          aria-autocomplete="list"
          aria-expanded={open}
          aria-controls={open ? listId : undefined}
          aria-activedescendant={open ? `${listId}-${Math.min(sel, matches.length - 1)}` : undefined}
          aria-describedby={`${p.idPrefix}-hint`}
          onInput={(e) => update(e.currentTarget.value, e.currentTarget.selectionStart ?? e.currentTarget.value.length)}
          onKeyDown={onKeyDown}
          onPaste={onPaste}
          onBlur={() => setTimeout(() => setMention(null), 150)}
        />
        <button type="button" class="btn primary send" onClick={send} disabled={!!p.disabled || !text.trim() || tooLong} aria-label="Send message">
          Send
        </button>
      </div>
      <p id={`${p.idPrefix}-hint`} class={tooLong ? 'composer-hint form-error' : 'composer-hint'}>
        {tooLong ? `Too long: ${text.length}/${MAX_LEN} characters.` : 'Enter to send · Shift+Enter for a new line · **bold** _italic_ `code`'}
      </p>
    </div>
  );
}
