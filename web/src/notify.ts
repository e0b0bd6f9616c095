// Browser notifications (while the tab is hidden, once the user allowed them) and the
// short sound for new messages, generated with WebAudio (no audio file to load).
//
// Permission is only ever asked from a click (enableDesktop), never on page load. The
// user's own choice (on/off) is kept in localStorage apart from the browser permission,
// so turning notifications off here needs no trip to the browser settings.

const KEY = 'eventsync.desktopNotifications';

export type DesktopState = 'unsupported' | 'denied' | 'off' | 'on';

export function desktopSupported(): boolean {
  return typeof window !== 'undefined' && 'Notification' in window;
}

function wanted(): boolean {
  try {
    return localStorage.getItem(KEY) === 'on';
  } catch {
    return false;
  }
}

function remember(on: boolean): void {
  try {
    if (on) localStorage.setItem(KEY, 'on');
    else localStorage.removeItem(KEY);
  } catch {
    /* storage disabled: the choice lasts for this page */
  }
}

export function desktopState(): DesktopState {
  if (!desktopSupported()) return 'unsupported';
  if (Notification.permission === 'denied') return 'denied';
  return Notification.permission === 'granted' && wanted() ? 'on' : 'off';
}

/** Asks the browser (call from a click or key press) and turns notifications on if allowed. */
export async function enableDesktop(): Promise<DesktopState> {
  if (!desktopSupported()) return 'unsupported';
  let permission: NotificationPermission = Notification.permission;
  if (permission === 'default') {
    try {
      permission = await Notification.requestPermission();
    } catch {
      permission = Notification.permission;
    }
  }
  remember(permission === 'granted');
  return desktopState();
}

export function disableDesktop(): DesktopState {
  remember(false);
  return desktopState();
}

/** Shows a notification when the user turned them on; `onClick` focuses the page first. */
export function showDesktop(title: string, body: string, tag: string, onClick: () => void): boolean {
  if (desktopState() !== 'on') return false;
  try {
    const n = new Notification(title, { body, tag, silent: true });
    n.onclick = () => {
      window.focus();
      onClick();
      n.close();
    };
    return true;
  } catch {
    // Some browsers only allow notifications from a service worker.
    return false;
  }
}

// ---- sound ---------------------------------------------------------------------------

type AudioCtor = typeof AudioContext;
let ctx: AudioContext | null = null;
let lastChime = 0;

function audioCtor(): AudioCtor | null {
  const w = window as unknown as { AudioContext?: AudioCtor; webkitAudioContext?: AudioCtor };
  return w.AudioContext ?? w.webkitAudioContext ?? null;
}

function context(): AudioContext | null {
  if (ctx) return ctx;
  const C = audioCtor();
  if (!C) return null;
  try {
    ctx = new C();
  } catch {
    ctx = null;
  }
  return ctx;
}

/**
 * Browsers start audio suspended until the user interacts with the page: make (or wake)
 * the context on the first click or key press so later chimes can play.
 */
export function primeAudioOnGesture(): () => void {
  const wake = () => {
    const c = context();
    if (c && c.state === 'suspended') void c.resume().catch(() => {});
    if (c && c.state !== 'suspended') off();
  };
  const off = () => {
    window.removeEventListener('pointerdown', wake, true);
    window.removeEventListener('keydown', wake, true);
  };
  window.addEventListener('pointerdown', wake, true);
  window.addEventListener('keydown', wake, true);
  return off;
}

/** Two short soft notes (about 0.25 s); at most one chime per second. */
export function playChime(): boolean {
  const now = Date.now();
  if (now - lastChime < 1000) return false;
  const c = context();
  if (!c) return false;
  lastChime = now;
  if (c.state === 'suspended') void c.resume().catch(() => {});
  try {
    const t = c.currentTime + 0.01;
    const gain = c.createGain();
    gain.gain.setValueAtTime(0.0001, t);
    gain.gain.exponentialRampToValueAtTime(0.12, t + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.26);
    gain.connect(c.destination);
    const osc = c.createOscillator();
    osc.type = 'sine';
    osc.frequency.setValueAtTime(880, t);
    osc.frequency.setValueAtTime(1320, t + 0.09);
    osc.connect(gain);
    osc.start(t);
    osc.stop(t + 0.28);
    osc.onended = () => {
      osc.disconnect();
      gain.disconnect();
    };
    return true;
  } catch {
    return false;
  }
}
