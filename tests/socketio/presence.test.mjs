// Presence, typing indicators and notifications, live (issue 9; SPEC §3-§5, §10).
//
// One server for the whole file, started with short timers so nothing sleeps long:
// presence grace 1 s, typing timeout 2 s, typing throttle 1 s (auto-away stays at its
// default of 300 s, far beyond any test). Every test uses fresh users and rooms, so the
// per-(user, room) typing throttle and the presence grace of one test never reach another.

import { after, afterEach, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, collectEvents, connect, emitAck, register, sleep, startServer, waitForEvent } from './harness.mjs';
import { assertAckError, show } from './chat-fixtures.mjs';

const GRACE_S = 1;
const TYPING_TIMEOUT_S = 2;
const TYPING_THROTTLE_S = 1;

const ENV = {
  EVENTSYNC_PRESENCE_GRACE_SECONDS: String(GRACE_S),
  EVENTSYNC_TYPING_TIMEOUT_SECONDS: String(TYPING_TIMEOUT_S),
  EVENTSYNC_TYPING_THROTTLE_SECONDS: String(TYPING_THROTTLE_S),
};

// ---------------------------------------------------------------------------
// File fixture (like chat-fixtures.mjs's chatFixture, but with the settings above).

let server;
const sockets = new Set();
let userCounter = 0;

before(async () => {
  server = await startServer({ env: ENV });
});

function closeSockets() {
  for (const socket of sockets) socket.disconnect();
  sockets.clear();
}

afterEach(() => closeSockets());

after(async () => {
  closeSockets();
  await server?.stop();
});

async function user(prefix = 'user') {
  userCounter += 1;
  const username = `${prefix}${userCounter}`.slice(0, 32);
  const body = await register(server.url, username);
  assert.equal(typeof body.token, 'string');
  return { token: body.token, user: body.user, id: body.user.id, username };
}

async function socketFor(u) {
  const { socket } = await connect(server.url, { auth: { token: u.token } });
  sockets.add(socket);
  return socket;
}

function rest(u, method, path, body) {
  return api(server.url, u?.token, method, path, body);
}

async function restOk(u, method, path, body, status = 200) {
  const res = await rest(u, method, path, body);
  assert.equal(res.status, status, `${method} ${path}: expected ${status}, got ${res.status}: ${res.text}`);
  return res.body;
}

async function restError(u, method, path, body, status, code) {
  const res = await rest(u, method, path, body);
  assert.equal(res.status, status, `${method} ${path} ${show(body)}: expected ${status} ${code}, got ${res.status}: ${res.text}`);
  assert.equal(res.body?.error?.code, code, `${method} ${path} ${show(body)}: expected code ${code}, got ${res.text}`);
  assert.equal(typeof res.body.error.message, 'string');
  return res;
}

/** Owner creates a non-public group room and adds `members`. */
async function groupRoom(owner, members = [], name = 'group') {
  const room = await restOk(owner, 'POST', '/api/chat/rooms', { name, type: 'group' }, 201);
  assert.equal(typeof room.id, 'number', show(room));
  if (members.length > 0) {
    await restOk(owner, 'POST', `/api/chat/rooms/${room.id}/participants`, { user_ids: members.map((m) => m.id) });
  }
  return room;
}

/** A direct message between `a` and `b` (a `private` room with exactly one other user). */
async function directRoom(a, b) {
  const dm = await restOk(a, 'POST', '/api/chat/rooms', { type: 'private', participant_ids: [b.id] }, 201);
  assert.equal(dm.is_direct, true, `not a direct message: ${show(dm)}`);
  return dm;
}

async function sendSocket(socket, roomId, content, extra = {}) {
  const ack = await emitAck(socket, 'send_chat_message', { room_id: roomId, content, ...extra });
  assert.equal(ack?.ok, true, `send_chat_message: ${show(ack)}`);
  assert.equal(typeof ack.message?.id, 'number', show(ack));
  return ack.message;
}

function sendRest(u, roomId, content, extra = {}) {
  return restOk(u, 'POST', `/api/chat/rooms/${roomId}/messages`, { content, ...extra }, 201);
}

async function joinSocket(socket, roomId) {
  const ack = await emitAck(socket, 'join_chat_room', { room_id: roomId });
  assert.equal(ack?.ok, true, `join_chat_room: ${show(ack)}`);
  return ack;
}

/** `viewer`'s view of `target`'s presence through GET /api/chat/presence?user_ids=… */
async function presenceOf(viewer, target) {
  const body = await restOk(viewer, 'GET', `/api/chat/presence?user_ids=${target.id}`);
  assert.ok(Array.isArray(body?.presence), `GET /api/chat/presence has no presence array: ${show(body)}`);
  const entry = body.presence.find((p) => p?.user_id === target.id);
  assert.ok(entry, `GET /api/chat/presence: no entry for user ${target.id}: ${show(body)}`);
  return entry;
}

/** waitForEvent, whose timeout names the line that set up the wait. */
function waitFor(socket, name, predicate, ms) {
  const where = new Error().stack
    .split('\n')
    .slice(2)
    .filter((line) => line.includes('presence.test.mjs'))
    .map((line) => line.replace(/^.*presence\.test\.mjs:(\d+):\d+.*$/, 'line $1'))
    .join(' < ');
  const promise = waitForEvent(socket, name, predicate, ms).catch((err) => {
    throw new Error(`${err.message} (${where})`);
  });
  promise.catch(() => {});
  return promise;
}

function isTime(value) {
  return typeof value === 'string' && !Number.isNaN(Date.parse(value));
}

