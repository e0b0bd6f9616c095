// Messages over Socket.IO: delete, edit, duplicate client_id, ordering under
// load, polls and reactions. Scenarios 4, 5, 6, 7, 10 and 12 of the chat test plan.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collectEvents, emitAck, sleep, waitForEvent } from './harness.mjs';
import { chatFixture, show } from './chat-fixtures.mjs';

const fx = chatFixture();

const pair = (name) => fx.pair(name);

describe('delete (scenario 4)', () => {
  test('delete_chat_message reaches every socket and leaves a tombstone without the text', async () => {
    const { alice, bob, room, sa, sb } = await pair('deletes');
    const secret = 'the vault code is 7f3a-91c2';

    const bobSaw = waitForEvent(sb, 'new_chat_message', (m) => m?.content === secret);
    const m = await fx.sendSocket(sa, room.id, secret);
    await bobSaw;

    // Bob (a plain member) may not delete Alice's message.
    const refused = await emitAck(sb, 'delete_chat_message', { message_id: m.id });
    assert.equal(refused?.ok, false, `member deleted someone else's message: ${show(refused)}`);
    assert.equal(refused.error?.code, 'forbidden', show(refused));

    const delA = waitForEvent(sa, 'message_deleted', (p) => p?.id === m.id);
    const delB = waitForEvent(sb, 'message_deleted', (p) => p?.id === m.id);
    const ack = await emitAck(sa, 'delete_chat_message', { message_id: m.id });
    assert.equal(ack?.ok, true, `delete_chat_message: ${show(ack)}`);
    assert.equal(ack.id, m.id);
    assert.equal(ack.room_id, room.id);

    for (const [who, p] of [['alice', await delA], ['bob', await delB]]) {
      assert.equal(p.id, m.id, `${who}: ${show(p)}`);
      assert.equal(p.room_id, room.id, `${who}: ${show(p)}`);
      assert.ok(!JSON.stringify(p).includes(secret), `${who}: message_deleted carries the text: ${show(p)}`);
    }

    for (const u of [alice, bob]) {
      const res = await fx.rest(u, 'GET', `/api/chat/rooms/${room.id}/messages`);
      assert.equal(res.status, 200, res.text);
      assert.ok(!res.text.includes(secret), `history still contains the deleted text: ${res.text}`);
      const tomb = res.body.messages.find((x) => x.id === m.id);
      assert.ok(tomb, `deleted message vanished from history instead of being kept: ${res.text}`);
      assert.equal(tomb.content, null, `deleted content: ${show(tomb)}`);
      assert.equal(typeof tomb.deleted_at, 'string', `deleted_at: ${show(tomb)}`);
      assert.ok(!Number.isNaN(Date.parse(tomb.deleted_at)), `deleted_at is not a time: ${show(tomb)}`);
      assert.equal(tomb.seq, m.seq, 'seq changed on delete');
      assert.equal(tomb.room_id, room.id);
    }

    // The seq keeps counting after a delete.
    const next = await fx.sendSocket(sa, room.id, 'after delete');
    assert.equal(next.seq, m.seq + 1);
  });
});

describe('edit (scenario 5)', () => {
  test('the sender edits; the other user gets message_edited; anyone else is refused', async () => {
    const { bob, room, sa, sb } = await pair('edits');
    const m = await fx.sendSocket(sa, room.id, 'first draft');
    assert.equal(m.edited_at, null);

    const editedB = waitForEvent(sb, 'message_edited', (p) => p?.id === m.id);
    const ack = await emitAck(sa, 'edit_chat_message', { message_id: m.id, content: 'final text' });
    assert.equal(ack?.ok, true, `edit_chat_message: ${show(ack)}`);
    assert.equal(ack.message?.id, m.id);
    assert.equal(ack.message.content, 'final text');
    assert.equal(ack.message.seq, m.seq);
    assert.equal(ack.message.created_at, m.created_at);
    assert.equal(typeof ack.message.edited_at, 'string', `edited_at not set: ${show(ack.message)}`);
    assert.ok(!Number.isNaN(Date.parse(ack.message.edited_at)));

    const ev = await editedB;
    assert.equal(ev.room_id, room.id);
    assert.equal(ev.content, 'final text');
    assert.equal(ev.seq, m.seq);
    assert.equal(typeof ev.edited_at, 'string');
    assert.equal(ev.sender?.id, m.sender.id);

    // Bob is in the room but is not the sender.
    const notMine = collectEvents(sa, 'message_edited');
    const refused = await emitAck(sb, 'edit_chat_message', { message_id: m.id, content: 'hijacked' });
    assert.equal(refused?.ok, false, `non-sender edited a message: ${show(refused)}`);
    assert.equal(refused.error?.code, 'not_sender', show(refused));
    await sleep(300);
    notMine.stop();
    assert.deepEqual(notMine.events, [], 'a refused edit was broadcast');

    const hist = await fx.history(bob, room.id);
    const stored = hist.messages.find((x) => x.id === m.id);
    assert.equal(stored.content, 'final text');
    assert.equal(stored.edited_at, ack.message.edited_at);
  });
});

