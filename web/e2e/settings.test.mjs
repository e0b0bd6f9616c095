// Browser tests of a room's settings and of the moderators' edit history: the owner turns
// Q&A (and its review queue) on and off for an existing room and members see it live;
// a moderator opens the earlier versions of an edited message, the sender does not.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, launchBrowser, newPage, loginInUi, registerApi, api, uniqueName, screenshot, runAxe,
} from './harness.mjs';

const XSS = '<img src=x onerror=alert(1)>';
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

async function openSettings(page, room) {
  await page.getByRole('button', { name: 'Room settings and notifications' }).click();
  const dialog = page.getByRole('dialog', { name: `Settings for ${room.name}` });
  await dialog.getByRole('radio', { name: 'All new messages' }).waitFor();
  return dialog;
}

test('the owner turns Q&A with review on and off for an existing room; members see it live', { timeout: 120000 }, async () => {
  const A = await user('owner', 'Olga Owner');
  const B = await user('member', 'Max Member');
  try {
    const room = await api(stack.apiBase, A.token, 'POST', '/api/chat/rooms', { name: uniqueName('stage'), type: 'general' });
    await api(stack.apiBase, B.token, 'POST', `/api/chat/rooms/${room.id}/join`);
    assert.equal(room.qa_enabled, false);
    await openRoom(A.page, room);
    await openRoom(B.page, room);
    const qaButton = (page) => page.getByRole('button', { name: 'Q&A', exact: true });
    assert.equal(await qaButton(A.page).count(), 0);
    assert.equal(await qaButton(B.page).count(), 0);

    // On, with review.
    let dialog = await openSettings(A.page, room);
    await dialog.getByRole('heading', { name: 'Room settings' }).waitFor();
    const qa = dialog.getByRole('checkbox', { name: /^Q&A/ });
    assert.equal(await qa.isChecked(), false);
    assert.equal(await dialog.getByRole('checkbox', { name: 'Review questions before they are shown' }).count(), 0);
    await qa.check();
    await dialog.getByRole('checkbox', { name: 'Review questions before they are shown' }).check();
    const axe = await runAxe(A.page);
    assert.deepEqual(axe, [], JSON.stringify(axe, null, 2));
    await screenshot(A.page, 'room-settings-owner-desktop-light');
    const [patch] = await Promise.all([
      A.page.waitForRequest((r) => r.method() === 'PATCH' && r.url().endsWith(`/api/chat/rooms/${room.id}`)),
      dialog.getByRole('button', { name: 'Save settings' }).click(),
    ]);
    assert.deepEqual(JSON.parse(patch.postData()), { qa_enabled: true, qa_moderation: true }, 'only what changed is sent');
    await dialog.waitFor({ state: 'detached' });
    await qaButton(A.page).waitFor();
    await qaButton(B.page).waitFor();
    let now = await api(stack.apiBase, B.token, 'GET', `/api/chat/rooms/${room.id}`);
    assert.equal(now.qa_enabled, true);
    assert.equal(now.qa_moderation, true);

    // The member asks; with review on the owner finds it in the review queue.
    await qaButton(B.page).click();
    const panel = B.page.locator('.side-panel');
    await panel.getByLabel('Ask a question').fill('Will the slides be shared?');
    await panel.getByRole('button', { name: 'Ask', exact: true }).click();
    await panel.locator('.question', { hasText: 'Will the slides be shared?' }).waitFor();
    await qaButton(A.page).click();
    await A.page.getByRole('tab', { name: /^Review/ }).click();
    await A.page.locator('.side-panel .question', { hasText: 'Will the slides be shared?' }).waitFor();

    // The settings show what is set; off again closes the Q&A for everyone.
    dialog = await openSettings(A.page, room);
    assert.equal(await dialog.getByRole('checkbox', { name: /^Q&A/ }).isChecked(), true);
    assert.equal(await dialog.getByRole('checkbox', { name: 'Review questions before they are shown' }).isChecked(), true);
    await dialog.getByRole('checkbox', { name: /^Q&A/ }).uncheck();
    await dialog.getByRole('button', { name: 'Save settings' }).click();
    await dialog.waitFor({ state: 'detached' });
    await qaButton(A.page).waitFor({ state: 'detached' });
    await qaButton(B.page).waitFor({ state: 'detached' });
    await B.page.getByLabel('Ask a question').waitFor({ state: 'detached' });
    now = await api(stack.apiBase, B.token, 'GET', `/api/chat/rooms/${room.id}`);
    assert.equal(now.qa_enabled, false);

    // A member gets only their own notification settings.
    dialog = await openSettings(B.page, room);
    assert.equal(await dialog.getByRole('heading', { name: 'Room settings' }).count(), 0);
    assert.equal(await dialog.getByRole('checkbox', { name: /^Q&A/ }).count(), 0);
    await B.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    assert.deepEqual([...A.errors, ...B.errors], []);
    assert.deepEqual([...A.dialogs, ...B.dialogs], []);
  } finally {
    await A.context.close();
    await B.context.close();
  }
});

