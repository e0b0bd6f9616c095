// Browser test of voice messages: recording with MediaRecorder from Chromium's fake
// microphone (flags for this file's browser only), cancel, the upload as an audio
// attachment with a player in both windows, and rooms that do not take voice.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, launchBrowser, newPage, loginInUi, registerApi, api, uniqueName, screenshot,
} from './harness.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser({ args: ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function user(prefix, displayName) {
  const username = uniqueName(prefix);
  const { token, user: u } = await registerApi(stack.apiBase, username, displayName);
  const P = await newPage(browser);
  await P.context.grantPermissions(['microphone'], { origin: stack.uiBase });
  // Keeps every microphone stream the page opens, to check it is released.
  await P.context.addInitScript(() => {
    window.__streams = [];
    const md = navigator.mediaDevices;
    if (!md) return;
    const gum = md.getUserMedia.bind(md);
    md.getUserMedia = async (c) => {
      const s = await gum(c);
      window.__streams.push(s);
      return s;
    };
  });
  await loginInUi(P.page, stack.uiBase, username);
  return { ...P, username, token, id: u.id, displayName };
}

async function openRoom(page, room) {
  await page.goto(`${stack.uiBase}/chat?room=${room.id}`);
  await page.getByRole('heading', { level: 1, name: room.name }).waitFor();
  await page.getByRole('combobox', { name: /^Message #/ }).and(page.locator(':enabled')).waitFor();
}

const micReleased = (page) => page.waitForFunction(() => window.__streams.length > 0
  && window.__streams.every((s) => s.getTracks().every((t) => t.readyState === 'ended')));

test('a voice message is recorded, cancelled or sent as audio, and plays in both windows; rooms without voice have no record button', { timeout: 120000 }, async () => {
  const A = await user('singer', 'Sam Singer');
  const B = await user('listener', 'Lee Listener');
  const uploads = [];
  A.page.on('request', (r) => {
    if (r.method() === 'POST' && /\/upload$/.test(new URL(r.url()).pathname)) uploads.push(r.url());
  });
  try {
    const room = await api(stack.apiBase, A.token, 'POST', '/api/chat/rooms', { name: uniqueName('voice'), type: 'general', allow_voice: true });
    await api(stack.apiBase, B.token, 'POST', `/api/chat/rooms/${room.id}/join`);
    await openRoom(A.page, room);
    await openRoom(B.page, room);

    const record = A.page.getByRole('button', { name: 'Record a voice message' });
    const bar = A.page.getByRole('group', { name: 'Recording a voice message' });
    const timer = bar.getByRole('timer');

    // Cancel: the recording is thrown away, nothing is uploaded, the microphone is released.
    await record.click();
    await timer.filter({ hasText: '0:01' }).waitFor();
    assert.equal(await A.page.getByRole('combobox', { name: /^Message #/ }).isVisible(), false, 'the recorder takes the composer row');
    await bar.getByRole('button', { name: 'Cancel' }).click();
    await bar.waitFor({ state: 'detached' });
    await micReleased(A.page);
    assert.equal(uploads.length, 0, 'a cancelled recording is not uploaded');
    assert.equal(await A.page.locator('.msg.pending').count(), 0);

    // Esc cancels too.
    await record.click();
    await timer.filter({ hasText: '0:01' }).waitFor();
    await A.page.keyboard.press('Escape');
    await bar.waitFor({ state: 'detached' });
    assert.equal(uploads.length, 0);

    // Record about two seconds and send: an audio message with a player, in both windows.
    await record.click();
    await timer.filter({ hasText: '0:02' }).waitFor();
    await screenshot(A.page, 'voice-recording-desktop-light');
    await bar.getByRole('button', { name: 'Stop and send voice message' }).click();
    await bar.waitFor({ state: 'detached' });
    const player = (page) => page.locator('.messages .msg:not(.pending) audio[aria-label^="Audio: voice-message-"]');
    await player(A.page).waitFor({ timeout: 20000 });
    await player(B.page).waitFor({ timeout: 20000 });
    await micReleased(A.page);
    assert.equal(uploads.length, 1);
    const label = await player(B.page).getAttribute('aria-label');
    assert.match(label, /^Audio: voice-message-\d{4}-\d{2}-\d{2}-\d{6}\.(m4a|ogg)$/);

    // The server has it as an audio message; the player loads it.
    const { messages } = await api(stack.apiBase, B.token, 'GET', `/api/chat/rooms/${room.id}/messages?limit=5`);
    const voice = messages.find((m) => m.attachments?.[0]?.name?.startsWith('voice-message-'));
    assert.ok(voice, JSON.stringify(messages));
    assert.equal(voice.type, 'audio');
    assert.equal(voice.attachments[0].category, 'audio');
    assert.match(voice.attachments[0].mime, /^audio\/(mp4|ogg)/);
    assert.ok(voice.attachments[0].size > 1000, `recorded ${voice.attachments[0].size} bytes`);
    const loaded = await player(B.page).evaluate((el) => new Promise((resolve) => {
      el.addEventListener('loadedmetadata', () => resolve({ ok: true, duration: el.duration }), { once: true });
      el.addEventListener('error', () => resolve({ ok: false, error: el.error?.message ?? String(el.error?.code) }), { once: true });
      el.preload = 'metadata';
      el.load();
    }));
    assert.equal(loaded.ok, true, JSON.stringify(loaded));
    await screenshot(B.page, 'voice-message-desktop-light');

    // The owner turns voice off: the record button goes away live; the member never had a
    // way around it (the attach button stays, files are still allowed).
    await api(stack.apiBase, A.token, 'PATCH', `/api/chat/rooms/${room.id}`, { allow_voice: false });
    await record.waitFor({ state: 'detached' });
    await B.page.getByRole('button', { name: 'Record a voice message' }).waitFor({ state: 'detached' });
    assert.equal(await A.page.getByRole('button', { name: 'Attach a file' }).isVisible(), true);

    // A room created without voice has no record button at all.
    const quiet = await api(stack.apiBase, A.token, 'POST', '/api/chat/rooms', { name: uniqueName('novoice'), type: 'general', allow_voice: false });
    await openRoom(A.page, quiet);
    await A.page.getByRole('button', { name: 'Attach a file' }).waitFor();
    assert.equal(await A.page.getByRole('button', { name: 'Record a voice message' }).count(), 0);
    assert.deepEqual([...A.errors, ...B.errors], []);
    assert.deepEqual([...A.dialogs, ...B.dialogs], []);
  } finally {
    await A.context.close();
    await B.context.close();
  }
});
