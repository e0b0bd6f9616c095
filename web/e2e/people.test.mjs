// The people list of a big room: counts from the server, pages of the online group and of
// everyone, live counts from room_participant_count (joins are quiet from 20 participants
// here), and @mention autocomplete asking the server (q=) for people not loaded yet.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  startStack, launchBrowser, newPage, loginInUi, registerApi, api, uniqueName, screenshot, runAxe, WEB_DIR,
} from './harness.mjs';

const require = createRequire(WEB_DIR + '/package.json');
const { io } = require('socket.io-client');

let stack;
let browser;

before(async () => {
  stack = await startStack({ env: { EVENTSYNC_QUIET_JOIN_THRESHOLD: '20' } });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

async function member(prefix, display, roomId) {
  const r = await registerApi(stack.apiBase, uniqueName(prefix), display);
  await api(stack.apiBase, r.token, 'POST', `/api/chat/rooms/${roomId}/join`);
  return r;
}

test('a big room pages its people list, counts live and finds mentions on the server', { timeout: 180000 }, async () => {
  const ownerName = uniqueName('host');
  const owner = await registerApi(stack.apiBase, ownerName, 'Big Room Host');
  const room = await api(stack.apiBase, owner.token, 'POST', '/api/chat/rooms', { name: uniqueName('bigroom'), type: 'general' });
  const crowd = [];
  for (let i = 0; i < 60; i += 4) {
    crowd.push(...await Promise.all([0, 1, 2, 3].map((j) => member('crowd', `Crowd Person ${i + j + 1}`, room.id))));
  }
  await member('zelda', 'Zelda Zephyr', room.id);
  const total = 62;

  const A = await newPage(browser);
  let socket;
  try {
    await loginInUi(A.page, stack.uiBase, ownerName);
    await A.page.goto(`${stack.uiBase}/chat?room=${room.id}`);
    await A.page.getByRole('heading', { level: 1, name: room.name }).waitFor();
    const box = A.page.getByRole('combobox', { name: /^Message #/ });
    await box.and(A.page.locator(':enabled')).waitFor();
    await A.page.getByRole('button', { name: `People, ${total} in this room` }).waitFor();

    // Only the host came with the join answer: the autocomplete asks the server.
    await box.pressSequentially('Welcome @zel', { delay: 20 });
    await A.page.getByRole('option', { name: /Zelda Zephyr/ }).waitFor();
    await box.press('Enter');
    assert.match(await box.inputValue(), /^Welcome @zelda\S+ $/);
    await box.fill('');

    await A.page.getByRole('button', { name: /^People/ }).click();
    const panel = A.page.locator('.side-panel');
    await panel.getByRole('heading', { name: `People ${total}` }).waitFor();
    await panel.getByRole('heading', { name: 'Online — 1' }).waitFor();
    await panel.getByRole('heading', { name: `Offline — ${total - 1}` }).waitFor();
    const offlineRows = panel.getByRole('list', { name: /^Offline/ }).locator('.person');
    await offlineRows.nth(49).waitFor();
    // The first page of 50 (the host among them) and Zelda, found by the mention search.
    assert.equal(await offlineRows.count(), 50);
    await panel.getByText(`Showing 51 of ${total}.`).waitFor();
    const more = panel.getByRole('button', { name: 'Show more (11)' });
    await more.click();
    // While the page loads the button reads "Loading…", so wait for the rows themselves.
    await offlineRows.nth(total - 2).waitFor();
    await panel.getByRole('button', { name: /^Show more/ }).waitFor({ state: 'detached' });
    assert.equal(await offlineRows.count(), total - 1);
    await panel.getByText('Zelda Zephyr').waitFor();
    assert.deepEqual(await runAxe(A.page), [], 'people panel of a big room');

    // A quiet join: no announcement, the count follows room_participant_count.
    await member('late', 'Late Comer', room.id);
    await panel.getByRole('heading', { name: `People ${total + 1}` }).waitFor({ timeout: 10000 });
    await panel.getByRole('heading', { name: `Offline — ${total}` }).waitFor();

    // Someone comes online.
    socket = io(stack.apiBase, { path: '/socket.io/', auth: { token: crowd[0].token }, transports: ['websocket'], reconnection: false });
    await panel.getByRole('heading', { name: 'Online — 2' }).waitFor();
    await panel.getByRole('list', { name: /^Online/ }).getByText('Crowd Person 1', { exact: true }).waitFor();

    await A.page.setViewportSize({ width: 375, height: 812 });
    await screenshot(A.page, 'people-big-room-phone-light');
    assert.ok(await A.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
    await A.page.setViewportSize({ width: 1280, height: 800 });
    await screenshot(A.page, 'people-big-room-desktop-light');
    assert.deepEqual(A.errors, []);
  } finally {
    socket?.close();
    await A.context.close();
  }
});
