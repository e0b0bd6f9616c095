// Unread and mention counts, mention notifications and mark_read across a
// user's sockets. Scenario 9 of the chat test plan.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collectEvents, emitAck, sleep, waitForEvent } from './harness.mjs';
import { chatFixture, show } from './chat-fixtures.mjs';

const fx = chatFixture();

describe('unread counts and mark_read (scenario 9)', () => {
  test('3 messages with one mention: counts, notification, mark_read synced to the other socket', async () => {
    const alice = await fx.user('alice');
    const bob = await fx.user('bob');
    const room = await fx.groupRoom(alice, [bob], 'unread');

    // Start Bob from a clean slate, whatever the server posted on room creation.
    const before = await fx.roomListEntry(bob, room.id);
    if (before.last_message) {
      await fx.restOk(bob, 'POST', `/api/chat/rooms/${room.id}/read`, { message_id: before.last_message.id });
    }
    const clean = await fx.roomListEntry(bob, room.id);
    assert.equal(clean.unread_count, 0, show(clean));
    assert.equal(clean.mention_count, 0, show(clean));

    const sa = await fx.socket(alice);
    await fx.join(sa, room.id);
    const sb1 = await fx.socket(bob);
    const sb2 = await fx.socket(bob);
    const aliceReads = collectEvents(sa, 'room_read');
    const notifications = collectEvents(sb1, 'notification');
    const notified = waitForEvent(sb1, 'notification', (n) => n?.room_id === room.id);

    const m1 = await fx.sendSocket(sa, room.id, 'one');
    const m2 = await fx.sendSocket(sa, room.id, `two, @${bob.username} please look`);
    const m3 = await fx.sendSocket(sa, room.id, 'three');
    assert.deepEqual(
      m2.mentions.map((u) => u.username),
      [bob.username],
      `mentions of the @-message: ${show(m2.mentions)}`,
    );
    assert.deepEqual(m1.mentions, []);

    const n = await notified;
    assert.equal(typeof n.id, 'number', show(n));
    assert.equal(n.kind, 'mention');
    assert.equal(n.room_id, room.id);
    assert.equal(n.message_id, m2.id);
    assert.equal(n.actor?.username, alice.username);
    assert.equal(n.read_at, null);
    await sleep(300);
    notifications.stop();
    assert.equal(notifications.events.length, 1, `expected exactly one notification: ${show(notifications.events)}`);

    const entry = await fx.roomListEntry(bob, room.id);
    assert.equal(entry.unread_count, 3, `room list: ${show(entry)}`);
    assert.equal(entry.mention_count, 1, `room list: ${show(entry)}`);
    assert.equal(entry.last_message?.id, m3.id, `last_message: ${show(entry.last_message)}`);
    assert.equal(entry.last_message.content, 'three');

    // Alice's own messages are not unread for her.
    const aliceEntry = await fx.roomListEntry(alice, room.id);
    assert.equal(aliceEntry.unread_count, 0, `sender's own messages counted as unread: ${show(aliceEntry)}`);

    // Partial read over REST up to m1: two unread left, the mention among them.
    const partial = await fx.restOk(bob, 'POST', `/api/chat/rooms/${room.id}/read`, { message_id: m1.id });
    assert.equal(partial.room_id, room.id);
    assert.equal(partial.last_read_message_id, m1.id);
    assert.equal(partial.unread_count, 2);
    assert.equal(partial.mention_count, 1);

    const synced = waitForEvent(sb2, 'room_read', (p) => p?.room_id === room.id && p.unread_count === 0);
    const ack = await emitAck(sb1, 'mark_read', { room_id: room.id, message_id: m3.id });
    assert.equal(ack?.ok, true, `mark_read: ${show(ack)}`);
    assert.equal(ack.room_id, room.id);
    assert.equal(ack.last_read_message_id, m3.id);
    assert.equal(ack.unread_count, 0);
    assert.equal(ack.mention_count, 0);

    const ev = await synced;
    assert.deepEqual(ev, {
      room_id: room.id,
      last_read_message_id: m3.id,
      unread_count: 0,
      mention_count: 0,
    });

    const after = await fx.roomListEntry(bob, room.id);
    assert.equal(after.unread_count, 0, show(after));
    assert.equal(after.mention_count, 0, show(after));

    // room_read goes to the reader's sockets only.
    await sleep(300);
    aliceReads.stop();
    assert.deepEqual(aliceReads.events, [], `another user got room_read: ${show(aliceReads.events)}`);

    // A new message makes it 1 again.
    const got = waitForEvent(sb2, 'new_chat_message', (m) => m?.room_id === room.id && m.content === 'four');
    await fx.sendSocket(sa, room.id, 'four');
    await got;
    const again = await fx.roomListEntry(bob, room.id);
    assert.equal(again.unread_count, 1, show(again));
    assert.equal(again.mention_count, 0, show(again));
  });
});