describe('duplicate client_id (scenario 6)', () => {
  test('the same client_id from the same sender yields one message', async () => {
    const { alice, bob, room, sa, sb } = await pair('dupes');
    const clientId = `cid-${Date.now()}-${Math.random().toString(36).slice(2)}`;
    const bobGot = collectEvents(sb, 'new_chat_message', (p) => p?.room_id === room.id);

    // Two emits back to back, no await in between.
    const [a1, a2] = await Promise.all([
      emitAck(sa, 'send_chat_message', { room_id: room.id, content: 'only once', client_id: clientId }),
      emitAck(sa, 'send_chat_message', { room_id: room.id, content: 'only once', client_id: clientId }),
    ]);
    assert.equal(a1?.ok, true, show(a1));
    assert.equal(a2?.ok, true, `a duplicate must not be an error: ${show(a2)}`);
    assert.equal(a1.message.id, a2.message.id, 'duplicate client_id created two messages');
    assert.equal(a1.message.client_id, clientId);
    assert.equal(a2.message.content, 'only once');

    // A later retry with other content acks the first message again.
    const a3 = await emitAck(sa, 'send_chat_message', { room_id: room.id, content: 'changed my mind', client_id: clientId });
    assert.equal(a3?.ok, true, show(a3));
    assert.equal(a3.message.id, a1.message.id);
    assert.equal(a3.message.content, 'only once');

    // Same over REST.
    const rest = await fx.rest(alice, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: 'only once', client_id: clientId });
    assert.equal(rest.status, 200, `REST duplicate: ${rest.status} ${rest.text}`);
    assert.equal(rest.body.id, a1.message.id);

    await sleep(500);
    bobGot.stop();
    assert.deepEqual(
      bobGot.events.map((e) => e.id),
      [a1.message.id],
      `Bob should have received exactly one new_chat_message: ${show(bobGot.events)}`,
    );

    const hist = await fx.history(bob, room.id);
    const copies = hist.messages.filter((x) => x.client_id === clientId);
    assert.equal(copies.length, 1, `history: ${show(hist.messages)}`);
    assert.equal(hist.messages.filter((x) => x.content === 'only once').length, 1);
    assert.equal(hist.messages.filter((x) => x.content === 'changed my mind').length, 0);

    // The client_id is per sender: Bob using the same one creates his own message.
    const b = await fx.sendSocket(sb, room.id, 'bob, same client id', { client_id: clientId });
    assert.notEqual(b.id, a1.message.id);
    assert.equal(b.seq, a1.message.seq + 1);
  });
});

describe('order under load (scenario 7)', () => {
  test('200 messages emitted without waiting are stored in send order', async () => {
    const { alice, bob, room, sa, sb } = await pair('firehose');
    const N = 200;
    const start = await fx.sendSocket(sa, room.id, 'start');
    const bobGot = collectEvents(sb, 'new_chat_message', (p) => p?.room_id === room.id && /^m-\d+$/.test(p.content));

    const pending = [];
    for (let i = 0; i < N; i += 1) {
      pending.push(emitAck(sa, 'send_chat_message', { room_id: room.id, content: `m-${i}` }, 60_000));
    }
    const acks = await Promise.all(pending);
    acks.forEach((ack, i) => {
      assert.equal(ack?.ok, true, `ack ${i}: ${show(ack)}`);
      assert.equal(ack.message.content, `m-${i}`);
      assert.equal(ack.message.seq, start.seq + 1 + i, `ack ${i} seq: ${show(ack.message)}`);
    });

    const page1 = await fx.history(alice, room.id, `?after=${start.id}&limit=100`);
    assert.equal(page1.messages.length, 100);
    assert.equal(page1.has_more, true);
    const last1 = page1.messages.at(-1).id;
    const page2 = await fx.history(alice, room.id, `?after=${last1}&limit=100`);
    assert.equal(page2.messages.length, 100);
    assert.equal(page2.has_more, false, 'has_more after the last page');

    const all = [...page1.messages, ...page2.messages];
    assert.deepEqual(
      all.map((m) => m.content),
      Array.from({ length: N }, (_, i) => `m-${i}`),
    );
    assert.deepEqual(
      all.map((m) => m.seq),
      Array.from({ length: N }, (_, i) => start.seq + 1 + i),
    );
    assert.deepEqual(all.map((m) => m.id), acks.map((a) => a.message.id));
    for (let i = 1; i < N; i += 1) assert.ok(all[i].id > all[i - 1].id, 'ids not increasing');

    // Bob received every one of them live, each once.
    const deadline = Date.now() + 10_000;
    while (bobGot.events.length < N && Date.now() < deadline) await sleep(50);
    await sleep(200);
    bobGot.stop();
    assert.equal(bobGot.events.length, N, `Bob received ${bobGot.events.length} of ${N}`);
    assert.deepEqual(
      bobGot.events.map((m) => m.seq).sort((x, y) => x - y),
      Array.from({ length: N }, (_, i) => start.seq + 1 + i),
    );
  });
});

