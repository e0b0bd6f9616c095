// Voice messages recorded in the browser (MediaRecorder), sent as an audio upload through
// the same path as any file (store.upload → POST …/upload). The recording's container
// must be one the server takes as *audio* (SPEC §6: mp3 wav ogg m4a): Firefox records
// Ogg/Opus (.ogg), Chromium 126+ and Safari record MP4 audio (.m4a, an ISO BMFF `ftyp`
// file). WebM (what older Chromium records) is a video extension on the server, so it is
// not offered: there the record button does not show.
import { useEffect, useRef, useState } from 'preact/hooks';

export interface VoiceFormat {
  /** What MediaRecorder is asked for. */
  mime: string;
  /** The file's type and extension on upload. */
  type: string;
  ext: string;
}

const FORMATS: VoiceFormat[] = [
  { mime: 'audio/ogg;codecs=opus', type: 'audio/ogg', ext: 'ogg' },
  { mime: 'audio/mp4', type: 'audio/mp4', ext: 'm4a' },
];

/** Longest voice message; the recording stops and is sent by itself then. */
export const MAX_VOICE_SECONDS = 300;

export function voiceFormat(): VoiceFormat | null {
  if (typeof window === 'undefined' || typeof window.MediaRecorder === 'undefined') return null;
  if (!navigator.mediaDevices || typeof navigator.mediaDevices.getUserMedia !== 'function') return null;
  return FORMATS.find((f) => {
    try {
      return MediaRecorder.isTypeSupported(f.mime);
    } catch {
      return false;
    }
  }) ?? null;
}

export function canRecordVoice(): boolean {
  return voiceFormat() !== null;
}

export function voiceFileName(ext: string, at = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `voice-message-${at.getFullYear()}-${p(at.getMonth() + 1)}-${p(at.getDate())}-${p(at.getHours())}${p(at.getMinutes())}${p(at.getSeconds())}.${ext}`;
}

export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export type RecorderPhase = 'idle' | 'starting' | 'recording' | 'finishing';

interface Session {
  stream: MediaStream;
  recorder: MediaRecorder;
  chunks: Blob[];
  startedAt: number;
  keep: boolean;
  timer: number;
}

/**
 * Recording state for the composer. `start` asks for the microphone (from the click);
 * `finish` stops and hands the file to `onFile`; `cancel` throws the recording away.
 * The microphone is released in every case, also when the composer goes away.
 */
export function useVoiceRecorder(onFile: (file: File) => void, onError: (message: string) => void) {
  const [phase, setPhase] = useState<RecorderPhase>('idle');
  const [elapsed, setElapsed] = useState(0);
  const session = useRef<Session | null>(null);
  const cbs = useRef({ onFile, onError });
  cbs.current = { onFile, onError };

  const release = (s: Session) => {
    window.clearInterval(s.timer);
    for (const t of s.stream.getTracks()) t.stop();
  };

  const start = async () => {
    if (session.current || phase !== 'idle') return;
    const format = voiceFormat();
    if (!format) {
      cbs.current.onError('This browser cannot record voice messages in a format the server takes (Ogg or MP4 audio).');
      return;
    }
    setPhase('starting');
    setElapsed(0);
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (e) {
      setPhase('idle');
      const name = (e as { name?: string }).name;
      cbs.current.onError(name === 'NotAllowedError' || name === 'SecurityError'
        ? 'Microphone access was refused: allow it in the browser to record a voice message.'
        : name === 'NotFoundError' ? 'No microphone was found.' : `The microphone could not be opened (${(e as Error).message || name}).`);
      return;
    }
    let recorder: MediaRecorder;
    try {
      recorder = new MediaRecorder(stream, { mimeType: format.mime });
    } catch (e) {
      for (const t of stream.getTracks()) t.stop();
      setPhase('idle');
      cbs.current.onError(`Recording could not start (${(e as Error).message}).`);
      return;
    }
    const s: Session = { stream, recorder, chunks: [], startedAt: Date.now(), keep: false, timer: 0 };
    session.current = s;
    recorder.ondataavailable = (e) => {
      if (e.data && e.data.size > 0) s.chunks.push(e.data);
    };
    recorder.onstop = () => {
      release(s);
      if (session.current === s) session.current = null;
      setPhase('idle');
      setElapsed(0);
      if (!s.keep) return;
      const blob = new Blob(s.chunks, { type: format.type });
      if (blob.size === 0) {
        cbs.current.onError('Nothing was recorded.');
        return;
      }
      cbs.current.onFile(new File([blob], voiceFileName(format.ext), { type: format.type }));
    };
    recorder.onerror = () => {
      s.keep = false;
      cbs.current.onError('Recording stopped because of an error.');
      if (recorder.state !== 'inactive') recorder.stop();
      else recorder.onstop?.(new Event('stop'));
    };
    s.timer = window.setInterval(() => {
      const secs = (Date.now() - s.startedAt) / 1000;
      setElapsed(secs);
      if (secs >= MAX_VOICE_SECONDS) finish();
    }, 250);
    recorder.start();
    setPhase('recording');
  };

  const stop = (keep: boolean) => {
    const s = session.current;
    if (!s) return;
    s.keep = keep;
    if (s.recorder.state !== 'inactive') {
      setPhase('finishing');
      s.recorder.stop();
    } else {
      release(s);
      session.current = null;
      setPhase('idle');
    }
  };
  const finish = () => stop(true);
  const cancel = () => stop(false);

  // Leaving the room (or the page) mid-recording throws it away and frees the microphone.
  useEffect(() => () => {
    const s = session.current;
    if (!s) return;
    s.keep = false;
    session.current = null;
    try {
      if (s.recorder.state !== 'inactive') s.recorder.stop();
    } finally {
      release(s);
    }
  }, []);

  return { phase, elapsed, start: () => void start(), finish, cancel };
}
