// Bad input on every client -> server event: acked with the documented error
// code, or reported as a `chat_error` event when the client passes no ack
// callback. Scenario 11 of the chat test plan (with REST parity checks).

import { before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collectEvents, emitAck, sleep, waitForEvent } from './harness.mjs';
import { assertAckError, chatFixture, show } from './chat-fixtures.mjs';

const fx = chatFixture();
const MISSING = 999_999;

describe('bad input (scenario 11)', () => {
  let alice;
  let room;
  let otherRoom;
  let own; // a message of Alice in `room`
  let foreign; // a message in `otherRoom`

  before(async () => {
    alice = await fx.user('alice');
    room = await fx.groupRoom(alice, [], 'main');
    otherRoom = await fx.groupRoom(alice, [], 'other');
    own = await fx.sendRest(alice, room.id, 'a valid message');
    foreign = await fx.sendRest(alice, otherRoom.id, 'in the other room');
  });

  /** Run `body(socket, errors)` with a socket that opened `room`; errors collects chat_error. */
  async function withSocket(body) {
    const socket = await fx.socket(alice);
    await fx.join(socket, room.id);
    const errors = collectEvents(socket, 'chat_error');
    try {
      await body(socket);
      await sleep(200);
      // With an ack callback the error goes into the ack, not into chat_error.
      assert.deepEqual(errors.events, [], `chat_error sent although an ack callback was given: ${show(errors.events)}`);
    } finally {
      errors.stop();
      socket.disconnect();
    }
  }

  async function expectCode(socket, event, payload, code) {
    const ack = await emitAck(socket, event, payload);
    assertAckError(ack, code, `${event} ${show(payload).slice(0, 120)}`);
  }

  test('unknown room or message -> not_found on every event', async () => {
    await withSocket(async (s) => {
      await expectCode(s, 'join_chat_room', { room_id: MISSING }, 'not_found');
      await expectCode(s, 'send_chat_message', { room_id: MISSING, content: 'hello?' }, 'not_found');
      await expectCode(s, 'edit_chat_message', { message_id: MISSING, content: 'x' }, 'not_found');
      await expectCode(s, 'delete_chat_message', { message_id: MISSING }, 'not_found');
      await expectCode(s, 'add_message_reaction', { message_id: MISSING, emoji: '👍' }, 'not_found');
      await expectCode(s, 'remove_message_reaction', { message_id: MISSING, emoji: '👍' }, 'not_found');
      await expectCode(s, 'mark_read', { room_id: MISSING, message_id: own.id }, 'not_found');
      await expectCode(s, 'mark_read', { room_id: room.id, message_id: MISSING }, 'not_found');
      await expectCode(s, 'vote_poll', { message_id: MISSING, options: [0] }, 'not_found');
    });
    await fx.restError(alice, 'GET', `/api/chat/rooms/${MISSING}/messages`, undefined, 404, 'not_found');
    await fx.restError(alice, 'POST', `/api/chat/rooms/${MISSING}/messages`, { content: 'x' }, 404, 'not_found');
  });

  test('leave_chat_room on an unknown room -> not_found', async () => {
    await withSocket(async (s) => {
      await expectCode(s, 'leave_chat_room', { room_id: MISSING }, 'not_found');
    });
  });

  test('empty, blank and over-long content -> invalid_content; 4000 characters is fine', async () => {
    const long = 'x'.repeat(10_000);
    await withSocket(async (s) => {
      for (const content of ['', '   ', ' \n\t ', long, 'y'.repeat(4001)]) {
        await expectCode(s, 'send_chat_message', { room_id: room.id, content }, 'invalid_content');
      }
      await expectCode(s, 'edit_chat_message', { message_id: own.id, content: '' }, 'invalid_content');
      await expectCode(s, 'edit_chat_message', { message_id: own.id, content: long }, 'invalid_content');

      // Exactly 4000 characters (after trimming) is accepted and stored as written.
      const max = `  ${'z'.repeat(4000)}  `;
      const ok = await emitAck(s, 'send_chat_message', { room_id: room.id, content: max });
      assert.equal(ok?.ok, true, `4000-character content refused: ${show(ok).slice(0, 300)}`);
      assert.equal(ok.message.content, max);
      // 4000 multi-byte characters count as 4000 characters, not bytes.
      const accented = await emitAck(s, 'send_chat_message', { room_id: room.id, content: 'é'.repeat(4000) });
      assert.equal(accented?.ok, true, `4000 two-byte characters refused: ${show(accented).slice(0, 300)}`);
    });
    await fx.restError(alice, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: '' }, 422, 'invalid_content');
    await fx.restError(alice, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: long }, 422, 'invalid_content');

    // Nothing refused was stored; the original is unchanged.
    const hist = await fx.history(alice, room.id, '?limit=100');
    assert.ok(!hist.messages.some((m) => m.content === long || m.content === ''), 'a refused message was stored');
    assert.equal(hist.messages.find((m) => m.id === own.id).content, 'a valid message');
  });

  test('reply_to a message of another room -> invalid_reply', async () => {
    await withSocket(async (s) => {
      await expectCode(
        s,
        'send_chat_message',
        { room_id: room.id, content: 'replying across rooms', reply_to: foreign.id },
        'invalid_reply',
      );
      // A reply within the room is fine.
      const ok = await emitAck(s, 'send_chat_message', { room_id: room.id, content: 'a proper reply', reply_to: own.id });
      assert.equal(ok?.ok, true, `same-room reply refused: ${show(ok)}`);
    });
    await fx.restError(
      alice,
      'POST',
      `/api/chat/rooms/${room.id}/messages`,
      { content: 'replying across rooms', reply_to: foreign.id },
      422,
      'invalid_reply',
    );
    const hist = await fx.history(alice, room.id, '?limit=100');
    assert.ok(!hist.messages.some((m) => m.content === 'replying across rooms'), 'an invalid reply was stored');
  });

  test('an emoji that is not a single emoji -> invalid_emoji', async () => {
    await withSocket(async (s) => {
      for (const emoji of ['notanemoji', ':)', '', '👍👍', 'a']) {
        await expectCode(s, 'add_message_reaction', { message_id: own.id, emoji }, 'invalid_emoji');
      }
    });
    const hist = await fx.history(alice, room.id, '?limit=100');
    assert.deepEqual(hist.messages.find((m) => m.id === own.id).reactions, [], 'an invalid reaction was stored');
  });

  test('payloads with wrong types -> invalid_body', async () => {
    await withSocket(async (s) => {
      await expectCode(s, 'join_chat_room', { room_id: {} }, 'invalid_body');
      await expectCode(s, 'join_chat_room', { room_id: 'lobby' }, 'invalid_body');
      await expectCode(s, 'send_chat_message', { room_id: room.id, content: 5 }, 'invalid_body');
      await expectCode(s, 'send_chat_message', { content: 'no room' }, 'invalid_body');
      await expectCode(s, 'send_chat_message', { room_id: {}, content: 'x' }, 'invalid_body');
      await expectCode(s, 'edit_chat_message', { message_id: own.id, content: ['x'] }, 'invalid_body');
      await expectCode(s, 'delete_chat_message', { message_id: 'first' }, 'invalid_body');
      await expectCode(s, 'add_message_reaction', { message_id: own.id, emoji: 1 }, 'invalid_body');
      await expectCode(s, 'mark_read', { room_id: room.id }, 'invalid_body');
      await expectCode(s, 'vote_poll', { message_id: own.id, options: 'one' }, 'invalid_body');
    });
    const res = await fx.rest(alice, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: 5 });
    assert.ok(res.status >= 400 && res.status < 500, `REST content:5: ${res.status} ${res.text}`);
    assert.equal(res.body?.error?.code, 'invalid_body', `REST content:5: ${res.text}`);
  });

  test('without an ack callback the error arrives as chat_error', async () => {
    const socket = await fx.socket(alice);
    try {
      let err = waitForEvent(socket, 'chat_error', (e) => e?.event === 'send_chat_message');
      socket.emit('send_chat_message', { room_id: MISSING, content: 'nobody home' });
      let e = await err;
      assert.equal(e.code, 'not_found', show(e));
      assert.equal(e.event, 'send_chat_message');
      assert.equal(typeof e.message, 'string');
      assert.ok(e.message.length > 0);

      err = waitForEvent(socket, 'chat_error', (x) => x?.event === 'join_chat_room');
      socket.emit('join_chat_room', { room_id: {} });
      e = await err;
      assert.equal(e.code, 'invalid_body', show(e));
      assert.equal(e.event, 'join_chat_room');

      err = waitForEvent(socket, 'chat_error', (x) => x?.event === 'add_message_reaction');
      socket.emit('add_message_reaction', { message_id: own.id, emoji: 'notanemoji' });
      e = await err;
      assert.equal(e.code, 'invalid_emoji', show(e));
    } finally {
      socket.disconnect();
    }
  });

  test('an event the server does not know answers unknown_event at once, ack or chat_error', async () => {
    await withSocket(async (socket) => {
      for (const name of ['no_such_event', 'sendChatMessage']) {
        const started = Date.now();
        const ack = await emitAck(socket, name, { room_id: room.id });
        assert.equal(ack?.ok, false, show(ack));
        assert.equal(ack.error?.code, 'unknown_event', show(ack));
        assert.ok(Date.now() - started < 2000, `answered after ${Date.now() - started} ms`);
      }
    });
    const socket = await fx.socket(alice);
    try {
      const err = waitForEvent(socket, 'chat_error', (e) => e?.event === 'no_such_event');
      socket.emit('no_such_event', {});
      const e = await err;
      assert.equal(e.code, 'unknown_event', show(e));
      // The socket keeps working afterwards.
      const sent = await emitAck(socket, 'send_chat_message', { room_id: room.id, content: 'still here' });
      assert.equal(sent?.ok, true, show(sent));
    } finally {
      socket.disconnect();
    }
  });
});