describe('polls (scenario 10)', () => {
  test('a vote updates both sides; an out-of-range vote is refused', async () => {
    const { alice, bob, room, sa, sb } = await pair('lunch');
    const bobSaw = waitForEvent(sb, 'new_chat_message', (m) => m?.room_id === room.id && m.type === 'poll');
    const sent = await emitAck(sa, 'send_chat_message', {
      room_id: room.id,
      type: 'poll',
      content: 'Lunch?',
      poll: { question: 'Lunch?', options: ['pizza', 'sushi'], multiple: false },
    });
    assert.equal(sent?.ok, true, `poll send: ${show(sent)}`);
    const msg = sent.message;
    assert.equal(msg.type, 'poll');
    assert.equal(msg.poll?.question, 'Lunch?');
    assert.deepEqual(msg.poll.options.map((o) => [o.text, o.votes]), [['pizza', 0], ['sushi', 0]]);
    assert.equal(msg.poll.multiple, false);
    assert.equal(msg.poll.closed, false);
    const live = await bobSaw;
    assert.equal(live.id, msg.id);
    assert.deepEqual(live.poll.options.map((o) => o.text), ['pizza', 'sushi']);

    const updA = waitForEvent(sa, 'poll_updated', (p) => p?.message_id === msg.id);
    const updB = waitForEvent(sb, 'poll_updated', (p) => p?.message_id === msg.id);
    const vote = await emitAck(sb, 'vote_poll', { message_id: msg.id, options: [1] });
    assert.equal(vote?.ok, true, `vote_poll: ${show(vote)}`);
    assert.equal(vote.message_id, msg.id);
    assert.equal(vote.room_id, room.id);
    assert.deepEqual(vote.poll.options.map((o) => o.votes), [0, 1]);
    assert.deepEqual(vote.poll.my_votes, [1], `my_votes in the voter's ack: ${show(vote.poll)}`);

    for (const [who, p] of [['alice', await updA], ['bob', await updB]]) {
      assert.equal(p.room_id, room.id, `${who}: ${show(p)}`);
      assert.equal(p.poll?.options?.[1]?.votes, 1, `${who}: ${show(p)}`);
      assert.equal(p.poll.options[0].votes, 0, `${who}: ${show(p)}`);
      assert.ok(
        p.poll.my_votes === undefined || p.poll.my_votes === null,
        `${who}: broadcast poll carries my_votes: ${show(p.poll)}`,
      );
    }

    // Out of range, negative, and two options on a single-choice poll.
    const quiet = collectEvents(sa, 'poll_updated');
    for (const options of [[2], [7], [-1], [0, 1]]) {
      const bad = await emitAck(sb, 'vote_poll', { message_id: msg.id, options });
      assert.equal(bad?.ok, false, `vote ${show(options)} accepted: ${show(bad)}`);
      assert.equal(bad.error?.code, 'invalid_vote', show(bad));
    }
    await sleep(300);
    quiet.stop();
    assert.deepEqual(quiet.events, [], `refused votes were broadcast: ${show(quiet.events)}`);

    const hist = await fx.history(bob, room.id);
    const stored = hist.messages.find((x) => x.id === msg.id);
    assert.deepEqual(stored.poll.options.map((o) => o.votes), [0, 1], `stored poll: ${show(stored.poll)}`);
    assert.deepEqual(stored.poll.my_votes, [1]);
    const aliceView = (await fx.history(alice, room.id)).messages.find((x) => x.id === msg.id);
    assert.ok(
      aliceView.poll.my_votes === null || (Array.isArray(aliceView.poll.my_votes) && aliceView.poll.my_votes.length === 0),
      `alice has not voted: ${show(aliceView.poll)}`,
    );
  });
});

