// Participant lists in pages, and quiet joins in large rooms (issue 12): the join
// answer carries a bounded page (staff, then who is online) with counts;
// GET …/participants pages by role and name, filters by online, searches by prefix;
// past the quiet threshold, self-joins and leaves are not announced to everyone.
//
// One server for the file, with the quiet threshold at 12 participants.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, collectEvents, connect, emitAck, register, sleep, startServer } from './harness.mjs';
import { show } from './chat-fixtures.mjs';

const QUIET_AT = 12;
let server;
const sockets = new Set();
let counter = 0;

before(async () => {
  server = await startServer({ env: { EVENTSYNC_QUIET_JOIN_THRESHOLD: String(QUIET_AT) } });
});
afterEach(() => {
  for (const s of sockets) s.disconnect();
  sockets.clear();
});
after(async () => {
  for (const s of sockets) s.disconnect();
  await server?.stop();
});

async function user(prefix) {
  counter += 1;
  const username = `${prefix}${String(counter).padStart(3, '0')}`;
  const body = await register(server.url, username);
  return { token: body.token, id: body.user.id, username };
}

async function socketFor(u) {
  const { socket } = await connect(server.url, { auth: { token: u.token } });
  sockets.add(socket);
  return socket;
}

async function restOk(u, method, path, body, status = 200) {
  const res = await api(server.url, u.token, method, path, body);
  assert.equal(res.status, status, `${method} ${path}: ${res.status} ${res.text}`);
  return res.body;
}

/** Every page of the list, following next_cursor. */
async function allPages(u, roomId, query) {
  const seen = [];
  let after = null;
  for (let guard = 0; guard < 100; guard += 1) {
    const q = new URLSearchParams(query);
    if (after) q.set('after', after);
    const page = await restOk(u, 'GET', `/api/chat/rooms/${roomId}/participants?${q}`);
    seen.push(...page.participants);
    if (!page.has_more) {
      assert.equal(page.next_cursor, null);
      return { seen, last: page };
    }
    assert.equal(typeof page.next_cursor, 'string', show(page));
    after = page.next_cursor;
  }
  throw new Error('pages did not end');
}