/** A presence object `{user_id, status, custom_message, last_active_at}`. */
function assertPresence(p, { userId, status, customMessage = null, activeAt = true }, what = 'presence') {
  if (userId !== undefined) assert.equal(p?.user_id, userId, `${what}: user_id: ${show(p)}`);
  assert.equal(p?.status, status, `${what}: status: ${show(p)}`);
  assert.ok(Object.hasOwn(p, 'custom_message'), `${what}: no custom_message field: ${show(p)}`);
  assert.equal(p.custom_message, customMessage, `${what}: custom_message: ${show(p)}`);
  assert.ok(Object.hasOwn(p, 'last_active_at'), `${what}: no last_active_at field: ${show(p)}`);
  if (activeAt) assert.ok(isTime(p.last_active_at), `${what}: last_active_at is not an RFC 3339 time: ${show(p)}`);
}

const presenceFields = (p) => ({
  user_id: p?.user_id,
  status: p?.status,
  custom_message: p?.custom_message,
  last_active_at: p?.last_active_at,
});

async function updatePresence(socket, body) {
  const ack = await emitAck(socket, 'update_presence', body);
  assert.equal(ack?.ok, true, `update_presence ${show(body)}: ${show(ack)}`);
  assert.ok(ack.presence && typeof ack.presence === 'object', `update_presence ack has no presence: ${show(ack)}`);
  return ack.presence;
}

const of = (u, roomId) => (p) => p?.user?.id === u.id && p?.room_id === roomId;

/** Every typing event on `socket` for `roomId`, in arrival order, with times. */
function recordTyping(socket, roomId) {
  const log = [];
  const handler = (name, payload) => {
    if (!['user_typing_start', 'user_typing_stop', 'new_chat_message'].includes(name)) return;
    if (payload?.room_id !== roomId) return;
    log.push({ name, payload, at: Date.now() });
  };
  socket.onAny(handler);
  return { log, stop: () => socket.offAny(handler) };
}

// ---------------------------------------------------------------------------

