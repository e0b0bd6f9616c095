// Browser tests of the live room features: typing dots, presence and the status selector,
// moderation from the people list (mute, unmute, kick, the log), session Q&A, pinned
// messages and event announcements. Two or three users in separate browser contexts.
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
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

function composer(page) {
  return page.getByRole('combobox', { name: /^Message #/ });
}

function message(page, text) {
  return page.locator('.messages .msg:not(.pending)', { hasText: text });
}

async function send(page, text) {
  const box = composer(page);
  await box.fill(text);
  await box.press('Enter');
}

/** A user made through the API, signed in on a fresh page. */
async function user(prefix, displayName, opts) {
  const username = uniqueName(prefix);
  const { token, user: u } = await registerApi(stack.apiBase, username, displayName);
  const P = await newPage(browser, opts);
  await loginInUi(P.page, stack.uiBase, username);
  return { ...P, username, token, id: u.id, displayName };
}

async function openRoom(page, room) {
  await page.goto(`${stack.uiBase}/chat?room=${room.id}`);
  await page.getByRole('heading', { level: 1, name: room.name }).waitFor();
  await page.locator('.conn[data-state="connected"]').waitFor({ state: 'attached' });
}

async function roomWith(owner, members, body = {}) {
  const room = await api(stack.apiBase, owner.token, 'POST', '/api/chat/rooms', { name: uniqueName('room'), type: 'general', ...body });
  for (const m of members) await api(stack.apiBase, m.token, 'POST', `/api/chat/rooms/${room.id}/join`);
  return room;
}

function socketFor(token) {
  return new Promise((resolve, reject) => {
    const s = io(stack.apiBase, { path: '/socket.io/', auth: { token }, transports: ['websocket'], reconnection: false });
    s.once('connect', () => resolve(s));
    s.once('connect_error', reject);
  });
}

function typingRow(page) {
  return page.locator('.typing-row[aria-live="polite"]');
}

async function closeAll(...ps) {
  for (const p of ps) await p.context.close();
}

function noErrors(...ps) {
  assert.deepEqual(ps.flatMap((p) => p.errors), []);
  assert.deepEqual(ps.flatMap((p) => p.dialogs), []);
}

test('typing dots come and go live, and a status change shows in the other user\'s people list', { timeout: 120000 }, async () => {
  const A = await user('alice', 'Alice Archer');
  const B = await user('bob', 'Bob Baker');
  const carol = await registerApi(stack.apiBase, uniqueName('carol'), 'Carol Cole');
  let carolSocket;
  try {
    const room = await roomWith(A, [B, { token: carol.token }]);
    await openRoom(A.page, room);
    await openRoom(B.page, room);
    await composer(B.page).and(B.page.locator(':enabled')).waitFor();

    // Bob types: Alice sees the dots, Bob never sees himself.
    await composer(B.page).pressSequentially('Hello the', { delay: 30 });
    await typingRow(A.page).getByText('Bob Baker is typing…').waitFor();
    assert.equal(await A.page.locator('.typing-row .typing-dots').count(), 1);
    assert.equal((await typingRow(B.page).innerText()).trim(), '');
    // Emptying the box stops it at once.
    await composer(B.page).fill('');
    await typingRow(A.page).getByText('is typing').waitFor({ state: 'detached', timeout: 4000 });

    // Two people typing.
    await composer(B.page).pressSequentially('Hi again', { delay: 30 });
    carolSocket = await socketFor(carol.token);
    await new Promise((r) => carolSocket.emit('join_chat_room', { room_id: room.id }, r));
    await new Promise((r) => carolSocket.emit('chat_typing_start', { room_id: room.id }, r));
    await typingRow(A.page).getByText('Bob Baker and Carol Cole are typing…').waitFor();
    await new Promise((r) => carolSocket.emit('chat_typing_stop', { room_id: room.id }, r));
    await typingRow(A.page).getByText('Bob Baker is typing…').waitFor();
    // Sending ends it.
    await composer(B.page).press('Enter');
    await message(A.page, 'Hi again').waitFor();
    await typingRow(A.page).getByText('is typing').waitFor({ state: 'detached', timeout: 4000 });

    // Alice opens the people list; Bob sets "Busy" with a message.
    await A.page.getByRole('button', { name: /^People/ }).click();
    const bobRow = A.page.locator('.side-panel .person', { hasText: 'Bob Baker' });
    await bobRow.locator('.presence-dot.p-online').waitFor();
    // Carol is online through her socket.
    await A.page.getByRole('heading', { name: /^Online — 3$/ }).waitFor();
    await A.page.getByRole('heading', { name: /^Offline — 0$/ }).waitFor();

    await B.page.getByRole('button', { name: /^Set your status/ }).click();
    const dlg = B.page.getByRole('dialog', { name: 'Set your status' });
    await dlg.getByRole('radio', { name: /^Busy/ }).check();
    await dlg.getByLabel(/^Status message/).fill('In a workshop until 3');
    await dlg.getByLabel('Clear the message after').selectOption({ label: '1 hour' });
    assert.deepEqual(await runAxe(B.page), [], 'status dialog');
    await screenshot(B.page, 'status-dialog-desktop-light');
    await dlg.getByRole('button', { name: 'Save status' }).click();
    await dlg.waitFor({ state: 'detached' });
    await B.page.locator('.me-btn .me-status', { hasText: 'Busy · In a workshop until 3' }).waitFor();
    await B.page.locator('.sidebar-foot .presence-dot.p-busy').waitFor();

    // Live on Alice's side: the dot, the message and the label for screen readers.
    await bobRow.locator('.presence-dot.p-busy').waitFor();
    await bobRow.getByText('In a workshop until 3').waitFor();
    assert.match(await bobRow.innerText(), /busy/);

    // Invisible looks offline to others.
    await B.page.getByRole('button', { name: /^Set your status/ }).click();
    await dlg.getByRole('radio', { name: /^Invisible/ }).check();
    await dlg.getByRole('button', { name: 'Save status' }).click();
    await bobRow.locator('.presence-dot.p-offline').waitFor();
    await A.page.getByRole('heading', { name: /^Offline — 1$/ }).waitFor();
    await A.page.getByRole('heading', { name: /^Online — 2$/ }).waitFor();

    // A direct message shows the partner's dot in the room list.
    await B.page.getByRole('button', { name: /^Set your status/ }).click();
    await dlg.getByRole('radio', { name: /^Away/ }).check();
    await dlg.getByRole('button', { name: 'Save status' }).click();
    await api(stack.apiBase, A.token, 'POST', '/api/chat/rooms', { name: 'dm', type: 'private', participant_ids: [B.id] });
    await A.page.reload();
    await A.page.locator('#sidebar .room-item', { hasText: 'Bob Baker' }).locator('.presence-dot.p-away').waitFor();
    await A.page.locator('#sidebar .room-item', { hasText: 'Bob Baker' }).getByText(', away').waitFor({ state: 'attached' });
    noErrors(A, B);
  } finally {
    carolSocket?.close();
    await closeAll(A, B);
  }
});

test('the owner mutes, unmutes and removes a member from the people list; the log lists it', { timeout: 120000 }, async () => {
  const A = await user('owner', 'Olive Owner');
  const B = await user('member', 'Max Member');
  try {
    const room = await roomWith(A, [B]);
    await openRoom(A.page, room);
    await openRoom(B.page, room);
    await composer(B.page).and(B.page.locator(':enabled')).waitFor();
    // Members see no moderation tools.
    await B.page.getByRole('button', { name: /^People/ }).click();
    await B.page.locator('.side-panel .person', { hasText: 'Olive Owner' }).waitFor();
    assert.equal(await B.page.getByRole('button', { name: /^Moderate/ }).count(), 0);
    assert.equal(await B.page.getByRole('button', { name: 'Moderation log' }).count(), 0);
    await B.page.getByRole('button', { name: 'Close people list' }).click();

    await A.page.getByRole('button', { name: /^People/ }).click();
    assert.equal(await A.page.getByRole('button', { name: 'Moderate Olive Owner' }).count(), 0, 'nobody acts on the owner');
    await A.page.getByRole('button', { name: 'Moderate Max Member' }).click();
    const dlg = A.page.getByRole('dialog', { name: 'Moderate Max Member' });
    await dlg.getByRole('radio', { name: /^Mute/ }).check();
    await dlg.getByLabel('Mute for').selectOption({ label: '1 hour' });
    await dlg.getByLabel(/^Reason/).fill('Please stay on topic');
    for (const scheme of ['light', 'dark']) {
      await A.page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await runAxe(A.page), [], `moderation dialog (${scheme})`);
      await screenshot(A.page, `moderate-dialog-desktop-${scheme}`);
    }
    await A.page.emulateMedia({ colorScheme: 'light' });
    const before = Date.now();
    await dlg.getByRole('button', { name: 'Mute', exact: true }).click();
    await dlg.waitFor({ state: 'detached' });

    // The member's composer is disabled and says why and until when (an hour from now).
    await composer(B.page).and(B.page.locator(':disabled')).waitFor();
    const notice = B.page.locator('.composer-notice');
    await notice.waitFor();
    const text = await notice.innerText();
    const until = new Date(before + 3600 * 1000).toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit' });
    const until2 = new Date(before + 3600 * 1000 + 60000).toLocaleTimeString('en-US', { hour: '2-digit', minute: '2-digit' });
    assert.ok(text.includes('You are muted until') && (text.includes(until) || text.includes(until2) || /\d{4}/.test(text)), text);
    assert.ok(text.includes('Please stay on topic'), text);
    await A.page.locator('.side-panel .person', { hasText: 'Max Member' }).getByText('muted').waitFor();
    await screenshot(B.page, 'muted-composer-desktop-light');

    // Unmute: re-enabled live.
    await A.page.getByRole('button', { name: 'Moderate Max Member' }).click();
    await dlg.getByRole('radio', { name: /^Unmute/ }).waitFor();
    assert.equal(await dlg.getByRole('radio', { name: /^Unmute/ }).isChecked(), true);
    await dlg.getByRole('button', { name: 'Unmute', exact: true }).click();
    await composer(B.page).and(B.page.locator(':enabled')).waitFor();
    await notice.waitFor({ state: 'detached' });
    await send(B.page, 'Thanks, back on topic');
    await message(A.page, 'Thanks, back on topic').waitFor();

    // The moderation log, newest first.
    await A.page.getByRole('button', { name: 'Moderation log' }).click();
    const log = A.page.getByRole('dialog', { name: 'Moderation log' });
    const entries = log.locator('.mod-entry');
    await entries.nth(1).waitFor();
    assert.equal(await entries.count(), 2);
    assert.match(await entries.nth(0).innerText(), /Olive Owner unmuted Max Member/);
    assert.match(await entries.nth(1).innerText(), /Olive Owner muted Max Member for 1 hour/);
    assert.match(await entries.nth(1).innerText(), /Please stay on topic/);
    for (const scheme of ['light', 'dark']) {
      await A.page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await runAxe(A.page), [], `moderation log (${scheme})`);
      await screenshot(A.page, `moderation-log-desktop-${scheme}`);
    }
    await A.page.emulateMedia({ colorScheme: 'light' });
    await log.getByRole('button', { name: 'Close', exact: true }).click();
    await log.waitFor({ state: 'detached' });

    // A mute that runs out re-enables the composer by itself.
    await api(stack.apiBase, A.token, 'POST', `/api/chat/rooms/${room.id}/mute`, { user_id: B.id, duration_seconds: 2 });
    await composer(B.page).and(B.page.locator(':disabled')).waitFor();
    await composer(B.page).and(B.page.locator(':enabled')).waitFor({ timeout: 8000 });
    await notice.waitFor({ state: 'detached' });

    // Kick: the room leaves the member's view, with a word why.
    await A.page.getByRole('button', { name: 'Moderate Max Member' }).click();
    await dlg.getByRole('radio', { name: /^Remove from the room/ }).check();
    assert.equal(await dlg.getByLabel('Mute for').count(), 0);
    await dlg.getByLabel(/^Reason/).fill('Cooling off');
    await dlg.getByRole('button', { name: 'Remove', exact: true }).click();
    await B.page.locator('#sidebar .room-item', { hasText: room.name }).waitFor({ state: 'detached' });
    await B.page.locator('.toast', { hasText: `You were removed from #${room.name} by Olive Owner: Cooling off` }).waitFor();
    await A.page.locator('.side-panel .person', { hasText: 'Max Member' }).waitFor({ state: 'detached' });
    await A.page.getByRole('heading', { name: /^People 1$/ }).waitFor();
    noErrors(A, B);
  } finally {
    await closeAll(A, B);
  }
});

