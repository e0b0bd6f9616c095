// Browser test of notifications: the per-room notification level and sound set in the room
// settings, browser notifications turned on from a click while the tab is hidden, and the
// WebAudio chime. The page's Notification and AudioContext are wrapped by an init script
// that records what is shown and played; the hidden tab is simulated the same way.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, launchBrowser, newPage, loginInUi, registerApi, api, uniqueName, screenshot, runAxe,
} from './harness.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

function instrument() {
  let hidden = false;
  Object.defineProperty(Document.prototype, 'visibilityState', { configurable: true, get: () => (hidden ? 'hidden' : 'visible') });
  Object.defineProperty(Document.prototype, 'hidden', { configurable: true, get: () => hidden });
  window.__setHidden = (h) => {
    hidden = h;
    document.dispatchEvent(new Event('visibilitychange'));
  };
  window.__notes = [];
  window.__asked = 0;
  const Real = window.Notification;
  class RecordingNotification {
    constructor(title, opts = {}) {
      this.title = title;
      this.body = opts.body ?? '';
      window.__notes.push({ title, body: this.body, tag: opts.tag ?? '' });
    }
    close() {}
    static get permission() {
      return Real.permission;
    }
    static requestPermission(...args) {
      window.__asked += 1;
      return Real.requestPermission(...args).then((answer) => {
        window.__answer = answer;
        return answer;
      });
    }
  }
  window.Notification = RecordingNotification;
  window.__sounds = 0;
  const proto = window.AudioContext.prototype;
  const create = proto.createOscillator;
  proto.createOscillator = function createOscillator() {
    const osc = create.call(this);
    const start = osc.start.bind(osc);
    osc.start = (...args) => {
      window.__sounds += 1;
      return start(...args);
    };
    return osc;
  };
}

test('browser notifications while hidden and the chime follow each room\'s level and sound setting', { timeout: 120000 }, async () => {
  const sender = uniqueName('sender');
  const s = await registerApi(stack.apiBase, sender, 'Sid Sender');
  const bobName = uniqueName('bob');
  const b = await registerApi(stack.apiBase, bobName, 'Bob Reader');
  const mk = async (name) => {
    const room = await api(stack.apiBase, s.token, 'POST', '/api/chat/rooms', { name: uniqueName(name), type: 'general' });
    await api(stack.apiBase, b.token, 'POST', `/api/chat/rooms/${room.id}/join`);
    return room;
  };
  const loud = await mk('loud');
  const muted = await mk('muted');
  const quiet = await mk('mentions');
  const post = (room, content) => api(stack.apiBase, s.token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content });

  const B = await newPage(browser);
  await B.context.grantPermissions(['notifications'], { origin: stack.uiBase });
  await B.context.addInitScript(instrument);
  const page = B.page;
  const notes = () => page.evaluate(() => window.__notes);
  const sounds = () => page.evaluate(() => window.__sounds);
  const roomButton = (room) => page.locator('.room-list .room-item', { hasText: room.name });
  const savedPrefs = (room, change) => Promise.all([
    page.waitForResponse((r) => r.url().endsWith(`/rooms/${room.id}/preferences`) && r.request().method() === 'PUT' && r.ok()),
    change(),
  ]);
  const openSettings = async (room) => {
    await page.goto(`${stack.uiBase}/chat?room=${room.id}`);
    await page.getByRole('heading', { level: 1, name: room.name }).waitFor();
    await page.getByRole('button', { name: 'Room settings and notifications' }).click();
    const dialog = page.getByRole('dialog', { name: `Settings for ${room.name}` });
    await dialog.getByRole('radio', { name: 'All new messages' }).waitFor();
    return dialog;
  };
  try {
    await loginInUi(page, stack.uiBase, bobName);

    // The muted room: level "none", set in its settings; a member sees no room settings form.
    let dialog = await openSettings(muted);
    assert.equal(await dialog.getByRole('radio', { name: 'All new messages' }).isChecked(), true, 'the default level is all');
    assert.equal(await dialog.getByRole('checkbox', { name: 'Play a sound for new messages' }).isChecked(), true);
    assert.equal(await dialog.getByRole('heading', { name: 'Room settings' }).count(), 0, 'members change no room settings');
    await savedPrefs(muted, () => dialog.getByRole('radio', { name: 'Nothing (mute this room)' }).check());
    const axe = await runAxe(page);
    assert.deepEqual(axe, [], JSON.stringify(axe, null, 2));
    await screenshot(page, 'room-settings-member-desktop-light');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // The mentions room: level "mentions" and no sound. Browser notifications are turned
    // on from here (a click; the browser context has granted the permission).
    dialog = await openSettings(quiet);
    await savedPrefs(quiet, () => dialog.getByRole('radio', { name: /^Only mentions/ }).check());
    await savedPrefs(quiet, () => dialog.getByRole('checkbox', { name: 'Play a sound for new messages' }).uncheck());
    const desktop = dialog.getByRole('checkbox', { name: 'Browser notifications while this tab is hidden' });
    assert.equal(await desktop.isChecked(), false, 'off until the user turns them on');
    await desktop.check();
    await page.waitForFunction(() => document.querySelector('.desktop-toggle input')?.checked === true);
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });

    // The server kept the choices (an empty PUT changes nothing and answers them).
    assert.deepEqual(await api(stack.apiBase, b.token, 'PUT', `/api/chat/rooms/${muted.id}/preferences`, {}), { room_id: muted.id, notifications: 'none', sound: true });
    assert.deepEqual(await api(stack.apiBase, b.token, 'PUT', `/api/chat/rooms/${quiet.id}/preferences`, {}), { room_id: quiet.id, notifications: 'mentions', sound: false });

    // Visible and reading the loud room: a new message there neither notifies nor chimes.
    await page.goto(`${stack.uiBase}/chat?room=${loud.id}`);
    await page.getByRole('heading', { level: 1, name: loud.name }).waitFor();
    await page.locator('.conn[data-state="connected"]').waitFor({ state: 'attached' });
    await page.getByRole('heading', { level: 1, name: loud.name }).click(); // a gesture, so audio may start
    await post(loud, 'you are looking at this');
    await page.locator('.messages .msg', { hasText: 'you are looking at this' }).waitFor();
    assert.deepEqual(await notes(), []);
    assert.equal(await sounds(), 0);

    // The tab goes hidden.
    await page.evaluate(() => window.__setHidden(true));

    // Mentions room, sound off: a mention notifies without a sound; plain text does nothing.
    await post(quiet, 'plain chatter nobody needs to hear');
    await post(quiet, `@${bobName} can you check the stage?`);
    await page.waitForFunction(() => window.__notes.some((n) => n.body.includes('check the stage')));
    assert.equal(await sounds(), 0, 'no chime where sound is off');

    // Muted room: nothing at all, though the message arrives (its unread badge counts it).
    await post(muted, 'this room is muted');
    await roomButton(muted).locator('.badge', { hasText: '1' }).waitFor();

    // Loud room: a notification and a chime.
    await post(loud, 'doors open in five minutes');
    await page.waitForFunction(() => window.__notes.some((n) => n.body.includes('doors open')));
    await page.waitForFunction(() => window.__sounds === 1);
    await roomButton(quiet).locator('.badge', { hasText: '2' }).waitFor();

    const shown = await notes();
    assert.deepEqual(shown.map((n) => n.body), [`@${bobName} can you check the stage?`, 'doors open in five minutes'], JSON.stringify(shown));
    assert.equal(shown[0].title, `Sid Sender in #${quiet.name}`);
    assert.equal(shown[1].title, `Sid Sender in #${loud.name}`);
    assert.equal(await page.evaluate(() => window.__asked), 0, 'permission already granted: nothing to ask');

    // Turned off from the bell menu: hidden or not, no more browser notifications.
    await page.evaluate(() => window.__setHidden(false));
    await page.getByRole('button', { name: /^Notifications/ }).click();
    const menuToggle = page.getByRole('dialog', { name: 'Notifications' }).getByRole('checkbox', { name: 'Browser notifications while this tab is hidden' });
    assert.equal(await menuToggle.isChecked(), true);
    await menuToggle.uncheck();
    await page.keyboard.press('Escape');
    await page.evaluate(() => window.__setHidden(true));
    await post(loud, 'after turning them off');
    await page.locator('.messages .msg', { hasText: 'after turning them off' }).waitFor();
    await post(muted, 'and a barrier');
    await roomButton(muted).locator('.badge', { hasText: '2' }).waitFor();
    assert.equal((await notes()).length, 2);
    assert.deepEqual(B.errors, []);
    assert.deepEqual(B.dialogs, []);
  } finally {
    await B.context.close();
  }
});