describe('presence (SPEC §5)', () => {
  test('a user with two sockets stays online until both close and the grace period passes; then co-members get offline', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await groupRoom(alice, [bob], 'two-tabs');
    const sa = await socketFor(alice);
    await sleep(200);

    const seen = collectEvents(sa, 'presence_updated', (p) => p?.user_id === bob.id);
    const cameOnline = waitFor(sa, 'presence_updated', (p) => p?.user_id === bob.id && p.status === 'online');
    const sb1 = await socketFor(bob);
    assertPresence(await cameOnline, { userId: bob.id, status: 'online' }, 'presence_updated on first connect');
    const sb2 = await socketFor(bob);
    await sleep(300);
    assert.deepEqual(seen.events.map((p) => p.status), ['online'], `a second socket re-announced: ${show(seen.events)}`);
    assertPresence(await presenceOf(alice, bob), { userId: bob.id, status: 'online' }, 'GET presence, two sockets');

    // One tab closes: still online, well past the grace period.
    sb1.disconnect();
    await sleep(GRACE_S * 1000 + 800);
    assert.deepEqual(seen.events.map((p) => p.status), ['online'], `went offline with a socket still open: ${show(seen.events)}`);
    assertPresence(await presenceOf(alice, bob), { userId: bob.id, status: 'online' }, 'GET presence, one socket left');

    // The last one closes: still online during the grace period, offline after it.
    const wentOffline = waitFor(sa, 'presence_updated', (p) => p?.user_id === bob.id && p.status === 'offline', 6000);
    const closedAt = Date.now();
    sb2.disconnect();
    await sleep(300);
    assertPresence(await presenceOf(alice, bob), { userId: bob.id, status: 'online' }, 'GET presence inside the grace period');
    const off = await wentOffline;
    const elapsed = Date.now() - closedAt;
    assert.ok(elapsed >= GRACE_S * 1000 - 200, `offline after ${elapsed} ms, before the ${GRACE_S} s grace period`);
    assertPresence(off, { userId: bob.id, status: 'offline' }, 'presence_updated offline');
    assertPresence(await presenceOf(alice, bob), { userId: bob.id, status: 'offline' }, 'GET presence after the grace period');
    seen.stop();
    assert.deepEqual(seen.events.map((p) => p.status), ['online', 'offline'], show(seen.events));
  });

  test('a reconnect inside the grace period sends no offline/online flicker', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await groupRoom(alice, [bob], 'reload');
    const sa = await socketFor(alice);
    const sb1 = await socketFor(bob);
    await sleep(300);
    assertPresence(await presenceOf(alice, bob), { userId: bob.id, status: 'online' }, 'before the reload');

    const seen = collectEvents(sa, 'presence_updated', (p) => p?.user_id === bob.id);
    sb1.disconnect(); // page reload: the old socket closes...
    await sleep(300);
    await socketFor(bob); // ...and the new one connects inside the grace period
    await sleep(GRACE_S * 1000 + 1000);
    seen.stop();
    assert.deepEqual(seen.events, [], `a reload flickered presence to co-members: ${show(seen.events)}`);
    assertPresence(await presenceOf(alice, bob), { userId: bob.id, status: 'online' }, 'after the reload');
  });

  test('invisible looks offline to others (socket, REST, participant list) and invisible to the user', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await groupRoom(alice, [bob], 'ghost');
    const sa = await socketFor(alice);
    const sb1 = await socketFor(bob);
    const sb2 = await socketFor(bob);
    await sleep(300);

    const aliceSees = waitFor(sa, 'presence_updated', (p) => p?.user_id === bob.id);
    const bobSees = waitFor(sb2, 'presence_updated', (p) => p?.user_id === bob.id);
    const own = await updatePresence(sb1, { status: 'invisible' });
    assertPresence(own, { userId: bob.id, status: 'invisible' }, 'update_presence ack');
    const toAlice = await aliceSees;
    assertPresence(toAlice, { userId: bob.id, status: 'offline', activeAt: false }, 'presence_updated to a co-member');
    assertPresence(await bobSees, { userId: bob.id, status: 'invisible' }, 'presence_updated to the user\'s other socket');

    assertPresence(await presenceOf(alice, bob), { userId: bob.id, status: 'offline', activeAt: false }, 'GET presence by a co-member');
    assertPresence(await presenceOf(bob, bob), { userId: bob.id, status: 'invisible' }, 'GET presence by the user');

    const byAlice = await restOk(alice, 'GET', `/api/chat/rooms/${room.id}/participants`);
    const bobForAlice = byAlice.participants.find((p) => p.user?.id === bob.id);
    assert.equal(bobForAlice?.presence?.status, 'offline', `participant list to a co-member: ${show(bobForAlice)}`);
    assert.equal(bobForAlice.presence.custom_message, null, show(bobForAlice));
    const byBob = await restOk(bob, 'GET', `/api/chat/rooms/${room.id}/participants`);
    const bobForBob = byBob.participants.find((p) => p.user?.id === bob.id);
    assert.equal(bobForBob?.presence?.status, 'invisible', `participant list to the user: ${show(bobForBob)}`);

    // Coming back from invisible is a change others see.
    const back = waitFor(sa, 'presence_updated', (p) => p?.user_id === bob.id && p.status === 'online');
    assertPresence(await updatePresence(sb1, { status: 'online' }), { userId: bob.id, status: 'online' }, 'back online ack');
    assertPresence(await back, { userId: bob.id, status: 'online' }, 'back online broadcast');
  });

  test('presence changes reach co-members (once each) and the user\'s other sockets, never strangers', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol'); // shares a room with Alice, not with Bob
    const dave = await user('dave'); // shares no room with anyone
    await groupRoom(alice, [bob], 'shared-1');
    await groupRoom(bob, [alice], 'shared-2'); // Alice and Bob share two rooms
    await groupRoom(alice, [carol], 'alice-carol');
    const sa = await socketFor(alice);
    const sb1 = await socketFor(bob);
    const sb2 = await socketFor(bob);
    const sc = await socketFor(carol);
    const sd = await socketFor(dave);
    await sleep(300);

    const atAlice = collectEvents(sa, 'presence_updated', (p) => p?.user_id === bob.id);
    const atCarol = collectEvents(sc, 'presence_updated', (p) => p?.user_id === bob.id);
    const atDave = collectEvents(sd, 'presence_updated', (p) => p?.user_id === bob.id);
    const aliceGets = waitFor(sa, 'presence_updated', (p) => p?.user_id === bob.id && p.status === 'busy');
    const bobGets = waitFor(sb2, 'presence_updated', (p) => p?.user_id === bob.id && p.status === 'busy');

    const answer = await restOk(bob, 'PUT', '/api/chat/presence', { status: 'busy', custom_message: 'In a meeting' });
    assertPresence(answer, { userId: bob.id, status: 'busy', customMessage: 'In a meeting' }, 'PUT /api/chat/presence');
    assertPresence(await aliceGets, { userId: bob.id, status: 'busy', customMessage: 'In a meeting' }, 'to co-member');
    assertPresence(await bobGets, { userId: bob.id, status: 'busy', customMessage: 'In a meeting' }, 'to own socket');
    await sleep(700);
    atAlice.stop();
    atCarol.stop();
    atDave.stop();
    assert.equal(atAlice.events.length, 1, `a co-member sharing two rooms should hear a change once: ${show(atAlice.events)}`);

    // The batch lookup, as Alice sees it.
    const batch = await restOk(alice, 'GET', `/api/chat/presence?user_ids=${bob.id},${carol.id}`);
    assert.ok(Array.isArray(batch?.presence), show(batch));
    const byId = [...batch.presence].sort((x, y) => x.user_id - y.user_id);
    assert.equal(byId.length, 2, `batch answer: ${show(batch)}`);
    assertPresence(byId[0], { userId: bob.id, status: 'busy', customMessage: 'In a meeting' }, 'batch entry for bob');
    assertPresence(byId[1], { userId: carol.id, status: 'online' }, 'batch entry for carol');
    assert.deepEqual(atCarol.events, [], `presence leaked to a user sharing no room: ${show(atCarol.events)}`);
    assert.deepEqual(atDave.events, [], `presence leaked to a user in no room: ${show(atDave.events)}`);
    void sb1;
  });

  test('update_presence and PUT /api/chat/presence are the same call; clear_after_seconds clears the message', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    await groupRoom(alice, [bob], 'same-call');
    const sa = await socketFor(alice);
    const sb1 = await socketFor(bob);
    const sb2 = await socketFor(bob);
    await sleep(300);

    // Over the socket.
    let toAlice = waitFor(sa, 'presence_updated', (p) => p?.user_id === bob.id && p.status === 'away');
    let toOther = waitFor(sb2, 'presence_updated', (p) => p?.user_id === bob.id && p.status === 'away');
    const viaSocket = await updatePresence(sb1, { status: 'away', custom_message: 'lunch' });
    assertPresence(viaSocket, { userId: bob.id, status: 'away', customMessage: 'lunch' }, 'update_presence ack');
    assert.deepEqual(presenceFields(await toAlice), presenceFields(viaSocket), 'broadcast differs from the socket ack');
    assert.deepEqual(presenceFields(await toOther), presenceFields(viaSocket), 'own-socket broadcast differs from the ack');
    const got = await presenceOf(bob, bob);
    assertPresence(got, { userId: bob.id, status: 'away', customMessage: 'lunch' }, 'GET after update_presence');
    assertPresence(await presenceOf(alice, bob), { userId: bob.id, status: 'away', customMessage: 'lunch' }, 'GET by co-member');

    // Over REST: same answer shape, same broadcast, also to every socket of the user.
    toAlice = waitFor(sa, 'presence_updated', (p) => p?.user_id === bob.id && p.status === 'busy');
    toOther = waitFor(sb1, 'presence_updated', (p) => p?.user_id === bob.id && p.status === 'busy');
    const viaRest = await restOk(bob, 'PUT', '/api/chat/presence', { status: 'busy', custom_message: 'focus' });
    assertPresence(viaRest, { userId: bob.id, status: 'busy', customMessage: 'focus' }, 'PUT answer');
    assert.deepEqual(Object.keys(viaRest).sort(), Object.keys(viaSocket).sort(), 'REST answer and socket ack have different fields');
    assert.deepEqual(presenceFields(await toAlice), presenceFields(viaRest), 'broadcast differs from the REST answer');
    assert.deepEqual(presenceFields(await toOther), presenceFields(viaRest), 'own-socket broadcast differs from the REST answer');
    assertPresence(await presenceOf(bob, bob), { userId: bob.id, status: 'busy', customMessage: 'focus' }, 'GET after PUT');

    // clear_after_seconds (both ways take it): the custom message goes, the status stays.
    const cleared = waitFor(
      sa,
      'presence_updated',
      (p) => p?.user_id === bob.id && p.status === 'busy' && p.custom_message === null,
      6000,
    );
    const timed = await updatePresence(sb1, { status: 'busy', custom_message: 'back in 1s', clear_after_seconds: 1 });
    assertPresence(timed, { userId: bob.id, status: 'busy', customMessage: 'back in 1s' }, 'ack with clear_after_seconds');
    assertPresence(await cleared, { userId: bob.id, status: 'busy' }, 'broadcast when the message is cleared');
    assertPresence(await presenceOf(bob, bob), { userId: bob.id, status: 'busy' }, 'GET after the message expired');
  });

  test('participant lists (REST and join_chat_room) carry presence; joins and leaves are announced', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await restOk(alice, 'POST', '/api/chat/rooms', { name: 'lobby', type: 'general' }, 201);
    assert.equal(room.is_public, true, show(room));
    const sa = await socketFor(alice);
    const sb = await socketFor(bob);
    await sleep(200);

    const joined = waitFor(sa, 'user_joined_chat', of(bob, room.id));
    const j = await rest(bob, 'POST', `/api/chat/rooms/${room.id}/join`);
    assert.equal(j.status, 200, `join: ${j.status} ${j.text}`);
    const jev = await joined;
    assert.equal(jev.user.username, bob.username, show(jev));

    await restOk(bob, 'PUT', '/api/chat/presence', { status: 'busy', custom_message: 'deep work' });
    const list = await restOk(alice, 'GET', `/api/chat/rooms/${room.id}/participants`);
    assert.ok(Array.isArray(list?.participants), show(list));
    const bobEntry = list.participants.find((p) => p.user?.id === bob.id);
    assert.ok(bobEntry, `bob missing from participants: ${show(list)}`);
    assert.equal(bobEntry.presence?.status, 'busy', show(bobEntry));
    assert.equal(bobEntry.presence.custom_message, 'deep work', show(bobEntry));
    assert.ok(isTime(bobEntry.presence.last_active_at), `participant last_active_at: ${show(bobEntry)}`);
    const aliceEntry = list.participants.find((p) => p.user?.id === alice.id);
    assert.equal(aliceEntry?.presence?.status, 'online', show(aliceEntry));
    assert.ok(isTime(aliceEntry.presence.last_active_at), show(aliceEntry));

    const ack = await joinSocket(sa, room.id);
    const inAck = ack.participants.find((p) => p.user?.id === bob.id);
    assert.equal(inAck?.presence?.status, 'busy', `join_chat_room participants: ${show(inAck)}`);
    assert.equal(inAck.presence.custom_message, 'deep work', show(inAck));

    const left = waitFor(sa, 'user_left_chat', of(bob, room.id));
    await restOk(bob, 'POST', `/api/chat/rooms/${room.id}/leave`, undefined, 204);
    const lev = await left;
    assert.equal(lev.user.username, bob.username, show(lev));
    void sb;
  });

  test('bad statuses and over-long custom messages are refused (invalid_status, invalid_field) and change nothing', async () => {
    const bob = await user('bob');
    const sb = await socketFor(bob);
    await sleep(200);

    for (const status of ['offline', 'sleeping', '', 'ONLINE']) {
      await restError(bob, 'PUT', '/api/chat/presence', { status }, 422, 'invalid_status');
      assertAckError(await emitAck(sb, 'update_presence', { status }), 'invalid_status', `update_presence ${status}`);
    }
    const long = 'x'.repeat(101);
    await restError(bob, 'PUT', '/api/chat/presence', { status: 'busy', custom_message: long }, 422, 'invalid_field');
    assertAckError(
      await emitAck(sb, 'update_presence', { status: 'busy', custom_message: long }),
      'invalid_field',
      'update_presence with 101 characters',
    );
    assertPresence(await presenceOf(bob, bob), { userId: bob.id, status: 'online' }, 'after refused updates');

    // 100 characters (not bytes) is fine.
    const hundred = 'é'.repeat(100);
    const ok = await restOk(bob, 'PUT', '/api/chat/presence', { status: 'busy', custom_message: hundred });
    assertPresence(ok, { userId: bob.id, status: 'busy', customMessage: hundred }, 'PUT with 100 characters');
  });
});

