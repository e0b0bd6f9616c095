// Catching up after a reconnect: join_chat_room {room_id, since}.
// Scenario 8 of the chat test plan (plus the `updates` and 500-cap rules of
// docs/realtime.md).

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { emitAck, waitForEvent } from './harness.mjs';
import { chatFixture, show } from './chat-fixtures.mjs';

const fx = chatFixture();

/** Alice sends `texts` one after another (each acked) and returns the Messages. */
async function sendAll(socket, roomId, texts) {
  const out = [];
  for (const text of texts) out.push(await fx.sendSocket(socket, roomId, text));
  return out;
}

/** Alice sends messages live to Bob; resolves to the id of the last one Bob saw. */
async function seenByBob(sa, sb, roomId, texts) {
  let last;
  for (const text of texts) {
    const got = waitForEvent(sb, 'new_chat_message', (m) => m?.room_id === roomId && m.content === text);
    await fx.sendSocket(sa, roomId, text);
    last = await got;
  }
  return last.id;
}

describe('reconnect (scenario 8)', () => {
  test('join_chat_room with since returns exactly the missed messages in order', async () => {
    const { bob, room, sa, sb } = await fx.pair('catchup');
    const lastSeenId = await seenByBob(sa, sb, room.id, ['seen-0', 'seen-1', 'seen-2']);
    sb.disconnect();

    const texts = Array.from({ length: 50 }, (_, i) => `missed-${i}`);
    const missed = await sendAll(sa, room.id, texts);

    const sb2 = await fx.socket(bob);
    const joined = waitForEvent(sb2, 'chat_room_joined', (p) => p?.room?.id === room.id);
    const ack = await fx.join(sb2, room.id, lastSeenId);
    assert.equal(ack.room?.id, room.id);
    assert.ok(Array.isArray(ack.messages), show(ack));
    assert.equal(ack.messages.length, 50, `expected the 50 missed messages, got ${ack.messages.length}`);
    assert.deepEqual(ack.messages.map((m) => m.content), texts);
    assert.deepEqual(ack.messages.map((m) => m.id), missed.map((m) => m.id));
    assert.deepEqual(
      ack.messages.map((m) => m.seq),
      missed.map((m) => m.seq),
    );
    for (let i = 1; i < 50; i += 1) assert.equal(ack.messages[i].seq, ack.messages[i - 1].seq + 1);
    assert.equal(ack.has_more, false);
    assert.deepEqual(ack.updates, [], `nothing earlier changed, updates should be empty: ${show(ack.updates)}`);

    const ev = await joined;
    assert.deepEqual(ev.messages.map((m) => m.id), missed.map((m) => m.id));
    assert.equal(ev.has_more, false);

    // The new socket is live again.
    const got = waitForEvent(sb2, 'new_chat_message', (m) => m?.room_id === room.id && m.content === 'welcome back');
    await fx.sendSocket(sa, room.id, 'welcome back');
    await got;
  });

  test('updates carries earlier messages edited, deleted or reacted to while away', async () => {
    const { bob, room, sa, sb } = await fx.pair('updates');
    const [toEdit, toDelete, toReact] = await sendAll(sa, room.id, ['will be edited', 'will be deleted', 'will get a reaction']);
    const untouched = await fx.sendSocket(sa, room.id, 'left alone');
    const lastSeenId = await seenByBob(sa, sb, room.id, ['last seen']);
    sb.disconnect();

    const e = await emitAck(sa, 'edit_chat_message', { message_id: toEdit.id, content: 'was edited' });
    assert.equal(e?.ok, true, show(e));
    const d = await emitAck(sa, 'delete_chat_message', { message_id: toDelete.id });
    assert.equal(d?.ok, true, show(d));
    const r = await emitAck(sa, 'add_message_reaction', { message_id: toReact.id, emoji: '👍' });
    assert.equal(r?.ok, true, show(r));
    const fresh = await fx.sendSocket(sa, room.id, 'new while away');

    const sb2 = await fx.socket(bob);
    const ack = await fx.join(sb2, room.id, lastSeenId);
    assert.deepEqual(ack.messages.map((m) => m.id), [fresh.id]);
    assert.equal(ack.has_more, false);
    assert.ok(Array.isArray(ack.updates), show(ack));
    const byId = new Map(ack.updates.map((m) => [m.id, m]));
    assert.deepEqual(
      [...byId.keys()].sort((x, y) => x - y),
      [toEdit.id, toDelete.id, toReact.id].sort((x, y) => x - y),
      `updates: ${show(ack.updates)}`,
    );
    assert.ok(!byId.has(untouched.id));
    assert.equal(byId.get(toEdit.id).content, 'was edited');
    assert.equal(typeof byId.get(toEdit.id).edited_at, 'string');
    assert.equal(byId.get(toDelete.id).content, null);
    assert.equal(typeof byId.get(toDelete.id).deleted_at, 'string');
    assert.deepEqual(
      byId.get(toReact.id).reactions.map(({ emoji, count }) => ({ emoji, count })),
      [{ emoji: '👍', count: 1 }],
    );
    assert.ok(!JSON.stringify(ack).includes('will be deleted'), 'deleted text leaked into the join ack');
  });

  test('since returns at most 500 messages and has_more, the rest via ?after=', async () => {
    const { bob, room, sa, sb } = await fx.pair('backlog');
    const lastSeenId = await seenByBob(sa, sb, room.id, ['before the backlog']);
    sb.disconnect();

    // In batches of 104, so no more than that many events are in flight at once.
    const N = 520;
    for (let from = 0; from < N; from += 104) {
      const acks = await Promise.all(
        Array.from({ length: 104 }, (_, k) =>
          emitAck(sa, 'send_chat_message', { room_id: room.id, content: `b-${from + k}` }, 30_000),
        ),
      );
      acks.forEach((a, k) => assert.equal(a?.ok, true, `send ${from + k}: ${show(a)}`));
    }

    const sb2 = await fx.socket(bob);
    const ack = await fx.join(sb2, room.id, lastSeenId);
    assert.equal(ack.messages.length, 500);
    assert.equal(ack.has_more, true);
    assert.deepEqual(
      ack.messages.map((m) => m.content),
      Array.from({ length: 500 }, (_, i) => `b-${i}`),
    );
    const rest = await fx.history(bob, room.id, `?after=${ack.messages.at(-1).id}&limit=100`);
    assert.deepEqual(
      rest.messages.map((m) => m.content),
      Array.from({ length: 20 }, (_, i) => `b-${500 + i}`),
    );
    assert.equal(rest.has_more, false);
  });
});