test('turning browser notifications on asks the browser from the click', { timeout: 60000 }, async () => {
  const name = uniqueName('asker');
  const u = await registerApi(stack.apiBase, name, 'Ada Asker');
  const room = await api(stack.apiBase, u.token, 'POST', '/api/chat/rooms', { name: uniqueName('ask'), type: 'general' });
  const B = await newPage(browser);
  await B.context.addInitScript(instrument);
  try {
    await loginInUi(B.page, stack.uiBase, name);
    await B.page.goto(`${stack.uiBase}/chat?room=${room.id}`);
    await B.page.getByRole('heading', { level: 1, name: room.name }).waitFor();
    assert.equal(await B.page.evaluate(() => window.__asked), 0, 'never asked on load');
    await B.page.getByRole('button', { name: 'Room settings and notifications' }).click();
    const dialog = B.page.getByRole('dialog', { name: `Settings for ${room.name}` });
    const before = await B.page.evaluate(() => Notification.permission);
    await dialog.getByRole('checkbox', { name: 'Browser notifications while this tab is hidden' }).click();
    await B.page.waitForFunction(() => window.__asked === 1);
    // Headless Chromium answers the prompt itself; whatever it says, the toggle shows it.
    const answer = await B.page.waitForFunction(() => window.__answer).then((h) => h.jsonValue());
    assert.equal(before, 'default');
    const toggle = dialog.getByRole('checkbox', { name: 'Browser notifications while this tab is hidden' });
    if (answer === 'granted') await B.page.waitForFunction(() => document.querySelector('.desktop-toggle input')?.checked === true);
    else {
      await B.page.waitForFunction(() => document.querySelector('.desktop-toggle input')?.checked === false);
      if (answer === 'denied') await dialog.getByText('The browser blocks notifications for this site').waitFor();
    }
    assert.equal(await toggle.isChecked(), answer === 'granted');
    assert.deepEqual(B.errors, []);
  } finally {
    await B.context.close();
  }
});