// ---------------------------------------------------------------------------

describe('typing indicators (SPEC §5)', () => {
  test('typing reaches the other participants, never the typist\'s sockets or outsiders; outsiders are refused', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const carol = await user('carol');
    const room = await groupRoom(alice, [bob], 'typing');
    const lobby = await restOk(alice, 'POST', '/api/chat/rooms', { name: 'typing-lobby', type: 'general' }, 201);
    const sa1 = await socketFor(alice);
    const sa2 = await socketFor(alice);
    const sb = await socketFor(bob);
    const sc = await socketFor(carol);
    await sleep(200);

    const leaks = [sa1, sa2, sc].flatMap((s) => [collectEvents(s, 'user_typing_start'), collectEvents(s, 'user_typing_stop')]);

    const started = waitFor(sb, 'user_typing_start', of(alice, room.id), 3000);
    const startAck = await emitAck(sa1, 'chat_typing_start', { room_id: room.id });
    assert.equal(startAck?.ok, true, `chat_typing_start: ${show(startAck)}`);
    const s = await started;
    assert.equal(s.user.username, alice.username, show(s));

    // An explicit stop arrives long before the 2 s timeout could produce one.
    const stopped = waitFor(sb, 'user_typing_stop', of(alice, room.id), 1000);
    const stopAck = await emitAck(sa1, 'chat_typing_stop', { room_id: room.id });
    assert.equal(stopAck?.ok, true, `chat_typing_stop: ${show(stopAck)}`);
    const st = await stopped;
    assert.equal(st.user.username, alice.username, show(st));

    // Outsiders: a room they may not see, one they may see but are not in.
    assertAckError(await emitAck(sc, 'chat_typing_start', { room_id: room.id }), 'not_found', 'typing in an invisible room');
    assertAckError(await emitAck(sc, 'chat_typing_start', { room_id: lobby.id }), 'not_participant', 'typing in a public room not joined');
    assertAckError(await emitAck(sc, 'chat_typing_start', { room_id: 987654321 }), 'not_found', 'typing in an unknown room');

    await sleep(500);
    for (const { events, stop } of leaks) {
      stop();
      assert.deepEqual(events, [], `typing echoed to the typist or leaked to an outsider: ${show(events)}`);
    }
  });

  test('typing stops by itself after the timeout without renewal', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await groupRoom(alice, [bob], 'expiry');
    const sa = await socketFor(alice);
    const sb = await socketFor(bob);
    await sleep(200);
    const echo = collectEvents(sa, 'user_typing_stop');

    const started = waitFor(sb, 'user_typing_start', of(alice, room.id), 3000);
    const stopped = waitFor(sb, 'user_typing_stop', of(alice, room.id), TYPING_TIMEOUT_S * 1000 + 4000);
    const ack = await emitAck(sa, 'chat_typing_start', { room_id: room.id });
    const startedAt = Date.now();
    assert.equal(ack?.ok, true, `chat_typing_start: ${show(ack)}`);
    await started;
    const ev = await stopped;
    const elapsed = Date.now() - startedAt;
    assert.ok(elapsed >= TYPING_TIMEOUT_S * 1000 - 500, `typing expired after ${elapsed} ms, timeout is ${TYPING_TIMEOUT_S} s`);
    assert.equal(ev.user.username, alice.username, show(ev));
    echo.stop();
    assert.deepEqual(echo.events, [], `typing stop echoed to the typist: ${show(echo.events)}`);
  });

  test('sending a message stops typing (socket and REST send), with no later expiry stop', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await groupRoom(alice, [bob], 'send-stops');
    const sa = await socketFor(alice);
    const sb = await socketFor(bob);
    await sleep(200);
    const rec = recordTyping(sb, room.id);

    for (const via of ['socket', 'rest']) {
      const started = waitFor(sb, 'user_typing_start', of(alice, room.id), 3000);
      const ack = await emitAck(sa, 'chat_typing_start', { room_id: room.id });
      assert.equal(ack?.ok, true, `chat_typing_start: ${show(ack)}`);
      await started;
      const before = rec.log.length;
      // Well inside the 2 s timeout, so only the send can explain the stop.
      const stopped = waitFor(sb, 'user_typing_stop', of(alice, room.id), 1200);
      const delivered = waitFor(sb, 'new_chat_message', (m) => m?.room_id === room.id && m.content === `sent via ${via}`);
      const msg = via === 'socket'
        ? await sendSocket(sa, room.id, `sent via ${via}`)
        : await sendRest(alice, room.id, `sent via ${via}`);
      await delivered;
      await stopped;
      const since = rec.log.slice(before);
      const iStop = since.findIndex((e) => e.name === 'user_typing_stop');
      const iMsg = since.findIndex((e) => e.name === 'new_chat_message' && e.payload.id === msg.id);
      assert.ok(
        iStop < iMsg || since[iStop].at - since[iMsg].at <= 300,
        `${via}: user_typing_stop came well after the message: ${show(since.map((e) => [e.name, e.at]))}`,
      );
      // Past the timeout: the send ended typing, so no second stop from the expiry timer.
      await sleep(TYPING_TIMEOUT_S * 1000 + 700);
      const stops = rec.log.slice(before).filter((e) => e.name === 'user_typing_stop');
      assert.equal(stops.length, 1, `${via}: expected exactly one user_typing_stop: ${show(stops)}`);
    }
    rec.stop();
  });

  test('the typist disconnecting stops typing', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await groupRoom(alice, [bob], 'disconnect-stops');
    const sa = await socketFor(alice);
    const sb = await socketFor(bob);
    await sleep(200);

    const started = waitFor(sb, 'user_typing_start', of(alice, room.id), 3000);
    const ack = await emitAck(sa, 'chat_typing_start', { room_id: room.id });
    assert.equal(ack?.ok, true, `chat_typing_start: ${show(ack)}`);
    await started;
    // Well inside the 2 s timeout, so only the disconnect can explain the stop.
    const stopped = waitFor(sb, 'user_typing_stop', of(alice, room.id), 1000);
    sa.disconnect();
    const ev = await stopped;
    assert.equal(ev.user.username, alice.username, show(ev));
  });

  test('a typing flood yields throttled broadcasts and keeps typing alive until it ends', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await groupRoom(alice, [bob], 'flood');
    const sa = await socketFor(alice);
    const sb = await socketFor(bob);
    await sleep(200);
    const starts = collectEvents(sb, 'user_typing_start', of(alice, room.id));
    const stops = collectEvents(sb, 'user_typing_stop', of(alice, room.id));

    // 20 starts within 1 s.
    const acks = [];
    for (let i = 0; i < 20; i += 1) {
      acks.push(emitAck(sa, 'chat_typing_start', { room_id: room.id }));
      await sleep(50);
    }
    const lastStartAt = Date.now();
    for (const ack of await Promise.all(acks)) {
      assert.equal(ack?.ok, true, `a throttled chat_typing_start is still acked ok: ${show(ack)}`);
    }
    await sleep(300);
    assert.ok(starts.events.length >= 1, 'no user_typing_start at all');
    const bound = 1 + 1 / TYPING_THROTTLE_S;
    assert.ok(starts.events.length <= bound, `${starts.events.length} user_typing_start for 20 starts in 1 s (max ${bound})`);
    assert.deepEqual(stops.events, [], `typing expired while being renewed: ${show(stops.events)}`);

    // The last renewal starts the timeout.
    const expired = waitFor(sb, 'user_typing_stop', of(alice, room.id), TYPING_TIMEOUT_S * 1000 + 4000);
    await expired;
    const elapsed = Date.now() - lastStartAt;
    assert.ok(elapsed >= TYPING_TIMEOUT_S * 1000 - 500, `expired ${elapsed} ms after the last renewal`);
    starts.stop();
    stops.stop();
    assert.ok(starts.events.length <= bound, `${starts.events.length} user_typing_start in total (max ${bound})`);
  });

  test('a muted user\'s typing is refused with muted', async (t) => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await groupRoom(alice, [bob], 'muted-typing');
    const sb = await socketFor(bob);

    const before = await emitAck(sb, 'chat_typing_start', { room_id: room.id });
    assert.equal(before?.ok, true, `chat_typing_start before the mute: ${show(before)}`);
    assert.equal((await emitAck(sb, 'chat_typing_stop', { room_id: room.id }))?.ok, true);

    const spec = await restOk(null, 'GET', '/api/openapi.json');
    if (!spec?.paths?.['/api/chat/rooms/{id}/mute']) {
      t.skip('no mute endpoint (POST /api/chat/rooms/{id}/mute) on this server yet');
      return;
    }
    const muted = await rest(alice, 'POST', `/api/chat/rooms/${room.id}/mute`, { user_id: bob.id, duration_seconds: 600 });
    assert.ok(muted.status >= 200 && muted.status < 300, `mute: ${muted.status} ${muted.text}`);
    assertAckError(await emitAck(sb, 'chat_typing_start', { room_id: room.id }), 'muted', 'typing while muted');
  });
});