test('the moderation dialog and log fit the phone layout', { timeout: 90000 }, async () => {
  const A = await user('phoneowner', 'Phone Owner', { viewport: { width: 375, height: 812 } });
  const B = await registerApi(stack.apiBase, uniqueName('target'), 'Target With A Long Display Name');
  try {
    const room = await roomWith(A, [{ token: B.token }]);
    await api(stack.apiBase, A.token, 'POST', `/api/chat/rooms/${room.id}/mute`, { user_id: B.user.id, duration_seconds: 300, reason: 'Testing the log on a phone' });
    await openRoom(A.page, room);
    await A.page.getByRole('button', { name: /^People/ }).click();
    await A.page.getByRole('button', { name: 'Moderate Target With A Long Display Name' }).click();
    const dlg = A.page.getByRole('dialog', { name: 'Moderate Target With A Long Display Name' });
    await dlg.getByRole('radio', { name: /^Ban/ }).check();
    await dlg.getByLabel('Ban for').waitFor();
    const fits = () => A.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
    assert.ok(await fits());
    for (const scheme of ['light', 'dark']) {
      await A.page.emulateMedia({ colorScheme: scheme });
      await screenshot(A.page, `moderate-dialog-phone-${scheme}`);
    }
    await A.page.emulateMedia({ colorScheme: 'light' });
    await dlg.getByLabel(/^Reason/).fill('Spamming links');
    await dlg.getByRole('button', { name: 'Ban', exact: true }).click();
    await dlg.waitFor({ state: 'detached' });
    await A.page.locator('.side-panel .person', { hasText: 'Target With A Long Display Name' }).waitFor({ state: 'detached' });
    // The count settles at 1 (a stale room_participant_count from the server is corrected by a re-read).
    await A.page.waitForTimeout(4500);
    await A.page.getByRole('heading', { name: 'People 1' }).waitFor();
    await A.page.getByRole('button', { name: 'Moderation log' }).click();
    const log = A.page.getByRole('dialog', { name: 'Moderation log' });
    await log.getByRole('heading', { name: 'Banned now — 1' }).waitFor();
    await log.locator('.mod-entry', { hasText: /muted Target With A Long Display Name for 5 minutes/ }).waitFor();
    assert.match(await log.locator('.mod-log .mod-entry').first().innerText(), /banned Target With A Long Display Name for 1 day/);
    assert.ok(await fits());
    await screenshot(A.page, 'moderation-log-phone-light');
    assert.deepEqual(await runAxe(A.page), [], 'moderation log with bans');
    // Banned users cannot come back until unbanned.
    await assert.rejects(api(stack.apiBase, B.token, 'POST', `/api/chat/rooms/${room.id}/join`), /403/);
    await log.getByRole('button', { name: 'Unban Target With A Long Display Name' }).click();
    await log.getByRole('heading', { name: /^Banned now/ }).waitFor({ state: 'detached' });
    await log.locator('.mod-log .mod-entry').first().filter({ hasText: /unbanned Target/ }).waitFor();
    await api(stack.apiBase, B.token, 'POST', `/api/chat/rooms/${room.id}/join`);
    noErrors(A);
  } finally {
    await closeAll(A);
  }
});