describe('participant pages and quiet joins', () => {
  test('pages cover everyone once, staff first then by name; online filter, prefix search and counts', async () => {
    const owner = await user('zed');
    const room = await restOk(owner, 'POST', '/api/chat/rooms', { type: 'group', name: 'Keynote', is_public: true }, 201);
    const people = [];
    for (let i = 0; i < 25; i += 1) {
      const u = await user(i % 5 === 0 ? 'mod' : 'att');
      await restOk(u, 'POST', `/api/chat/rooms/${room.id}/join`, {});
      people.push(u);
    }
    await restOk(owner, 'PUT', `/api/chat/rooms/${room.id}/moderators/${people[3].id}`, { permissions: ['mute'] });
    // Six attendees come online (plus the owner).
    const online = [people[1], people[2], people[7], people[11], people[18], people[24]];
    for (const u of online) await socketFor(u);
    await socketFor(owner);

    const { seen, last } = await allPages(owner, room.id, { limit: '7' });
    assert.equal(seen.length, 26);
    assert.equal(new Set(seen.map((p) => p.user.id)).size, 26, 'nobody twice');
    assert.equal(seen[0].user.id, owner.id, 'the owner first');
    assert.equal(seen[1].user.id, people[3].id, 'then moderators');
    const members = seen.slice(2).map((p) => p.user.username);
    assert.deepEqual(members, [...members].sort(), 'members by username');
    assert.equal(last.participant_count, 26);
    assert.equal(last.online_count, 7);

    const { seen: shown } = await allPages(owner, room.id, { status: 'online', limit: '3' });
    const expected = [owner, ...online].map((u) => u.id).sort((a, b) => a - b);
    assert.deepEqual(shown.map((p) => p.user.id).sort((a, b) => a - b), expected);
    assert.ok(shown.every((p) => p.presence.status === 'online'), show(shown.map((p) => p.presence)));

    const { seen: mods } = await allPages(owner, room.id, { q: 'MOD' });
    assert.deepEqual(mods.map((p) => p.user.username).sort(), people.filter((u) => u.username.startsWith('mod')).map((u) => u.username).sort());
    const { seen: none } = await allPages(owner, room.id, { q: '%' });
    assert.deepEqual(none, [], 'a LIKE wildcard is only a character');

    for (const bad of ['after=garbage', 'after=9:x', 'limit=0', 'limit=201', 'status=away']) {
      const res = await api(server.url, owner.token, 'GET', `/api/chat/rooms/${room.id}/participants?${bad}`);
      assert.ok([400, 422].includes(res.status), `${bad}: ${res.status} ${res.text}`);
      assert.equal(typeof res.body?.error?.code, 'string');
    }

    // Opening the room answers a bounded page: staff, then who is online, with counts.
    const latecomer = await user('att');
    const s = await socketFor(latecomer);
    const ack = await emitAck(s, 'join_chat_room', { room_id: room.id });
    assert.equal(ack?.ok, true, show(ack));
    assert.ok(ack.participants.length <= 50);
    assert.equal(ack.participant_count, 27);
    const order = ack.participants.map((p) => p.user.id);
    assert.deepEqual(order.slice(0, 2), [owner.id, people[3].id]);
    const firstOffline = ack.participants.findIndex((p, i) => i >= 2 && p.presence.status === 'offline');
    assert.ok(ack.participants.slice(firstOffline).every((p) => p.presence.status === 'offline' || p.role !== 'member'), 'online members before offline ones');
  });

  test('past the threshold, self-joins and leaves are quiet; below it they are announced', async () => {
    const owner = await user('host');
    const room = await restOk(owner, 'POST', '/api/chat/rooms', { type: 'group', name: 'Hall', is_public: true }, 201);
    const so = await socketFor(owner);
    assert.equal((await emitAck(so, 'join_chat_room', { room_id: room.id }))?.ok, true);
    const joins = collectEvents(so, 'user_joined_chat', (p) => p?.room_id === room.id);
    const counts = collectEvents(so, 'room_participant_count', (p) => p?.room_id === room.id);
    const members = [];
    for (let i = 0; i < QUIET_AT + 3; i += 1) {
      const u = await user('guest');
      await restOk(u, 'POST', `/api/chat/rooms/${room.id}/join`, {});
      members.push(u);
    }
    // The last one joins by socket: its own socket still learns it is in.
    const last = await user('guest');
    const sl = await socketFor(last);
    const own = collectEvents(sl, 'user_joined_chat', (p) => p?.room_id === room.id);
    assert.equal((await emitAck(sl, 'join_chat_room', { room_id: room.id }))?.ok, true);
    await sleep(300);
    joins.stop();
    own.stop();
    // The owner and QUIET_AT - 1 guests make QUIET_AT: later joins are quiet.
    assert.equal(joins.events.length, QUIET_AT - 1, show(joins.events.map((e) => e.user.username)));
    assert.equal(own.events.length, 1, 'the joiner hears of its own join');
    const history = await restOk(owner, 'GET', `/api/chat/rooms/${room.id}/messages?limit=100`);
    const notices = history.messages.filter((m) => m.type === 'system' && m.content.endsWith(' joined'));
    assert.equal(notices.length, QUIET_AT - 1, show(notices.map((m) => m.content)));
    // The count is pushed instead, a few times at most, not once per join.
    const total = QUIET_AT + 5;
    for (let i = 0; i < 40 && !counts.events.some((c) => c.participant_count === total); i += 1) await sleep(100);
    counts.stop();
    assert.ok(counts.events.some((c) => c.participant_count === total), show(counts.events));
    assert.ok(counts.events.length <= 4, `pushed ${counts.events.length} times`);
    // Messages still reach everyone, also the quiet joiners.
    const heard = collectEvents(sl, 'new_chat_message', (m) => m?.room_id === room.id);
    assert.equal((await emitAck(so, 'send_chat_message', { room_id: room.id, content: 'Welcome all' }))?.ok, true);
    await sleep(300);
    heard.stop();
    assert.deepEqual(heard.events.map((m) => m.content), ['Welcome all']);
    // A kick is counted at once and pushed with the next counts.
    const afterKick = collectEvents(so, 'room_participant_count', (p) => p?.room_id === room.id);
    await restOk(owner, 'POST', `/api/chat/rooms/${room.id}/kick`, { user_id: members[1].id });
    for (let i = 0; i < 40 && !afterKick.events.some((c) => c.participant_count === total - 1); i += 1) await sleep(100);
    afterKick.stop();
    assert.ok(afterKick.events.some((c) => c.participant_count === total - 1), show(afterKick.events));
    // Leaving is quiet too.
    const leaves = collectEvents(so, 'user_left_chat', (p) => p?.room_id === room.id);
    await restOk(members[0], 'POST', `/api/chat/rooms/${room.id}/leave`, {}, 204);
    await sleep(300);
    leaves.stop();
    assert.deepEqual(leaves.events, []);
  });
});