// ---------------------------------------------------------------------------

describe('notifications (SPEC §4, §10)', () => {
  const pick = (n) => ({ kind: n.kind, room_id: n.room_id, message_id: n.message_id });

  function assertNotification(n, { kind, roomId, messageId, actor }, what) {
    assert.equal(typeof n?.id, 'number', `${what}: id: ${show(n)}`);
    assert.equal(n.kind, kind, `${what}: kind: ${show(n)}`);
    assert.equal(n.room_id, roomId, `${what}: room_id: ${show(n)}`);
    assert.equal(n.message_id, messageId, `${what}: message_id: ${show(n)}`);
    assert.equal(n.actor?.id, actor.id, `${what}: actor: ${show(n)}`);
    assert.equal(n.actor.username, actor.username, `${what}: actor: ${show(n)}`);
    assert.ok(isTime(n.created_at), `${what}: created_at: ${show(n)}`);
    assert.equal(n.read_at, null, `${what}: read_at: ${show(n)}`);
  }

  async function listNotifications(u, query = '') {
    const body = await restOk(u, 'GET', `/api/chat/notifications${query}`);
    assert.ok(Array.isArray(body?.notifications), `no notifications array: ${show(body)}`);
    return body.notifications;
  }

  test('mention, reply and direct-message notifications arrive live on every socket and in the list; never for your own message', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await groupRoom(alice, [bob], 'notify');
    const dm = await directRoom(alice, bob);
    const sa = await socketFor(alice);
    const sb1 = await socketFor(bob);
    const sb2 = await socketFor(bob);
    await sleep(200);
    const atAlice = collectEvents(sa, 'notification');
    const atB1 = collectEvents(sb1, 'notification');
    const atB2 = collectEvents(sb2, 'notification');

    const live = (kind, roomId) =>
      [sb1, sb2].map((s) => waitFor(s, 'notification', (n) => n?.kind === kind && n.room_id === roomId));

    // Mention.
    let waits = live('mention', room.id);
    const m1 = await sendSocket(sa, room.id, `hey @${bob.username}, a look?`);
    for (const n of await Promise.all(waits)) {
      assertNotification(n, { kind: 'mention', roomId: room.id, messageId: m1.id, actor: alice.user }, 'mention');
    }

    // Reply to a message of Bob's (no mention in it).
    const mb = await sendSocket(sb1, room.id, 'a question from bob');
    waits = live('reply', room.id);
    const m2 = await sendSocket(sa, room.id, 'an answer', { reply_to: mb.id });
    for (const n of await Promise.all(waits)) {
      assertNotification(n, { kind: 'reply', roomId: room.id, messageId: m2.id, actor: alice.user }, 'reply');
    }

    // Any message in a direct-message room.
    waits = live('direct', dm.id);
    const m3 = await sendRest(alice, dm.id, 'psst');
    for (const n of await Promise.all(waits)) {
      assertNotification(n, { kind: 'direct', roomId: dm.id, messageId: m3.id, actor: alice.user }, 'direct');
    }

    // Alice mentioning herself and replying to herself notifies nobody.
    await sendSocket(sa, room.id, `note to self @${alice.username}`, { reply_to: m1.id });

    await sleep(600);
    atAlice.stop();
    atB1.stop();
    atB2.stop();
    const expected = [
      { kind: 'mention', room_id: room.id, message_id: m1.id },
      { kind: 'reply', room_id: room.id, message_id: m2.id },
      { kind: 'direct', room_id: dm.id, message_id: m3.id },
    ];
    assert.deepEqual(atB1.events.map(pick), expected, `live notifications, first socket: ${show(atB1.events)}`);
    assert.deepEqual(atB2.events.map(pick), expected, `live notifications, second socket: ${show(atB2.events)}`);
    assert.deepEqual(atAlice.events, [], `notified of one's own messages: ${show(atAlice.events)}`);

    const list = await listNotifications(bob);
    assert.deepEqual(list.map(pick), [...expected].reverse(), `list, newest first: ${show(list)}`);
    assert.deepEqual(list.map((n) => n.id), atB1.events.map((n) => n.id).reverse(), 'list ids differ from live ids');
    for (const n of list) assert.equal(n.read_at, null, show(n));
    assert.deepEqual((await listNotifications(bob, '?unread_only=true')).map(pick), [...expected].reverse());
    assert.deepEqual(await listNotifications(alice), [], 'Alice was notified of her own messages');
  });

  test('room preferences: none → nothing, mentions → mentions and replies but not plain DMs, all → everything', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await groupRoom(alice, [bob], 'prefs');
    const dm = await directRoom(alice, bob);
    const sb = await socketFor(bob);
    await sleep(200);
    const atBob = collectEvents(sb, 'notification');
    const prefs = (roomId, notifications) =>
      restOk(bob, 'PUT', `/api/chat/rooms/${roomId}/preferences`, { notifications });

    const roomQ = await sendRest(bob, room.id, 'bob asks in the room');
    const dmQ = await sendRest(bob, dm.id, 'bob asks in the dm');

    // none: no notification of any kind.
    await prefs(room.id, 'none');
    await prefs(dm.id, 'none');
    await sendRest(alice, room.id, `@${bob.username} mention under none`);
    await sendRest(alice, room.id, 'reply under none', { reply_to: roomQ.id });
    await sendRest(alice, dm.id, 'plain dm under none');
    await sendRest(alice, dm.id, `@${bob.username} dm mention under none`);
    await sendRest(alice, dm.id, 'dm reply under none', { reply_to: dmQ.id });
    await sleep(600);
    assert.deepEqual(atBob.events, [], `notified despite preference none: ${show(atBob.events)}`);
    assert.deepEqual(await listNotifications(bob), [], 'listed despite preference none');

    // mentions (in the DM): mentions and replies, not plain messages.
    await prefs(dm.id, 'mentions');
    await sendRest(alice, dm.id, 'plain dm under mentions');
    const dmMention = waitFor(sb, 'notification', (n) => n?.room_id === dm.id && n.kind === 'mention');
    const mMention = await sendRest(alice, dm.id, `@${bob.username} dm mention under mentions`);
    assertNotification(await dmMention, { kind: 'mention', roomId: dm.id, messageId: mMention.id, actor: alice.user }, 'dm mention');
    const dmReply = waitFor(sb, 'notification', (n) => n?.room_id === dm.id && n.kind === 'reply');
    const mReply = await sendRest(alice, dm.id, 'dm reply under mentions', { reply_to: dmQ.id });
    assertNotification(await dmReply, { kind: 'reply', roomId: dm.id, messageId: mReply.id, actor: alice.user }, 'dm reply');

    // all: plain DM messages too, and replies in the room again.
    await prefs(dm.id, 'all');
    await prefs(room.id, 'all');
    const direct = waitFor(sb, 'notification', (n) => n?.room_id === dm.id && n.kind === 'direct');
    const mDirect = await sendRest(alice, dm.id, 'plain dm under all');
    assertNotification(await direct, { kind: 'direct', roomId: dm.id, messageId: mDirect.id, actor: alice.user }, 'direct');
    const reply = waitFor(sb, 'notification', (n) => n?.room_id === room.id && n.kind === 'reply');
    const mRoomReply = await sendRest(alice, room.id, 'reply under all', { reply_to: roomQ.id });
    assertNotification(await reply, { kind: 'reply', roomId: room.id, messageId: mRoomReply.id, actor: alice.user }, 'room reply');

    await sleep(400);
    atBob.stop();
    const expected = [
      { kind: 'mention', room_id: dm.id, message_id: mMention.id },
      { kind: 'reply', room_id: dm.id, message_id: mReply.id },
      { kind: 'direct', room_id: dm.id, message_id: mDirect.id },
      { kind: 'reply', room_id: room.id, message_id: mRoomReply.id },
    ];
    assert.deepEqual(atBob.events.map(pick), expected, `live notifications: ${show(atBob.events)}`);
    assert.deepEqual((await listNotifications(bob)).map(pick), [...expected].reverse(), 'notifications list');
  });

  test('mark one read, mark all read, and the unread count', async () => {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await groupRoom(alice, [bob], 'mark-read');
    const sb = await socketFor(bob);
    const sa = await socketFor(alice);
    await sleep(200);

    const live = [];
    for (const text of ['one', 'two', 'three']) {
      const got = waitFor(sb, 'notification', (n) => n?.kind === 'mention' && n.room_id === room.id && !live.includes(n.id));
      await sendRest(alice, room.id, `@${bob.username} ${text}`);
      live.push((await got).id);
    }
    // One for Alice too, to check that Bob's mark-all is Bob's only.
    const forAlice = waitFor(sa, 'notification', (n) => n?.kind === 'mention' && n.room_id === room.id);
    await sendRest(bob, room.id, `@${alice.username} ping`);
    await forAlice;

    const count = (u) => restOk(u, 'GET', '/api/chat/notifications/unread-count');
    assert.deepEqual(await count(bob), { unread_count: 3 });

    const [n1, n2, n3] = live;
    const one = await restOk(bob, 'POST', `/api/chat/notifications/${n2}/read`, {});
    assert.equal(one.id, n2, show(one));
    assert.equal(one.kind, 'mention', show(one));
    assert.equal(one.room_id, room.id, show(one));
    assert.ok(isTime(one.read_at), `read_at not set: ${show(one)}`);
    assert.deepEqual(await count(bob), { unread_count: 2 });
    assert.deepEqual((await listNotifications(bob, '?unread_only=true')).map((n) => n.id), [n3, n1]);
    const all = await listNotifications(bob);
    assert.deepEqual(all.map((n) => n.id), [n3, n2, n1]);
    assert.deepEqual(all.map((n) => n.read_at === null), [true, false, true], show(all));

    // Someone else's or an unknown notification.
    await restError(alice, 'POST', `/api/chat/notifications/${n1}/read`, {}, 404, 'not_found');
    await restError(bob, 'POST', '/api/chat/notifications/987654321/read', {}, 404, 'not_found');
    assert.deepEqual(await count(bob), { unread_count: 2 });

    assert.deepEqual(await restOk(bob, 'POST', '/api/chat/notifications/read', {}), { marked: 2 });
    assert.deepEqual(await count(bob), { unread_count: 0 });
    assert.deepEqual(await listNotifications(bob, '?unread_only=true'), []);
    assert.deepEqual(await restOk(bob, 'POST', '/api/chat/notifications/read', {}), { marked: 0 });
    assert.deepEqual(await count(alice), { unread_count: 1 }, 'Bob\'s mark-all touched Alice\'s notifications');
  });

  test('@room and @here: plain text from a member; from the owner they notify everyone / those online', async () => {
    const alice = await user('alice'); // owner
    const bob = await user('bob'); // member, online
    const carol = await user('carol'); // member, never connected: offline
    const room = await groupRoom(alice, [bob, carol], 'everyone');
    const sa = await socketFor(alice);
    const sb = await socketFor(bob);
    await sleep(300);
    const atAlice = collectEvents(sa, 'notification');
    const atBob = collectEvents(sb, 'notification');

    const fromBob1 = await sendSocket(sb, room.id, '@room hello everyone');
    const fromBob2 = await sendSocket(sb, room.id, '@here anyone around?');
    assert.deepEqual(fromBob1.mentions, [], `member's @room resolved to mentions: ${show(fromBob1.mentions)}`);
    assert.deepEqual(fromBob2.mentions, [], `member's @here resolved to mentions: ${show(fromBob2.mentions)}`);
    await sleep(600);
    assert.deepEqual(atAlice.events, [], `member's @room/@here notified: ${show(atAlice.events)}`);
    assert.deepEqual(await listNotifications(carol), [], 'member\'s @room/@here notified an offline member');

    const bobRoom = waitFor(sb, 'notification', (n) => n?.room_id === room.id && n.kind === 'mention');
    const mRoom = await sendSocket(sa, room.id, '@room standup in 5');
    assertNotification(await bobRoom, { kind: 'mention', roomId: room.id, messageId: mRoom.id, actor: alice.user }, '@room to bob');
    const carolList = await listNotifications(carol);
    assert.deepEqual(carolList.map(pick), [{ kind: 'mention', room_id: room.id, message_id: mRoom.id }], show(carolList));
    assertNotification(carolList[0], { kind: 'mention', roomId: room.id, messageId: mRoom.id, actor: alice.user }, '@room to carol');

    const bobHere = waitFor(sb, 'notification', (n) => n?.room_id === room.id && n.message_id !== mRoom.id);
    const mHere = await sendSocket(sa, room.id, '@here quick question');
    assertNotification(await bobHere, { kind: 'mention', roomId: room.id, messageId: mHere.id, actor: alice.user }, '@here to bob');
    await sleep(400);
    assert.deepEqual((await listNotifications(carol)).map((n) => n.message_id), [mRoom.id], '@here notified an offline member');

    atAlice.stop();
    atBob.stop();
    assert.deepEqual(atAlice.events, [], `the owner notified herself: ${show(atAlice.events)}`);
    assert.deepEqual(atBob.events.map((n) => n.message_id), [mRoom.id, mHere.id], show(atBob.events));
  });
});