function question(page, text) {
  return page.locator('.side-panel .question', { hasText: text });
}

async function openQa(page) {
  await page.getByRole('button', { name: 'Q&A', exact: true }).click();
  await page.getByRole('heading', { name: /^Q&A/ }).waitFor();
}

async function ask(page, text, anonymous = false) {
  const panel = page.locator('.side-panel');
  await panel.getByLabel('Ask a question').fill(text);
  const box = panel.getByRole('checkbox', { name: 'Ask anonymously' });
  if (anonymous) await box.check();
  else await box.uncheck();
  await panel.getByRole('button', { name: 'Ask', exact: true }).click();
  await question(page, text).waitFor();
}

async function questionOrder(page) {
  return page.locator('.side-panel ol[aria-label^="Questions,"] .q-text').allInnerTexts();
}

test('Q&A: ask (also anonymously), vote, sort, answer, pin, and review before approval', { timeout: 150000 }, async () => {
  const A = await user('host', 'Hana Host');
  const B = await user('asker', 'Ari Asker');
  const C = await user('voter', 'Vic Voter');
  try {
    const room = await roomWith(A, [B, C], { qa_enabled: true });
    for (const P of [A, B, C]) await openRoom(P.page, room);
    for (const P of [A, B, C]) await openQa(P.page);
    await C.page.getByText('No questions yet. Ask the first one!').waitFor();

    await ask(B.page, 'What is on the roadmap?');
    await ask(B.page, 'Is there a recording?', true);
    // Vic sees both live; the anonymous one names nobody.
    await question(C.page, 'What is on the roadmap?').getByText('Ari Asker').waitFor();
    await question(C.page, 'Is there a recording?').getByText('Anonymous').waitFor();
    assert.equal(await question(C.page, 'Is there a recording?').getByText('Ari Asker').count(), 0);
    // The author sees their own anonymous question as theirs.
    await question(B.page, 'Is there a recording?').getByText('You (anonymous)').waitFor();

    // Vic votes for the older question: the count is live everywhere, the toggle is pressed.
    const vote = question(C.page, 'What is on the roadmap?').getByRole('button', { name: /^Vote, / });
    assert.equal(await vote.getAttribute('aria-pressed'), 'false');
    await vote.click();
    await question(C.page, 'What is on the roadmap?').getByRole('button', { name: 'Vote, 1 vote', pressed: true }).waitFor();
    await question(B.page, 'What is on the roadmap?').getByRole('button', { name: 'Vote, 1 vote', pressed: false }).waitFor();
    // Sorting: most votes first, or newest first.
    assert.deepEqual(await questionOrder(B.page), ['What is on the roadmap?', 'Is there a recording?']);
    await B.page.getByRole('button', { name: 'Newest' }).click();
    await B.page.getByRole('button', { name: 'Newest', pressed: true }).waitFor();
    await B.page.waitForFunction(() => document.querySelector('.side-panel ol[aria-label^="Questions,"] .q-text')?.textContent === 'Is there a recording?');
    assert.deepEqual(await questionOrder(B.page), ['Is there a recording?', 'What is on the roadmap?']);
    // Toggling the vote off.
    await vote.click();
    await question(C.page, 'What is on the roadmap?').getByRole('button', { name: 'Vote, 0 votes', pressed: false }).waitFor();
    await vote.click();
    await question(B.page, 'What is on the roadmap?').getByRole('button', { name: 'Vote, 1 vote' }).waitFor();

    // Attendees have no moderation tools; the host answers and pins.
    assert.equal(await C.page.getByRole('group', { name: 'Moderate question' }).count(), 0);
    await question(A.page, 'What is on the roadmap?').getByRole('button', { name: 'Answered' }).click();
    await question(C.page, 'What is on the roadmap?').locator('.tag', { hasText: 'Answered' }).waitFor();
    await question(A.page, 'Is there a recording?').getByRole('button', { name: 'Now answering' }).click();
    const now = C.page.getByRole('region', { name: 'Now answering' });
    await now.locator('.question', { hasText: 'Is there a recording?' }).waitFor();
    assert.deepEqual(await questionOrder(C.page), ['What is on the roadmap?']);
    for (const scheme of ['light', 'dark']) {
      await A.page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await runAxe(A.page), [], `Q&A panel, host (${scheme})`);
      await screenshot(A.page, `qa-panel-desktop-${scheme}`);
      await C.page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await runAxe(C.page), [], `Q&A panel, attendee (${scheme})`);
    }
    await A.page.emulateMedia({ colorScheme: 'light' });
    await C.page.emulateMedia({ colorScheme: 'light' });
    // Unpinning moves it back into the list.
    await A.page.getByRole('region', { name: 'Now answering' }).getByRole('button', { name: 'Now answering' }).click();
    await now.waitFor({ state: 'detached' });

    // With review on, an attendee's question waits for the host.
    await api(stack.apiBase, A.token, 'PATCH', `/api/chat/rooms/${room.id}`, { qa_moderation: true });
    await A.page.getByRole('tab', { name: /^Review/ }).waitFor();
    await C.page.getByLabel('Ask a question').fill('Will the slides be shared?');
    await C.page.locator('.side-panel').getByRole('button', { name: 'Ask', exact: true }).click();
    await question(C.page, 'Will the slides be shared?').getByText('Awaiting review').waitFor();
    await C.page.getByText(/once a moderator approves it/).first().waitFor();
    await A.page.getByRole('tab', { name: /^Review/ }).locator('.badge', { hasText: '1' }).waitFor();
    await B.page.waitForTimeout(500);
    assert.equal(await question(B.page, 'Will the slides be shared?').count(), 0, 'not shown before approval');
    await A.page.getByRole('tab', { name: /^Review/ }).click();
    assert.deepEqual(await runAxe(A.page), [], 'Q&A review queue');
    await question(A.page, 'Will the slides be shared?').getByRole('button', { name: 'Approve' }).click();
    await question(B.page, 'Will the slides be shared?').waitFor();
    await question(C.page, 'Will the slides be shared?').getByText('Awaiting review').waitFor({ state: 'detached' });
    await A.page.getByText('Nothing to review.').waitFor();
    await A.page.getByRole('tab', { name: 'Questions' }).click();
    await question(A.page, 'Will the slides be shared?').waitFor();
    // Hiding removes it for everyone.
    await question(A.page, 'Will the slides be shared?').getByRole('button', { name: 'Hide' }).click();
    await question(B.page, 'Will the slides be shared?').waitFor({ state: 'detached' });

    // The phone layout: the panel covers the screen, nothing scrolls sideways.
    await B.page.setViewportSize({ width: 375, height: 812 });
    for (const scheme of ['light', 'dark']) {
      await B.page.emulateMedia({ colorScheme: scheme });
      await screenshot(B.page, `qa-panel-phone-${scheme}`);
    }
    assert.ok(await B.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth));
    noErrors(A, B, C);
  } finally {
    await closeAll(A, B, C);
  }
});

