// Shared fixture for the chat tests (rooms, messages, reconnect, errors).
//
// chatFixture() registers before/after hooks on the calling test file: one
// fresh server per file, and every socket opened through it is disconnected
// after each test (and again at the end, in case a hook failed).

import { after, afterEach, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, connect, emitAck, register, startServer } from './harness.mjs';

const show = (value) => JSON.stringify(value);

export function chatFixture() {
  const sockets = new Set();
  let server;
  let userCounter = 0;

  before(async () => {
    server = await startServer();
  });

  function closeSockets() {
    for (const socket of sockets) socket.disconnect();
    sockets.clear();
  }

  afterEach(() => {
    closeSockets();
  });

  after(async () => {
    closeSockets();
    await server?.stop();
  });

  const fx = {
    get url() {
      return server.url;
    },

    /** Register a fresh user; `prefix` keeps names readable. */
    async user(prefix = 'user') {
      userCounter += 1;
      const username = `${prefix}${userCounter}`.slice(0, 32);
      const body = await register(server.url, username);
      assert.equal(typeof body.token, 'string');
      assert.equal(body.user?.username, username);
      return { token: body.token, user: body.user, id: body.user.id, username };
    },

    /**
     * Open a tracked socket for `u` (disconnected after the test). Events may be
     * emitted at once: the server handles the first event after `connect` (see the
     * dedicated test in rooms.test.mjs).
     */
    async socket(u) {
      const { socket } = await connect(server.url, { auth: { token: u.token } });
      sockets.add(socket);
      return socket;
    },

    /** REST call as `u` (or anonymous when u is null). */
    rest(u, method, path, body) {
      return api(server.url, u?.token, method, path, body);
    },

    /** REST call that must answer `status`; resolves to the parsed body. */
    async restOk(u, method, path, body, status = 200) {
      const res = await fx.rest(u, method, path, body);
      assert.equal(res.status, status, `${method} ${path}: expected ${status}, got ${res.status}: ${res.text}`);
      return res.body;
    },

    /** REST call that must fail with `status` and error code `code`. */
    async restError(u, method, path, body, status, code) {
      const res = await fx.rest(u, method, path, body);
      if (status !== undefined) {
        assert.equal(res.status, status, `${method} ${path}: expected ${status}, got ${res.status}: ${res.text}`);
      } else {
        assert.ok(res.status >= 400, `${method} ${path}: expected an error, got ${res.status}: ${res.text}`);
      }
      assert.equal(res.body?.error?.code, code, `${method} ${path}: expected code ${code}, got ${res.text}`);
      assert.equal(typeof res.body.error.message, 'string');
      return res;
    },

    async createRoom(owner, body) {
      const room = await fx.restOk(owner, 'POST', '/api/chat/rooms', body, 201);
      assert.equal(typeof room.id, 'number', `room has no numeric id: ${show(room)}`);
      return room;
    },

    /** Owner creates a non-public group room and adds `members`. */
    async groupRoom(owner, members = [], name = 'group') {
      const room = await fx.createRoom(owner, { name, type: 'group' });
      assert.equal(room.type, 'group');
      assert.equal(room.is_public, false, `group room should not be public by default: ${show(room)}`);
      if (members.length > 0) {
        await fx.restOk(owner, 'POST', `/api/chat/rooms/${room.id}/participants`, {
          user_ids: members.map((m) => m.id),
        });
      }
      return room;
    },

    /** Alice owns a group room with Bob in it; both have a socket that opened the room. */
    async pair(name = 'pair') {
      const alice = await fx.user('alice');
      const bob = await fx.user('bob');
      const room = await fx.groupRoom(alice, [bob], name);
      const sa = await fx.socket(alice);
      const sb = await fx.socket(bob);
      await fx.join(sa, room.id);
      await fx.join(sb, room.id);
      return { alice, bob, room, sa, sb };
    },

    /** join_chat_room that must succeed; resolves to the ack. */
    async join(socket, roomId, since) {
      const payload = since === undefined ? { room_id: roomId } : { room_id: roomId, since };
      const ack = await emitAck(socket, 'join_chat_room', payload);
      assert.equal(ack?.ok, true, `join_chat_room ${show(payload)}: ${show(ack)}`);
      return ack;
    },

    /** send_chat_message that must succeed; resolves to the Message. */
    async sendSocket(socket, roomId, content, extra = {}) {
      const ack = await emitAck(socket, 'send_chat_message', { room_id: roomId, content, ...extra });
      assert.equal(ack?.ok, true, `send_chat_message: ${show(ack)}`);
      assert.equal(typeof ack.message?.id, 'number', `ack has no message.id: ${show(ack)}`);
      return ack.message;
    },

    /** POST a message over REST; resolves to the Message. */
    async sendRest(u, roomId, content, extra = {}) {
      return fx.restOk(u, 'POST', `/api/chat/rooms/${roomId}/messages`, { content, ...extra }, 201);
    },

    async history(u, roomId, query = '') {
      const body = await fx.restOk(u, 'GET', `/api/chat/rooms/${roomId}/messages${query}`);
      assert.ok(Array.isArray(body?.messages), `history has no messages array: ${show(body)}`);
      assert.equal(typeof body.has_more, 'boolean', `history has no boolean has_more: ${show(body)}`);
      return body;
    },

    /** The caller's room list entry for `roomId`. */
    async roomListEntry(u, roomId) {
      const body = await fx.restOk(u, 'GET', '/api/chat/rooms');
      assert.ok(Array.isArray(body?.rooms), `room list has no rooms array: ${show(body)}`);
      const entry = body.rooms.find((r) => r.id === roomId);
      assert.ok(entry, `room ${roomId} missing from room list: ${show(body.rooms.map((r) => r.id))}`);
      return entry;
    },

    /** Create an event as `organizer`; resolves to {event, room} (room = its event room). */
    async eventWithRoom(organizer, title = 'Launch party') {
      const startsAt = new Date(Date.now() + 7 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
      const event = await fx.restOk(organizer, 'POST', '/api/events', { title, starts_at: startsAt }, 201);
      assert.equal(typeof event.id, 'number');
      const body = await fx.restOk(organizer, 'GET', `/api/chat/events/${event.id}/rooms`);
      assert.ok(Array.isArray(body?.rooms), `event rooms: ${show(body)}`);
      const room = body.rooms.find((r) => r.type === 'event');
      assert.ok(room, `event ${event.id} has no room of type "event": ${show(body)}`);
      assert.equal(room.event_id, event.id);
      return { event, room };
    },
  };
  return fx;
}

/** Assert that an ack is {ok: false, error: {code, message}} with `code`. */
export function assertAckError(ack, code, what = '') {
  assert.equal(ack?.ok, false, `${what}: expected ok:false (${code}), got ${show(ack)}`);
  assert.equal(ack.error?.code, code, `${what}: expected error code ${code}, got ${show(ack)}`);
  assert.equal(typeof ack.error.message, 'string', `${what}: error.message is not a string: ${show(ack)}`);
  assert.ok(ack.error.message.length > 0, `${what}: error.message is empty`);
}

/** Assert the fields of a Message against expectations. */
export function assertMessage(msg, { roomId, sender, content, seq, type = 'text' }) {
  assert.equal(typeof msg?.id, 'number', `message id: ${show(msg)}`);
  assert.equal(msg.room_id, roomId, `message room_id: ${show(msg)}`);
  assert.equal(typeof msg.seq, 'number', `message seq: ${show(msg)}`);
  if (seq !== undefined) assert.equal(msg.seq, seq, `message seq: ${show(msg)}`);
  if (sender !== undefined) {
    assert.equal(msg.sender?.username, sender.username, `message sender: ${show(msg)}`);
    assert.equal(msg.sender?.id, sender.id, `message sender id: ${show(msg)}`);
  }
  if (content !== undefined) assert.equal(msg.content, content, `message content: ${show(msg)}`);
  assert.equal(msg.type, type, `message type: ${show(msg)}`);
  assert.equal(msg.deleted_at, null, `message deleted_at: ${show(msg)}`);
  assert.equal(msg.edited_at, null, `message edited_at: ${show(msg)}`);
  assert.equal(typeof msg.created_at, 'string', `message created_at: ${show(msg)}`);
}

export { show };
