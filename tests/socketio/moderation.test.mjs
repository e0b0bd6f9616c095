// Moderation over Socket.IO: a kicked or banned user's sockets (every tab) stop
// receiving the room at once; the room and the target hear why.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collectEvents, emitAck, sleep, waitForEvent } from './harness.mjs';
import { assertAckError, chatFixture, show } from './chat-fixtures.mjs';

const fx = chatFixture();

describe('moderation (SPEC §7)', () => {
  let owner;
  let member;

  before(async () => {
    owner = await fx.user('owner');
    member = await fx.user('member');
  });

  for (const action of ['kick_user', 'ban_user']) {
    test(`${action}: every socket of the target stops receiving the room at once`, async () => {
      const room = await fx.groupRoom(owner, [member], action);
      const so = await fx.socket(owner);
      const tab1 = await fx.socket(member);
      const tab2 = await fx.socket(member);
      for (const s of [so, tab1, tab2]) await fx.join(s, room.id);
      const event = action === 'kick_user' ? 'user_kicked' : 'user_banned';
      const told = waitForEvent(tab2, event, (p) => p?.room_id === room.id);
      const ack = await emitAck(so, action, { room_id: room.id, user_id: member.id, reason: 'rules' });
      assert.equal(ack?.ok, true, show(ack));
      assert.equal(ack.user.id, member.id);
      const notice = await told;
      assert.equal(notice.reason, 'rules', show(notice));

      const after1 = collectEvents(tab1, 'new_chat_message');
      const after2 = collectEvents(tab2, 'new_chat_message');
      await fx.sendSocket(so, room.id, 'after the kick');
      await sleep(400);
      after1.stop();
      after2.stop();
      // (The system message announcing the removal may still be on its way; nothing sent
      // after it may arrive.)
      const later = (events) => events.filter((m) => m.content === 'after the kick');
      assert.deepEqual([later(after1.events), later(after2.events)], [[], []], 'the removed user still receives the room');
      // Writing there is refused too.
      assertAckError(await emitAck(tab1, 'send_chat_message', { room_id: room.id, content: 'hello?' }), 'not_found');
      for (const s of [so, tab1, tab2]) s.disconnect();
    });
  }

  test('a muted user cannot send, react or vote over the socket; user_muted reaches their sockets', async () => {
    const room = await fx.groupRoom(owner, [member], 'muted-socket');
    const so = await fx.socket(owner);
    const sm = await fx.socket(member);
    for (const s of [so, sm]) await fx.join(s, room.id);
    const msg = await fx.sendSocket(so, room.id, 'react to this');
    const told = waitForEvent(sm, 'user_muted', (p) => p?.room_id === room.id);
    const ack = await emitAck(so, 'mute_user', { room_id: room.id, user_id: member.id, duration_seconds: 600, reason: 'cool off' });
    assert.equal(ack?.ok, true, show(ack));
    const notice = await told;
    assert.equal(notice.user.id, member.id);
    assert.equal(typeof notice.until, 'string', show(notice));
    assertAckError(await emitAck(sm, 'send_chat_message', { room_id: room.id, content: 'hey' }), 'muted');
    assertAckError(await emitAck(sm, 'add_message_reaction', { message_id: msg.id, emoji: '👍' }), 'muted');
    const unmuted = waitForEvent(sm, 'user_unmuted', (p) => p?.room_id === room.id);
    assert.equal((await emitAck(so, 'unmute_user', { room_id: room.id, user_id: member.id }))?.ok, true);
    await unmuted;
    assert.equal((await emitAck(sm, 'send_chat_message', { room_id: room.id, content: 'back' }))?.ok, true);
    for (const s of [so, sm]) s.disconnect();
  });

  test('members may not kick; nobody kicks the owner', async () => {
    const room = await fx.groupRoom(owner, [member], 'no-kick');
    const sm = await fx.socket(member);
    assertAckError(await emitAck(sm, 'kick_user', { room_id: room.id, user_id: owner.id }), 'forbidden');
    sm.disconnect();
  });
});
