// Browser tests of the chat UI: two users live, hostile names and text, phone layout,
// history scrolling, accessibility (axe-core) and screenshots of the main views.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startStack, launchBrowser, newPage, registerInUi, loginInUi, registerApi, api, uniqueName, screenshot, runAxe,
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

function composer(page) {
  return page.getByRole('combobox', { name: /^Message #/ });
}

async function createRoom(page, name, { isPublic = true } = {}) {
  await page.getByRole('button', { name: '+ New room' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create a room' });
  await dialog.getByLabel('Name').fill(name);
  if (!isPublic) await dialog.getByLabel(/^Public/).uncheck();
  await dialog.getByRole('button', { name: 'Create room' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await composer(page).and(page.locator(':enabled')).waitFor();
}

async function joinPublic(page, name) {
  await page.getByRole('button', { name: 'Browse rooms' }).click();
  const dialog = page.getByRole('dialog', { name: 'Browse public rooms' });
  await dialog.getByRole('button', { name: `Join ${name}` }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await composer(page).and(page.locator(':enabled')).waitFor();
}

async function send(page, text) {
  const box = composer(page);
  await box.fill(text);
  await box.press('Enter');
}

function message(page, text) {
  return page.locator('.messages .msg:not(.pending)', { hasText: text });
}

async function noHorizontalScroll(page) {
  return page.evaluate(() => {
    const d = document.documentElement;
    return { scrollWidth: Math.max(d.scrollWidth, document.body.scrollWidth), width: window.innerWidth };
  });
}

test('two users register, create and join a room, and see messages and reactions live', { timeout: 120000 }, async () => {
  const A = await newPage(browser);
  const B = await newPage(browser);
  try {
    const alice = uniqueName('alice');
    const bob = uniqueName('bob');
    await registerInUi(A.page, stack.uiBase, alice, 'Alice Archer');
    await registerInUi(B.page, stack.uiBase, bob, 'Bob Baker');
    const room = uniqueName('launch');
    await createRoom(A.page, room);
    await joinPublic(B.page, room);

    await send(A.page, 'Hello Bob, **welcome** to the _launch_ party!');
    await message(B.page, 'Hello Bob').waitFor();
    assert.equal(await message(B.page, 'Hello Bob').locator('strong').innerText(), 'welcome');
    // @mention autocomplete from the participants list.
    const bbox = composer(B.page);
    await bbox.fill(`Thanks @${alice.slice(0, 4)}`);
    await B.page.getByRole('option', { name: /Alice Archer/ }).waitFor();
    await bbox.press('Enter');
    assert.equal(await bbox.inputValue(), `Thanks @${alice} `);
    await bbox.pressSequentially('Glad to be here.');
    await bbox.press('Enter');
    await message(A.page, 'Glad to be here').waitFor();
    // A mention of me is highlighted and notified.
    await A.page.locator('.msg.mentions-me', { hasText: 'Glad to be here' }).waitFor();
    await A.page.locator('.toast', { hasText: 'mentioned you' }).waitFor();

    // Double-click adds a heart; the other window sees the count live.
    await message(B.page, 'Hello Bob').locator('.bubble').dblclick();
    await message(B.page, 'Hello Bob').getByRole('button', { name: /❤️ 1 reaction, including yours/ }).waitFor();
    await message(A.page, 'Hello Bob').getByRole('button', { name: /^❤️ 1 reaction$/ }).waitFor();
    // The picker adds another emoji; clicking a chip toggles it.
    const bobsMsg = message(A.page, 'Glad to be here');
    await bobsMsg.hover();
    await bobsMsg.getByRole('button', { name: 'Add reaction' }).click();
    await A.page.getByRole('button', { name: 'React with 🎉' }).click();
    await message(B.page, 'Glad to be here').getByRole('button', { name: /^🎉 1 reaction$/ }).waitFor();
    await message(A.page, 'Hello Bob').getByRole('button', { name: /❤️ 1/ }).click(); // Alice adds her own heart
    await message(B.page, 'Hello Bob').getByRole('button', { name: /❤️ 2 reactions, including yours/ }).waitFor();

    // Reply with a quoted preview, seen live on the other side.
    await message(B.page, 'Hello Bob').hover();
    await message(B.page, 'Hello Bob').getByRole('button', { name: 'Reply' }).click();
    await send(B.page, 'Replying to your hello');
    const reply = message(A.page, 'Replying to your hello');
    await reply.locator('.reply-quote', { hasText: 'Hello Bob' }).waitFor();
    await message(A.page, 'Hello Bob').getByRole('button', { name: '1 reply' }).click();
    await A.page.getByRole('region', { name: 'Thread messages' }).getByText('Replying to your hello').waitFor();
    await screenshot(A.page, 'chat-thread-desktop-light');
    await A.page.keyboard.press('Escape');

    // Edit with the Up arrow, seen live.
    await composer(A.page).click();
    await composer(A.page).press('ArrowUp');
    const edit = A.page.getByRole('textbox', { name: 'Edit message' });
    await edit.fill('Hello Bob, welcome (edited text)');
    await edit.press('Enter');
    await message(B.page, 'welcome (edited text)').locator('.edited').waitFor();

    // Unread badges update live while Alice is elsewhere.
    await createRoom(A.page, uniqueName('quiet'));
    await send(B.page, 'Are you still there?');
    const item = A.page.locator('.room-item', { hasText: room });
    await item.filter({ hasText: '1 unread' }).waitFor();
    assert.equal(await item.locator('.badge').innerText(), '1');
    await item.click();
    await A.page.locator('.divider-new').waitFor();
    await message(A.page, 'Are you still there?').waitFor();
    await item.filter({ hasNotText: 'unread' }).waitFor();
    assert.equal(await item.locator('.badge').count(), 0);

    // Polls: create, vote, live results.
    await A.page.getByRole('button', { name: 'Create a poll' }).click();
    const dlg = A.page.getByRole('dialog', { name: 'Create a poll' });
    await dlg.getByLabel('Question').fill('Pizza or tacos?');
    await dlg.getByLabel('Option 1').fill('Pizza');
    await dlg.getByLabel('Option 2').fill('Tacos');
    await dlg.getByRole('button', { name: 'Post poll' }).click();
    await B.page.getByRole('radio', { name: /^Tacos: 0 votes/ }).click();
    await A.page.getByRole('radio', { name: /^Tacos: 1 vote, 100%/ }).waitFor();

    await A.page.getByRole('button', { name: /^People/ }).click();
    await A.page.getByRole('heading', { name: /People/ }).waitFor();
    await A.page.locator('.person', { hasText: 'Bob Baker' }).waitFor();
    await screenshot(A.page, 'chat-people-desktop-light');
    await A.page.getByRole('button', { name: 'Close people list' }).click();

    for (const scheme of ['light', 'dark']) {
      await A.page.emulateMedia({ colorScheme: scheme });
      await A.page.setViewportSize({ width: 1280, height: 800 });
      await screenshot(A.page, `chat-desktop-${scheme}`);
      await A.page.setViewportSize({ width: 375, height: 812 });
      await screenshot(A.page, `chat-phone-${scheme}`);
    }
    assert.deepEqual([...A.dialogs, ...B.dialogs], []);
    assert.deepEqual([...A.errors, ...B.errors], []);
  } finally {
    await A.context.close();
    await B.context.close();
  }
});

test('hostile display names, room names and messages render as text', { timeout: 90000 }, async () => {
  const A = await newPage(browser);
  const B = await newPage(browser);
  try {
    const mallory = uniqueName('mallory');
    await registerInUi(A.page, stack.uiBase, mallory, XSS);
    await registerInUi(B.page, stack.uiBase, uniqueName('victim'), 'Victim');
    const roomName = `${XSS} room`;
    await A.page.getByRole('button', { name: '+ New room' }).click();
    const dialog = A.page.getByRole('dialog', { name: 'Create a room' });
    await dialog.getByLabel('Name').fill(roomName);
    await dialog.getByRole('button', { name: 'Create room' }).click();
    await composer(A.page).and(A.page.locator(':enabled')).waitFor();
    await joinPublic(B.page, roomName);
    const hostile = `${XSS} <script>alert(2)</script> [click](javascript:alert(3)) <a href="javascript:alert(4)">x</a> **still bold**`;
    await send(A.page, hostile);
    const msg = message(B.page, 'still bold');
    await msg.waitFor();
    const text = await msg.locator('.bubble').innerText();
    assert.ok(text.includes(XSS), text);
    assert.ok(text.includes('<script>alert(2)</script>'), text);
    assert.equal(await msg.locator('.bubble strong').innerText(), 'still bold');
    assert.equal(await B.page.locator('.messages img, .messages script, .sidebar img').count(), 0);
    const hrefs = await B.page.locator('.messages a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
    assert.ok(hrefs.every((h) => /^(https?|mailto):/.test(h ?? '')), JSON.stringify(hrefs));
    assert.equal(await msg.locator('.msg-author').innerText(), XSS);
    await B.page.getByRole('heading', { level: 1, name: roomName }).waitFor();
    await B.page.getByRole('button', { name: /^People/ }).click();
    await B.page.locator('.person-name', { hasText: XSS }).waitFor();
    await B.page.waitForTimeout(300);
    await screenshot(B.page, 'xss-desktop-light');
    assert.deepEqual([...A.dialogs, ...B.dialogs], [], 'no dialog may open');
    assert.deepEqual([...A.errors, ...B.errors], []);
    assert.equal(await B.page.evaluate(() => document.querySelectorAll('img[src="x"]').length), 0);
  } finally {
    await A.context.close();
    await B.context.close();
  }
});

test('the phone layout (375×812) has no horizontal scroll and the sidebar is a drawer', { timeout: 90000 }, async () => {
  const P = await newPage(browser, { viewport: { width: 375, height: 812 } });
  try {
    await P.page.goto(stack.uiBase + '/login');
    for (const scheme of ['light', 'dark']) {
      await P.page.emulateMedia({ colorScheme: scheme });
      await screenshot(P.page, `login-phone-${scheme}`);
    }
    await P.page.emulateMedia({ colorScheme: 'light' });
    let w = await noHorizontalScroll(P.page);
    assert.ok(w.scrollWidth <= w.width, JSON.stringify(w));
    const name = uniqueName('phone');
    await registerInUi(P.page, stack.uiBase, name, 'Phone User With A Rather Long Display Name');
    // No room yet: the empty state offers the actions.
    await P.page.getByRole('button', { name: 'Create a room' }).click();
    const dialog = P.page.getByRole('dialog', { name: 'Create a room' });
    await dialog.getByLabel('Name').fill('phone-room-with-a-very-long-name-that-should-be-truncated');
    await screenshot(P.page, 'create-room-phone-light');
    await dialog.getByRole('button', { name: 'Create room' }).click();
    await composer(P.page).and(P.page.locator(':enabled')).waitFor();
    await send(P.page, 'A long unbroken word: ' + 'x'.repeat(300));
    await send(P.page, '```\nconst veryLongCodeLine = "' + 'y'.repeat(200) + '";\n```');
    await send(P.page, 'https://example.com/' + 'z'.repeat(150));
    await message(P.page, 'https://example.com/').waitFor();
    w = await noHorizontalScroll(P.page);
    assert.ok(w.scrollWidth <= w.width, JSON.stringify(w));
    // Nothing in the message list is wider than the viewport.
    const wide = await P.page.evaluate(() => [...document.querySelectorAll('.messages *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest('pre'))
      .map((el) => el.className).slice(0, 5));
    assert.deepEqual(wide, []);
    // The room list is a drawer.
    assert.equal(await P.page.locator('#sidebar').isVisible(), false);
    await P.page.getByRole('button', { name: 'Open room list' }).click();
    await P.page.locator('#sidebar').getByRole('button', { name: /^phone-room/ }).waitFor();
    await P.page.waitForTimeout(400); // the drawer slides in
    await screenshot(P.page, 'drawer-phone-light');
    await P.page.keyboard.press('Escape');
    await P.page.locator('#sidebar').waitFor({ state: 'hidden' });
    w = await noHorizontalScroll(P.page);
    assert.ok(w.scrollWidth <= w.width, JSON.stringify(w));
  } finally {
    await P.context.close();
  }
});

test('scrolling up loads older history without moving what the reader sees', { timeout: 120000 }, async () => {
  const name = uniqueName('historian');
  const { token } = await registerApi(stack.apiBase, name, 'Historian');
  const room = await api(stack.apiBase, token, 'POST', '/api/chat/rooms', { name: uniqueName('history'), type: 'general' });
  for (let i = 1; i <= 130; i++) {
    await api(stack.apiBase, token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: `History message number ${i}` + (i % 7 === 0 ? '\nwith a second line' : '') });
  }
  const H = await newPage(browser);
  try {
    await loginInUi(H.page, stack.uiBase, name);
    await H.page.goto(`${stack.uiBase}/chat?room=${room.id}`);
    await message(H.page, 'History message number 130').waitFor();
    const list = H.page.getByRole('region', { name: /^Messages in/ });
    const count = () => H.page.locator('.messages [data-mid]').count();
    const first = await count();
    assert.ok(first >= 40 && first <= 60, `first page has ${first}`);
    // The newest message is in view (auto-scrolled to the bottom).
    await assert.doesNotReject(message(H.page, 'History message number 130').waitFor({ state: 'visible' }));
    for (let round = 0; round < 2; round++) {
      const before = await count();
      const firstId = await H.page.locator('.messages [data-mid]').first().getAttribute('data-mid');
      await list.evaluate((el) => { el.scrollTop = 0; });
      const anchor = H.page.locator(`.messages [data-mid="${firstId}"]`);
      const topBefore = (await anchor.boundingBox()).y;
      await H.page.waitForFunction((n) => document.querySelectorAll('.messages [data-mid]').length > n, before, { timeout: 10000 });
      await H.page.waitForTimeout(300);
      const topAfter = (await anchor.boundingBox()).y;
      assert.ok(Math.abs(topAfter - topBefore) <= 3, `anchor moved from ${topBefore} to ${topAfter}`);
    }
    await list.evaluate((el) => { el.scrollTop = 0; });
    await H.page.getByText(/This is the beginning of/).waitFor({ timeout: 10000 });
    await message(H.page, 'History message number 1').first().waitFor();
    assert.ok((await count()) >= 130, 'every message is loaded');
  } finally {
    await H.context.close();
  }
});

test('axe-core finds no serious or critical violations on the login and chat views', { timeout: 120000 }, async () => {
  const A = await newPage(browser);
  try {
    await A.page.goto(stack.uiBase + '/login');
    for (const scheme of ['light', 'dark']) {
      await A.page.emulateMedia({ colorScheme: scheme });
      await screenshot(A.page, `login-desktop-${scheme}`);
      assert.deepEqual(await runAxe(A.page), [], `login (${scheme})`);
    }
    await A.page.getByRole('tab', { name: 'Create account' }).click();
    assert.deepEqual(await runAxe(A.page), [], 'register form');
    const name = uniqueName('axe');
    await A.page.emulateMedia({ colorScheme: 'light' });
    await registerInUi(A.page, stack.uiBase, name, 'Axe Tester');
    assert.deepEqual(await runAxe(A.page), [], 'empty chat view');
    await createRoom(A.page, uniqueName('a11y'));
    await send(A.page, 'Some **bold**, `code`, a [link](https://example.com) and a list:\n- one\n- two\n> a quote');
    await send(A.page, `@${name} mentions themself`);
    await message(A.page, 'mentions themself').waitFor();
    await message(A.page, 'mentions themself').locator('.bubble').dblclick();
    await message(A.page, 'mentions themself').getByRole('button', { name: /❤️ 1/ }).waitFor();
    for (const scheme of ['light', 'dark']) {
      await A.page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await runAxe(A.page), [], `chat view (${scheme})`);
    }
    await A.page.getByRole('button', { name: /^People/ }).click();
    assert.deepEqual(await runAxe(A.page), [], 'people panel');
    await A.page.getByRole('button', { name: '+ New room' }).click();
    await A.page.getByRole('dialog', { name: 'Create a room' }).waitFor();
    assert.deepEqual(await runAxe(A.page), [], 'create-room modal');
    await screenshot(A.page, 'create-room-desktop-dark');
    await A.page.keyboard.press('Escape');
    await A.page.getByRole('dialog', { name: 'Create a room' }).waitFor({ state: 'detached' });
    assert.deepEqual(A.errors, []);
  } finally {
    await A.context.close();
  }
});

test('keyboard use: arrows between messages, reactions, delete, drafts kept per room, leaving', { timeout: 90000 }, async () => {
  const K = await newPage(browser);
  try {
    const name = uniqueName('keys');
    await registerInUi(K.page, stack.uiBase, name, 'Key Board');
    const first = uniqueName('first');
    await createRoom(K.page, first);
    await send(K.page, 'one');
    await send(K.page, 'two');
    await message(K.page, 'two').waitFor();
    // The newest message is the list's tab stop; arrows move between messages.
    await message(K.page, 'two').focus();
    await K.page.keyboard.press('ArrowUp');
    assert.equal(await K.page.evaluate(() => document.activeElement?.textContent?.includes('one')), true);
    await K.page.keyboard.press('Tab');
    assert.equal(await K.page.evaluate(() => document.activeElement?.getAttribute('aria-label')), 'Add reaction');
    await K.page.keyboard.press('Enter');
    await K.page.getByRole('dialog', { name: 'Add a reaction' }).waitFor();
    await K.page.waitForFunction(() => document.activeElement?.classList.contains('emoji-btn'));
    await K.page.keyboard.press('ArrowRight');
    await K.page.keyboard.press('Enter'); // the second emoji, 👍
    await message(K.page, 'one').getByRole('button', { name: /^👍 1 reaction, including yours/ }).waitFor();
    // Delete through the confirmation dialog.
    await message(K.page, 'two').hover();
    await message(K.page, 'two').getByRole('button', { name: 'Delete message' }).click();
    await K.page.getByRole('dialog', { name: 'Delete message?' }).getByRole('button', { name: 'Delete' }).click();
    await K.page.locator('.msg.deleted', { hasText: 'This message was deleted.' }).waitFor();
    // Drafts survive switching rooms and reloading.
    await composer(K.page).fill('half-written thought');
    const second = uniqueName('second');
    await createRoom(K.page, second);
    assert.equal(await composer(K.page).inputValue(), '');
    await K.page.locator('.room-item', { hasText: first }).click();
    await K.page.getByRole('heading', { level: 1, name: first }).waitFor();
    assert.equal(await composer(K.page).inputValue(), 'half-written thought');
    await K.page.reload();
    await K.page.getByRole('heading', { level: 1, name: first }).waitFor();
    assert.equal(await composer(K.page).inputValue(), 'half-written thought');
    // Shift+Enter adds a line instead of sending.
    await composer(K.page).and(K.page.locator(':enabled')).waitFor();
    await composer(K.page).press('End');
    await composer(K.page).press('Shift+Enter');
    assert.equal(await composer(K.page).inputValue(), 'half-written thought\n');
    // Leave the room.
    await K.page.getByRole('button', { name: `Leave ${first}` }).click();
    await K.page.getByRole('dialog', { name: 'Leave this room?' }).getByRole('button', { name: 'Leave room' }).click();
    await K.page.locator('.room-item', { hasText: first }).waitFor({ state: 'detached' });
    assert.deepEqual(K.errors, []);
  } finally {
    await K.context.close();
  }
});