test('pins: the owner pins a message, the other sees it in the pins panel live, then unpins', { timeout: 90000 }, async () => {
  const A = await user('pinner', 'Pia Pinner');
  const B = await user('reader', 'Rob Reader');
  try {
    const room = await roomWith(A, [B]);
    await openRoom(A.page, room);
    await openRoom(B.page, room);
    await send(A.page, 'Agenda: keynote at 10, workshops at 2');
    await message(B.page, 'Agenda: keynote').waitFor();
    await B.page.getByRole('button', { name: 'Pinned messages, 0' }).click();
    await B.page.getByText('Nothing pinned yet.').waitFor();
    // Members cannot pin.
    await message(B.page, 'Agenda: keynote').hover();
    assert.equal(await message(B.page, 'Agenda: keynote').getByRole('button', { name: 'Pin message' }).count(), 0);

    const msg = message(A.page, 'Agenda: keynote');
    await msg.hover();
    await msg.getByRole('button', { name: 'Pin message' }).click();
    await msg.locator('.pin-tag').waitFor();
    const pinned = B.page.getByRole('list', { name: 'Pinned messages' }).getByRole('button', { name: /^Pia Pinner ?:.*Agenda: keynote at 10.*Pinned by Pia Pinner/ });
    await pinned.waitFor();
    await B.page.getByRole('button', { name: 'Pinned messages, 1' }).waitFor();
    await message(B.page, 'Agenda: keynote').locator('.pin-tag').waitFor();
    assert.deepEqual(await runAxe(B.page), [], 'pins panel');
    await screenshot(B.page, 'pins-panel-desktop-light');
    await pinned.click();
    await B.page.waitForFunction(() => document.activeElement?.closest('.msg')?.textContent?.includes('Agenda: keynote'));

    await msg.hover();
    await msg.getByRole('button', { name: 'Unpin message' }).click();
    await pinned.waitFor({ state: 'detached' });
    await B.page.getByRole('button', { name: 'Pinned messages, 0' }).waitFor();
    await message(B.page, 'Agenda: keynote').locator('.pin-tag').waitFor({ state: 'detached' });
    noErrors(A, B);
  } finally {
    await closeAll(A, B);
  }
});