test('a moderator opens the edit history of an edited message; the sender sees only "edited"', { timeout: 90000 }, async () => {
  const A = await user('mod', 'Mia Moderator');
  const B = await user('writer', 'Wes Writer');
  const edit = (id, content) => api(stack.apiBase, B.token, 'PUT', `/api/chat/messages/${id}/edit`, { content });
  try {
    const room = await api(stack.apiBase, A.token, 'POST', '/api/chat/rooms', { name: uniqueName('edits'), type: 'general' });
    await api(stack.apiBase, B.token, 'POST', `/api/chat/rooms/${room.id}/join`);
    const m = await api(stack.apiBase, B.token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: `first take ${XSS}` });
    await edit(m.id, 'second take');
    await edit(m.id, 'final **take**');
    await openRoom(A.page, room);
    await openRoom(B.page, room);
    const mine = B.page.locator('.messages .msg', { hasText: 'final take' });
    await mine.locator('.edited', { hasText: '(edited)' }).waitFor();
    assert.equal(await mine.getByRole('button', { name: /show edit history/ }).count(), 0, 'members see the marker only');

    const msg = A.page.locator('.messages .msg', { hasText: 'final take' });
    const marker = msg.getByRole('button', { name: /^Edited .*, show edit history$/ });
    await marker.click();
    const dialog = A.page.getByRole('dialog', { name: 'Edit history' });
    const items = dialog.getByRole('list', { name: 'Versions, oldest first' }).getByRole('listitem');
    await items.nth(2).waitFor();
    const texts = (await dialog.locator('.edit-version-text').allInnerTexts()).map((x) => x.trim());
    assert.deepEqual(texts, [`first take ${XSS}`, 'second take', 'final **take**']);
    assert.match(await items.nth(0).innerText(), /^Original/);
    assert.match(await items.nth(2).innerText(), /^Current/);
    assert.equal(await A.page.evaluate(() => document.querySelectorAll('img[src="x"]').length), 0);
    const axe = await runAxe(A.page);
    assert.deepEqual(axe, [], JSON.stringify(axe, null, 2));
    await screenshot(A.page, 'edit-history-desktop-light');
    await A.page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'detached' });
    await marker.waitFor();

    // A live edit shows up in the history when it is opened again.
    await edit(m.id, 'final take, really');
    await A.page.locator('.messages .msg', { hasText: 'final take, really' }).waitFor();
    await A.page.locator('.messages .msg', { hasText: 'final take, really' }).getByRole('button', { name: /show edit history/ }).click();
    await dialog.locator('.edit-version-text').nth(3).waitFor();
    assert.deepEqual((await dialog.locator('.edit-version-text').allInnerTexts()).map((x) => x.trim()),
      [`first take ${XSS}`, 'second take', 'final **take**', 'final take, really']);
    assert.deepEqual([...A.errors, ...B.errors], []);
    assert.deepEqual([...A.dialogs, ...B.dialogs], []);
  } finally {
    await A.context.close();
    await B.context.close();
  }
});
