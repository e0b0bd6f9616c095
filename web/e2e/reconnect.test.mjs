// The server restarts (same data dir and port); the page reconnects by itself, catches
// up on what was sent meanwhile (join_chat_room with `since`) and delivers what the user
// sent while the connection was down.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startStack, launchBrowser, newPage, loginInUi, registerApi, api, uniqueName, screenshot } from './harness.mjs';

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

test('the page reconnects after a server restart and shows messages sent meanwhile', { timeout: 120000, skip: process.env.EVENTSYNC_UI_BASE && process.env.EVENTSYNC_UI_BASE !== 'self' ? 'needs a server the harness can restart' : false }, async () => {
  const alice = uniqueName('alice');
  const bob = uniqueName('bob');
  const a = await registerApi(stack.apiBase, alice, 'Alice Reconnect');
  const b = await registerApi(stack.apiBase, bob, 'Bob Sender');
  const room = await api(stack.apiBase, a.token, 'POST', '/api/chat/rooms', { name: uniqueName('resilient'), type: 'general' });
  await api(stack.apiBase, b.token, 'POST', `/api/chat/rooms/${room.id}/join`);
  await api(stack.apiBase, b.token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: 'before the restart' });

  const A = await newPage(browser);
  const joins = [];
  A.page.on('websocket', (ws) => ws.on('framesent', (f) => {
    const text = typeof f.payload === 'string' ? f.payload : '';
    if (text.includes('"join_chat_room"')) joins.push(text);
  }));
  // Until the transport upgrades, Socket.IO sends over HTTP long-polling: right after a
  // reconnect the catch-up join often goes that way, not over the websocket.
  A.page.on('request', (r) => {
    if (r.method() !== 'POST' || !r.url().includes('/socket.io/')) return;
    for (const packet of (r.postData() ?? '').split('\x1e')) if (packet.includes('"join_chat_room"')) joins.push(packet);
  });
  try {
    await loginInUi(A.page, stack.uiBase, alice);
    await A.page.goto(`${stack.uiBase}/chat?room=${room.id}`);
    const msg = (t) => A.page.locator('.messages .msg:not(.pending)', { hasText: t });
    await msg('before the restart').waitFor();
    await A.page.locator('.conn[data-state="connected"]').waitFor();

    await stack.stopServer();
    await A.page.locator('.conn-banner', { hasText: 'Reconnecting' }).waitFor({ timeout: 15000 });
    // Typed while disconnected: kept as pending and sent (once) after the reconnect.
    const box = A.page.getByRole('combobox', { name: /^Message #/ });
    await box.fill('typed while offline');
    await box.press('Enter');
    await A.page.locator('.msg.pending', { hasText: 'typed while offline' }).waitFor();
    await screenshot(A.page, 'reconnecting-desktop-light');

    const joinsBefore = joins.length;
    await A.page.waitForTimeout(1500);
    await stack.startServerAgain();
    // Sent right away, most likely before the page's next reconnect attempt.
    await api(stack.apiBase, b.token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: 'sent during the outage 1' });
    await api(stack.apiBase, b.token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: 'sent during the outage 2' });

    await A.page.locator('.conn[data-state="connected"]').waitFor({ timeout: 30000 });
    await msg('sent during the outage 1').waitFor({ timeout: 15000 });
    await msg('sent during the outage 2').waitFor();
    await msg('typed while offline').waitFor({ timeout: 15000 });
    await A.page.locator('.conn-banner').waitFor({ state: 'detached' });
    // Live again after the catch-up.
    await api(stack.apiBase, b.token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: 'live after the restart' });
    await msg('live after the restart').waitFor();

    // Order is kept and nothing is duplicated.
    const texts = await A.page.locator('.messages .msg:not(.pending) .bubble').allInnerTexts();
    const ours = texts.filter((t) => /restart|outage|offline/.test(t));
    assert.equal(ours.length, 5, JSON.stringify(ours));
    const history = await api(stack.apiBase, b.token, 'GET', `/api/chat/rooms/${room.id}/messages`);
    assert.equal(history.messages.filter((m) => m.content === 'typed while offline').length, 1, 'sent exactly once');
    const serverOrder = history.messages.map((m) => m.content).filter((t) => t && /restart|outage|offline/.test(t));
    assert.deepEqual(ours.map((t) => t.trim()), serverOrder, 'the page shows the server order');
    // The reopened room asked for a replay after the last message it had seen.
    assert.ok(joins.slice(joinsBefore).some((j) => /"since":\d+/.test(j)), JSON.stringify(joins));
    assert.deepEqual(A.dialogs, []);
    assert.deepEqual(A.errors, []);
  } finally {
    await A.context.close();
  }
});

test('a gap in seq and resync_required make the page replay what it missed', { timeout: 90000 }, async () => {
  const alice = uniqueName('gappy');
  const bob = uniqueName('sender');
  const a = await registerApi(stack.apiBase, alice, 'Alice Gap');
  const b = await registerApi(stack.apiBase, bob, 'Bob Gap');
  const room = await api(stack.apiBase, a.token, 'POST', '/api/chat/rooms', { name: uniqueName('gaps'), type: 'general' });
  await api(stack.apiBase, b.token, 'POST', `/api/chat/rooms/${room.id}/join`);
  const post = (content) => api(stack.apiBase, b.token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content });
  await post('first of all');

  const A = await newPage(browser);
  // Sits between the page and the server's websocket: drops chosen broadcasts, injects others.
  let drop = () => false;
  let upgraded = false;
  let route = null;
  await A.page.routeWebSocket(/\/socket\.io\//, (ws) => {
    route = ws;
    const server = ws.connectToServer();
    ws.onMessage((m) => {
      if (m === '5') upgraded = true; // engine.io upgrade done: all traffic is on this socket now
      server.send(m);
    });
    server.onMessage((m) => {
      if (typeof m === 'string' && drop(m)) return;
      ws.send(m);
    });
  });
  try {
    await loginInUi(A.page, stack.uiBase, alice);
    await A.page.goto(`${stack.uiBase}/chat?room=${room.id}`);
    const msg = (t) => A.page.locator('.messages .msg:not(.pending)', { hasText: t });
    await msg('first of all').waitFor();
    for (let i = 0; i < 100 && !upgraded; i++) await A.page.waitForTimeout(100);
    assert.ok(upgraded, 'the socket upgraded to websocket');

    // A lost broadcast shows up as a seq gap on the next message.
    drop = (m) => m.startsWith('42["new_chat_message"') && m.includes('lost in transit');
    await post('lost in transit');
    await post('after the gap');
    await msg('after the gap').waitFor();
    await msg('lost in transit').waitFor({ timeout: 10000 });
    const texts = (await A.page.locator('.messages .msg:not(.pending) .bubble').allInnerTexts()).map((t) => t.trim());
    assert.deepEqual(texts.filter((t) => /transit|gap|first/.test(t)), ['first of all', 'lost in transit', 'after the gap']);

    // resync_required {room_ids}: rejoin with since.
    drop = (m) => m.startsWith('42["new_chat_message"') && m.includes('missed quietly');
    await post('missed quietly');
    await A.page.waitForTimeout(500);
    assert.equal(await msg('missed quietly').count(), 0);
    route.send(`42["resync_required",{"room_ids":[${JSON.stringify(room.id)}]}]`);
    await msg('missed quietly').waitFor({ timeout: 10000 });
    assert.deepEqual(A.errors, []);
  } finally {
    await A.context.close();
  }
});