test('announcements render as a banner and count in the room list until read', { timeout: 90000 }, async () => {
  const A = await user('organizer', 'Orla Organizer');
  const B = await user('attendee', 'Ada Attendee');
  try {
    const event = await api(stack.apiBase, A.token, 'POST', '/api/events', {
      title: uniqueName('Summit'), starts_at: new Date(Date.now() + 7 * 86400 * 1000).toISOString(),
    });
    const { rooms } = await api(stack.apiBase, A.token, 'GET', `/api/chat/events/${event.id}/rooms`);
    const eventRoom = rooms[0];
    await api(stack.apiBase, B.token, 'POST', `/api/events/${event.id}/register`);
    await api(stack.apiBase, B.token, 'POST', `/api/chat/rooms/${eventRoom.id}/join`);
    const other = await roomWith(B, []);
    await openRoom(B.page, other);
    const item = B.page.locator('#sidebar .room-item', { hasText: eventRoom.name });
    await item.waitFor();

    await api(stack.apiBase, A.token, 'POST', `/api/events/${event.id}/announcements`, { content: 'Doors open at **9:00** in Hall B' });
    await item.locator('.badge.announce', { hasText: '1' }).waitFor();
    await item.getByText('1 announcement', { exact: false }).waitFor({ state: 'attached' });
    await screenshot(B.page, 'announcement-badge-desktop-light');
    // Reloading keeps the count (the server's announcement_count).
    await B.page.reload();
    await item.locator('.badge.announce', { hasText: '1' }).waitFor();

    await item.click();
    const ann = B.page.locator('.messages .msg.announcement', { hasText: 'Doors open at' });
    await ann.waitFor();
    await ann.locator('.announce-tag', { hasText: 'Announcement' }).waitFor();
    assert.equal(await ann.locator('.bubble strong').innerText(), '9:00');
    assert.match(await ann.getAttribute('aria-label'), /^Announcement from Orla Organizer/);
    await item.locator('.badge.announce').waitFor({ state: 'detached' });
    // The organizer can post one from the composer too.
    await openRoom(A.page, eventRoom);
    const toggle = A.page.getByRole('button', { name: 'Send as announcement' });
    await toggle.click();
    await A.page.getByRole('button', { name: 'Send as announcement', pressed: true }).waitFor();
    await A.page.getByRole('combobox', { name: /^Message #/ }).fill('Lunch is served in the atrium');
    await A.page.getByRole('combobox', { name: /^Message #/ }).press('Enter');
    await B.page.locator('.messages .msg.announcement', { hasText: 'Lunch is served' }).waitFor();
    // Attendees have no such button.
    assert.equal(await B.page.getByRole('button', { name: 'Send as announcement' }).count(), 0);
    for (const scheme of ['light', 'dark']) {
      await B.page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await runAxe(B.page), [], `announcement (${scheme})`);
      await screenshot(B.page, `announcement-desktop-${scheme}`);
    }
    noErrors(A, B);
  } finally {
    await closeAll(A, B);
  }
});
