// Rooms over Socket.IO: live delivery between participants, isolation of a
// non-public room from outsiders, and the join rules per room type.
// Scenarios 1, 2 and 3 of the chat test plan.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collectEvents, emitAck, sleep, waitForEvent } from './harness.mjs';
import { assertAckError, assertMessage, chatFixture, show } from './chat-fixtures.mjs';

const fx = chatFixture();

describe('live delivery in a group room (scenarios 1 and 2)', () => {
  test('participants receive each other\'s messages over REST and socket; an outsider receives nothing and is refused', async () => {
    const alice = await fx.user('alice');
    const bob = await fx.user('bob');
    const carol = await fx.user('carol');
    const room = await fx.groupRoom(alice, [bob], 'team');

    const sa = await fx.socket(alice);
    const sb = await fx.socket(bob);
    const sc = await fx.socket(carol);

    // Carol listens to everything room-related from the start.
    const leaks = ['new_chat_message', 'message_edited', 'message_deleted'].map((name) =>
      collectEvents(sc, name),
    );

    const joinA = await fx.join(sa, room.id);
    const joinB = await fx.join(sb, room.id);
    assert.equal(joinA.room?.id, room.id);
    assert.equal(joinB.room?.id, room.id);

    const inRoom = (text) => (m) => m?.room_id === room.id && m?.content === text;

    // 1. Alice over REST -> Bob live.
    let bobGets = waitForEvent(sb, 'new_chat_message', inRoom('hello from alice (rest)'));
    const m1 = await fx.sendRest(alice, room.id, 'hello from alice (rest)');
    assertMessage(m1, { roomId: room.id, sender: alice.user, content: 'hello from alice (rest)' });
    const live1 = await bobGets;
    assertMessage(live1, { roomId: room.id, sender: alice.user, content: 'hello from alice (rest)', seq: m1.seq });
    assert.equal(live1.id, m1.id);

    // 2. Bob over the socket -> Alice live.
    let aliceGets = waitForEvent(sa, 'new_chat_message', inRoom('hi from bob (socket)'));
    const m2 = await fx.sendSocket(sb, room.id, 'hi from bob (socket)');
    assertMessage(m2, { roomId: room.id, sender: bob.user, content: 'hi from bob (socket)', seq: m1.seq + 1 });
    const live2 = await aliceGets;
    assertMessage(live2, { roomId: room.id, sender: bob.user, content: 'hi from bob (socket)', seq: m1.seq + 1 });
    assert.equal(live2.id, m2.id);

    // 3. Alice over the socket -> Bob live.
    bobGets = waitForEvent(sb, 'new_chat_message', inRoom('alice via socket'));
    const m3 = await fx.sendSocket(sa, room.id, 'alice via socket');
    const live3 = await bobGets;
    assertMessage(live3, { roomId: room.id, sender: alice.user, content: 'alice via socket', seq: m1.seq + 2 });
    assert.equal(live3.id, m3.id);

    // 4. Bob over REST -> Alice live.
    aliceGets = waitForEvent(sa, 'new_chat_message', inRoom('bob via rest'));
    const m4 = await fx.sendRest(bob, room.id, 'bob via rest');
    const live4 = await aliceGets;
    assertMessage(live4, { roomId: room.id, sender: bob.user, content: 'bob via rest', seq: m1.seq + 3 });
    assert.equal(live4.id, m4.id);

    assert.equal(new Set([m1.id, m2.id, m3.id, m4.id]).size, 4, 'message ids are not distinct');

    // 2. Carol (not a participant of this non-public room) got none of it.
    await sleep(500);
    for (const { events, stop } of leaks) {
      stop();
      assert.deepEqual(events, [], `outsider received room events: ${show(events)}`);
    }

    // ...cannot read its history (the room is invisible to her)...
    await fx.restError(carol, 'GET', `/api/chat/rooms/${room.id}/messages`, undefined, 404, 'not_found');
    // ...cannot join it over REST...
    await fx.restError(carol, 'POST', `/api/chat/rooms/${room.id}/join`, undefined, 404, 'not_found');
    // ...and join_chat_room is refused the same way.
    const ack = await emitAck(sc, 'join_chat_room', { room_id: room.id });
    assertAckError(ack, 'not_found', 'outsider join_chat_room on group room');
    // Nor can she post into it.
    const sendAck = await emitAck(sc, 'send_chat_message', { room_id: room.id, content: 'let me in' });
    assertAckError(sendAck, 'not_found', 'outsider send_chat_message on group room');

    // The refused attempts did not leak anything either: one more message, Carol still sees nothing.
    const late = collectEvents(sc, 'new_chat_message');
    bobGets = waitForEvent(sb, 'new_chat_message', inRoom('after the refusal'));
    await fx.sendSocket(sa, room.id, 'after the refusal');
    await bobGets;
    await sleep(500);
    late.stop();
    assert.deepEqual(late.events, [], `outsider received a message after refused join: ${show(late.events)}`);

    // History for participants: exactly the four messages (plus any system ones), in order.
    const hist = await fx.history(bob, room.id);
    const texts = hist.messages.filter((m) => m.type !== 'system').map((m) => m.content);
    assert.deepEqual(texts, [
      'hello from alice (rest)',
      'hi from bob (socket)',
      'alice via socket',
      'bob via rest',
      'after the refusal',
    ]);
  });
});