describe('reactions (scenario 12)', () => {
  test('add, add again, remove', async () => {
    const { alice, bob, room, sa, sb } = await pair('reacts');
    const m = await fx.sendSocket(sa, room.id, 'react to me');
    const base = { message_id: m.id, room_id: room.id, emoji: '👍', user_id: bob.id };

    const addA = waitForEvent(sa, 'message_reaction_added', (p) => p?.message_id === m.id);
    const addB = waitForEvent(sb, 'message_reaction_added', (p) => p?.message_id === m.id);
    const ack = await emitAck(sb, 'add_message_reaction', { message_id: m.id, emoji: '👍' });
    assert.equal(ack?.ok, true, `add_message_reaction: ${show(ack)}`);
    assert.equal(ack.message_id, m.id);
    assert.equal(ack.room_id, room.id);
    assert.equal(ack.emoji, '👍');
    assert.deepEqual(ack.reactions, [{ emoji: '👍', count: 1, me: true }]);

    assert.deepEqual(await addA, { ...base, reactions: [{ emoji: '👍', count: 1 }] });
    assert.deepEqual(await addB, { ...base, reactions: [{ emoji: '👍', count: 1 }] });

    // Adding the same emoji again changes nothing (and is not an error).
    const again = collectEvents(sa, 'message_reaction_added');
    const ack2 = await emitAck(sb, 'add_message_reaction', { message_id: m.id, emoji: '👍' });
    assert.equal(ack2?.ok, true, `second add: ${show(ack2)}`);
    assert.deepEqual(ack2.reactions, [{ emoji: '👍', count: 1, me: true }]);
    await sleep(300);
    again.stop();
    assert.deepEqual(again.events, [], `a reaction that changed nothing was broadcast: ${show(again.events)}`);

    const aliceView = (await fx.history(alice, room.id)).messages.find((x) => x.id === m.id);
    assert.deepEqual(aliceView.reactions, [{ emoji: '👍', count: 1, me: false }]);
    const bobView = (await fx.history(bob, room.id)).messages.find((x) => x.id === m.id);
    assert.deepEqual(bobView.reactions, [{ emoji: '👍', count: 1, me: true }]);

    const remA = waitForEvent(sa, 'message_reaction_removed', (p) => p?.message_id === m.id);
    const remB = waitForEvent(sb, 'message_reaction_removed', (p) => p?.message_id === m.id);
    const ack3 = await emitAck(sb, 'remove_message_reaction', { message_id: m.id, emoji: '👍' });
    assert.equal(ack3?.ok, true, `remove_message_reaction: ${show(ack3)}`);
    assert.equal(ack3.message_id, m.id);
    assert.equal(ack3.room_id, room.id);
    assert.equal(ack3.emoji, '👍');
    assert.deepEqual(ack3.reactions, []);
    assert.deepEqual(await remA, { ...base, reactions: [] });
    assert.deepEqual(await remB, { ...base, reactions: [] });

    const after = (await fx.history(alice, room.id)).messages.find((x) => x.id === m.id);
    assert.deepEqual(after.reactions, []);
  });

  test('two users, two emoji: counts and me per caller', async () => {
    const { alice, bob, room, sa, sb } = await pair('reacts2');
    const m = await fx.sendSocket(sa, room.id, 'vote with emoji');
    const a1 = await emitAck(sa, 'add_message_reaction', { message_id: m.id, emoji: '👍' });
    assert.equal(a1?.ok, true, show(a1));
    const last = waitForEvent(sa, 'message_reaction_added', (p) => p?.message_id === m.id && p.emoji === '❤️');
    const b1 = await emitAck(sb, 'add_message_reaction', { message_id: m.id, emoji: '👍' });
    assert.equal(b1?.ok, true, show(b1));
    const b2 = await emitAck(sb, 'add_message_reaction', { message_id: m.id, emoji: '❤️' });
    assert.equal(b2?.ok, true, `❤️ must be accepted as a single emoji: ${show(b2)}`);
    const byEmoji = (list) => [...list].sort((x, y) => (x.emoji < y.emoji ? -1 : 1));

    const p = await last;
    assert.deepEqual(byEmoji(p.reactions), byEmoji([{ emoji: '👍', count: 2 }, { emoji: '❤️', count: 1 }]));
    const aliceView = (await fx.history(alice, room.id)).messages.find((x) => x.id === m.id);
    assert.deepEqual(
      byEmoji(aliceView.reactions),
      byEmoji([{ emoji: '👍', count: 2, me: true }, { emoji: '❤️', count: 1, me: false }]),
    );
    const bobView = (await fx.history(bob, room.id)).messages.find((x) => x.id === m.id);
    assert.deepEqual(
      byEmoji(bobView.reactions),
      byEmoji([{ emoji: '👍', count: 2, me: true }, { emoji: '❤️', count: 1, me: true }]),
    );
  });
});