describe('join rules (scenario 3)', () => {
  test('a public general room can be joined by anyone with join_chat_room', async () => {
    const owner = await fx.user('gowner');
    const dave = await fx.user('dave');
    const room = await fx.createRoom(owner, { name: 'lobby', type: 'general' });
    assert.equal(room.type, 'general');
    assert.equal(room.is_public, true, `general room should be public by default: ${show(room)}`);
    const m = await fx.sendRest(owner, room.id, 'welcome everyone');

    // Visible but not readable before joining.
    await fx.restError(dave, 'GET', `/api/chat/rooms/${room.id}/messages`, undefined, 403, 'not_participant');

    const sd = await fx.socket(dave);
    const joinedEvent = waitForEvent(sd, 'chat_room_joined', (p) => p?.room?.id === room.id);
    const ack = await fx.join(sd, room.id);

    assert.equal(ack.room?.id, room.id);
    assert.equal(ack.room.type, 'general');
    assert.ok(Array.isArray(ack.participants), `participants: ${show(ack)}`);
    const names = ack.participants.map((p) => p.user?.username).sort();
    assert.deepEqual(names, [owner.username, dave.username].sort(), `participants: ${show(ack.participants)}`);
    const ownerP = ack.participants.find((p) => p.user.username === owner.username);
    const daveP = ack.participants.find((p) => p.user.username === dave.username);
    assert.equal(ownerP.role, 'owner');
    assert.equal(daveP.role, 'member');
    assert.ok(Array.isArray(ack.messages), `messages: ${show(ack)}`);
    assert.ok(
      ack.messages.some((x) => x.id === m.id && x.content === 'welcome everyone'),
      `join ack does not contain the room's message: ${show(ack.messages)}`,
    );
    assert.equal(typeof ack.has_more, 'boolean');
    assert.equal(ack.has_more, false);
    assert.ok(Array.isArray(ack.updates), `updates: ${show(ack)}`);

    const ev = await joinedEvent;
    assert.equal(ev.room.id, room.id);
    assert.ok(Array.isArray(ev.participants));
    assert.ok(Array.isArray(ev.messages));
    assert.equal(typeof ev.has_more, 'boolean');
    assert.deepEqual(ev.messages.map((x) => x.id), ack.messages.map((x) => x.id));

    // Dave is now a participant: history is readable and the room is in his list.
    const hist = await fx.history(dave, room.id);
    assert.ok(hist.messages.some((x) => x.id === m.id));
    const entry = await fx.roomListEntry(dave, room.id);
    assert.equal(entry.my_role, 'member');

    // And his socket is subscribed: he receives the owner's next message.
    const got = waitForEvent(sd, 'new_chat_message', (x) => x?.room_id === room.id && x.content === 'hi dave');
    await fx.sendRest(owner, room.id, 'hi dave');
    await got;
  });

  test('event room: a non-attendee is refused with forbidden; after registering they can join', async () => {
    const organizer = await fx.user('org');
    const eve = await fx.user('eve');
    const { event, room } = await fx.eventWithRoom(organizer);

    const se = await fx.socket(eve);
    const refused = await emitAck(se, 'join_chat_room', { room_id: room.id });
    assertAckError(refused, 'forbidden', 'non-attendee join_chat_room on event room');
    await fx.restError(eve, 'POST', `/api/chat/rooms/${room.id}/join`, undefined, 403, 'forbidden');

    const reg = await fx.rest(eve, 'POST', `/api/events/${event.id}/register`);
    assert.equal(reg.status, 200, `register attendee: ${reg.status} ${reg.text}`);

    const ack = await fx.join(se, room.id);
    assert.equal(ack.room?.id, room.id);
    assert.equal(ack.room.type, 'event');
    assert.equal(ack.room.event_id, event.id);
    assert.ok(
      ack.participants.some((p) => p.user?.username === eve.username),
      `attendee missing from participants: ${show(ack.participants)}`,
    );
    assert.ok(
      ack.participants.some((p) => p.user?.username === organizer.username && p.role === 'owner'),
      `organizer is not owner: ${show(ack.participants)}`,
    );

    // She is live in the room now.
    const got = waitForEvent(se, 'new_chat_message', (x) => x?.room_id === room.id && x.content === 'doors open at 7');
    await fx.sendRest(organizer, room.id, 'doors open at 7');
    await got;
  });
});

describe('events sent right after connect', () => {
  test('the first event after `connect` is always processed (500 fresh sockets)', async () => {
    const frank = await fx.user('frank');
    const room = await fx.createRoom(frank, { name: 'hall', type: 'general' });
    const lost = [];
    for (let i = 0; i < 500; i += 1) {
      const socket = await fx.socket(frank);
      try {
        const ack = await emitAck(socket, 'join_chat_room', { room_id: room.id }, 1500);
        assert.equal(ack?.ok, true, show(ack));
      } catch (err) {
        if (!/timed out/.test(err.message)) throw err;
        lost.push(i);
      } finally {
        socket.disconnect();
      }
    }
    assert.deepEqual(lost, [], `join_chat_room emitted immediately after connect got no ack on attempts ${show(lost)} of 500`);
  });
});
