// Event features (issue 13; SPEC §7a) with the npm Socket.IO client: session Q&A seen
// live, anonymous and moderated questions, announcements to every room of an event,
// pins, and the transcript export.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { collectEvents, emitAck, sleep, waitForEvent } from './harness.mjs';
import { chatFixture, show } from './chat-fixtures.mjs';

const fx = chatFixture();

/** A public room with Q&A, an owner (moderator) and two attendees with open sockets. */
async function qaRoom(settings = {}) {
  const host = await fx.user('host');
  const ann = await fx.user('ann');
  const ben = await fx.user('ben');
  const room = await fx.createRoom(host, { type: 'group', name: 'Keynote Q&A', is_public: true, qa_enabled: true, ...settings });
  assert.equal(room.qa_enabled, true, show(room));
  const sockets = {};
  for (const [name, u] of Object.entries({ host, ann, ben })) {
    sockets[name] = await fx.socket(u);
    await fx.join(sockets[name], room.id);
  }
  return { host, ann, ben, room, sockets };
}

const questions = (u, roomId, query = '') => fx.restOk(u, 'GET', `/api/chat/rooms/${roomId}/questions${query}`);
const qpath = (roomId, qid, action) => `/api/chat/rooms/${roomId}/questions/${qid}/${action}`;

describe('session Q&A', () => {
  test('ask, vote (a toggle), sort, answer, pin and hide, all seen live by another client', async () => {
    const { host, ann, ben, room, sockets } = await qaRoom();
    const added = waitForEvent(sockets.ben, 'qa_question_added', (q) => q?.room_id === room.id);
    const first = await fx.restOk(ann, 'POST', `/api/chat/rooms/${room.id}/questions`, { content: 'Will the slides be shared?' }, 201);
    assert.equal(first.status, 'approved');
    assert.equal(first.author.id, ann.id);
    const live = await added;
    assert.equal(live.id, first.id);
    assert.equal(live.content, 'Will the slides be shared?');
    const second = await fx.restOk(ben, 'POST', `/api/chat/rooms/${room.id}/questions`, { content: 'Is there a recording?' }, 201);

    // Ben votes for Ann's question; Ann's socket sees the count.
    const updated = waitForEvent(sockets.ann, 'qa_question_updated', (q) => q?.id === first.id && q.vote_count === 1);
    const voted = await fx.restOk(ben, 'POST', qpath(room.id, first.id, 'vote'));
    assert.equal(voted.vote_count, 1);
    assert.equal(voted.voted, true);
    await updated;
    // A second vote by the same person takes it back: one vote per person.
    const unvoted = await fx.restOk(ben, 'POST', qpath(room.id, first.id, 'vote'));
    assert.deepEqual([unvoted.vote_count, unvoted.voted], [0, false]);
    await fx.restOk(ben, 'POST', qpath(room.id, first.id, 'vote'));
    await fx.restOk(host, 'POST', qpath(room.id, first.id, 'vote'));
    const both = await Promise.all([
      fx.restOk(ann, 'POST', qpath(room.id, second.id, 'vote')),
      fx.restOk(ann, 'POST', qpath(room.id, second.id, 'vote')),
    ]);
    assert.deepEqual(both.map((q) => q.vote_count).sort(), [0, 1], 'two racing votes by one person never count twice');

    const byVotes = await questions(ben, room.id, '?sort=votes');
    assert.deepEqual(byVotes.questions.map((q) => [q.id, q.vote_count]), [[first.id, 2], [second.id, 0]]);
    assert.equal(byVotes.questions[0].voted, true);
    const byTime = await questions(ben, room.id, '?sort=time');
    assert.deepEqual(byTime.questions.map((q) => q.id), [second.id, first.id]);
    const paged = await questions(ben, room.id, '?sort=votes&limit=1');
    assert.equal(paged.has_more, true);
    const rest = await questions(ben, room.id, `?sort=votes&limit=1&after=${encodeURIComponent(paged.next_cursor)}`);
    assert.deepEqual(rest.questions.map((q) => q.id), [second.id]);

    // Moderation: attendees may not; the host answers, pins and hides.
    await fx.restError(ann, 'POST', qpath(room.id, first.id, 'answer'), undefined, 403, 'forbidden');
    const answered = waitForEvent(sockets.ben, 'qa_question_updated', (q) => q?.id === first.id && q.answered);
    assert.equal((await fx.restOk(host, 'POST', qpath(room.id, first.id, 'answer'))).answered, true);
    await answered;
    assert.equal((await fx.restOk(host, 'POST', qpath(room.id, first.id, 'pin'))).pinned, true);
    const repinned = await fx.restOk(host, 'POST', qpath(room.id, second.id, 'pin'));
    assert.equal(repinned.pinned, true);
    const listed = await questions(ann, room.id);
    assert.deepEqual(listed.questions.filter((q) => q.pinned).map((q) => q.id), [second.id], 'one "now answering" at a time');
    const removed = waitForEvent(sockets.ann, 'qa_question_removed', (q) => q?.id === second.id);
    await fx.restOk(host, 'POST', qpath(room.id, second.id, 'hide'));
    await removed;
    assert.deepEqual((await questions(ann, room.id)).questions.map((q) => q.id), [first.id]);
    assert.deepEqual((await questions(host, room.id, '?status=hidden')).questions.map((q) => q.id), [second.id]);
    await fx.restError(ann, 'POST', qpath(room.id, second.id, 'vote'), undefined, 404, 'not_found');
    // A question id of another room is not found through this one.
    const other = await qaRoom();
    await fx.restError(other.host, 'POST', qpath(other.room.id, first.id, 'vote'), undefined, 404, 'not_found');
  });

  test('anonymous questions hide the author from attendees, never from moderators', async () => {
    const { host, ann, ben, room, sockets } = await qaRoom();
    const live = waitForEvent(sockets.ben, 'qa_question_added', (q) => q?.room_id === room.id);
    const asked = await fx.restOk(ann, 'POST', `/api/chat/rooms/${room.id}/questions`, { content: 'Why so late?', anonymous: true }, 201);
    assert.equal(asked.author?.id, ann.id, 'the author sees themselves');
    const seen = await live;
    assert.equal(seen.author, null, show(seen));
    assert.equal(seen.anonymous, true);
    assert.equal((await questions(ben, room.id)).questions[0].author, null);
    assert.equal((await questions(host, room.id)).questions[0].author?.id, ann.id);
    // Live too: moderators' sockets end with the whole question, attendees' without.
    const toHost = waitForEvent(sockets.host, 'qa_question_updated', (q) => q?.id === asked.id && q.author?.id === ann.id);
    const toBen = collectEvents(sockets.ben, 'qa_question_updated', (q) => q?.id === asked.id);
    await fx.restOk(ben, 'POST', qpath(room.id, asked.id, 'vote'));
    await toHost;
    await sleep(200);
    toBen.stop();
    assert.ok(toBen.events.length >= 1 && toBen.events.every((q) => q.author === null), show(toBen.events));
  });

  test('with qa_moderation an attendee question waits in a review queue only moderators see', async () => {
    const { host, ann, ben, room, sockets } = await qaRoom({ qa_moderation: true });
    const toBen = collectEvents(sockets.ben, 'qa_question_added');
    const toHost = waitForEvent(sockets.host, 'qa_question_added', (q) => q?.room_id === room.id);
    const asked = await fx.restOk(ann, 'POST', `/api/chat/rooms/${room.id}/questions`, { content: 'Can I ask later?' }, 201);
    assert.equal(asked.status, 'pending');
    assert.equal((await toHost).id, asked.id, 'moderators hear of it live');
    await sleep(300);
    assert.deepEqual(toBen.events, [], 'attendees do not');
    assert.deepEqual((await questions(ben, room.id)).questions, []);
    assert.deepEqual((await questions(ann, room.id)).questions.map((q) => q.id), [asked.id], 'the author sees their own');
    await fx.restError(ben, 'GET', `/api/chat/rooms/${room.id}/questions?status=pending`, undefined, 403, 'forbidden');
    await fx.restError(ben, 'POST', qpath(room.id, asked.id, 'vote'), undefined, 404, 'not_found');
    assert.deepEqual((await questions(host, room.id, '?status=pending')).questions.map((q) => q.id), [asked.id]);
    // Hiding a question under review takes it out of the review queue live.
    const other = await fx.restOk(ben, 'POST', `/api/chat/rooms/${room.id}/questions`, { content: 'Off topic?' }, 201);
    const removed = waitForEvent(sockets.host, 'qa_question_removed', (q) => q?.id === other.id);
    await fx.restOk(host, 'POST', qpath(room.id, other.id, 'hide'));
    await removed;
    const approved = waitForEvent(sockets.ben, 'qa_question_added', (q) => q?.id === asked.id);
    assert.equal((await fx.restOk(host, 'POST', qpath(room.id, asked.id, 'approve'))).status, 'approved');
    await approved;
    toBen.stop();
    assert.deepEqual((await questions(ben, room.id)).questions.map((q) => q.id), [asked.id]);
  });

  test('rooms without Q&A refuse questions', async () => {
    const { alice, room } = await fx.pair('no-qa');
    await fx.restError(alice, 'POST', `/api/chat/rooms/${room.id}/questions`, { content: 'hello?' }, 403, 'qa_disabled');
  });
});

describe('announcements', () => {
  test('an organizer announces to every room of the event: live, and counted apart', async () => {
    const organizer = await fx.user('org');
    const attendee = await fx.user('att');
    const stranger = await fx.user('str');
    const { event, room } = await fx.eventWithRoom(organizer);
    await fx.restOk(attendee, 'POST', `/api/events/${event.id}/register`, {});
    const side = await fx.createRoom(organizer, { type: 'group', name: 'Workshop', is_public: true, event_id: event.id });
    const sa = await fx.socket(attendee);
    await fx.join(sa, room.id);
    await fx.join(sa, side.id);
    const heard = collectEvents(sa, 'new_chat_message', (m) => m?.type === 'event_update');
    const notified = waitForEvent(sa, 'notification', (n) => n?.kind === 'announcement');

    await fx.restError(attendee, 'POST', `/api/events/${event.id}/announcements`, { content: 'Doors open' }, 403, 'forbidden');
    await fx.restError(stranger, 'POST', `/api/events/${event.id}/announcements`, { content: 'Doors open' }, 403, 'forbidden');
    await fx.restError(organizer, 'POST', `/api/events/${event.id}/announcements`, { content: '  ' }, 422, 'invalid_content');
    const sent = await fx.restOk(organizer, 'POST', `/api/events/${event.id}/announcements`, { content: 'Keynote moves to Hall B', notify_attendees: true }, 201);
    assert.deepEqual(sent.messages.map((m) => m.room_id).sort(), [room.id, side.id].sort());
    assert.equal(sent.notified, 1);
    await notified;
    await sleep(200);
    heard.stop();
    assert.deepEqual(heard.events.map((m) => m.room_id).sort(), [room.id, side.id].sort(), show(heard.events));
    for (const id of [room.id, side.id]) {
      const entry = await fx.roomListEntry(attendee, id);
      assert.equal(entry.announcement_count, 1, show(entry));
    }
    await fx.restError(organizer, 'POST', '/api/events/999999/announcements', { content: 'x' }, 404, 'not_found');
  });
});

describe('pins', () => {
  test('pin, list, unpin, live; members may not; at most 50 per room', async () => {
    const { alice, bob, room, sb } = await fx.pair('pins');
    const message = await fx.sendRest(bob, room.id, 'Wi-Fi password is on the badge');
    const pinnedLive = waitForEvent(sb, 'message_pinned', (p) => p?.message_id === message.id);
    const res = await fx.rest(alice, 'POST', `/api/chat/messages/${message.id}/pin`);
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.message.content, 'Wi-Fi password is on the badge');
    await pinnedLive;
    assert.equal((await fx.rest(alice, 'POST', `/api/chat/messages/${message.id}/pin`)).status, 200, 'pinning twice is harmless');
    await fx.restError(bob, 'POST', `/api/chat/messages/${message.id}/pin`, undefined, 403, 'forbidden');
    const list = await fx.restOk(bob, 'GET', `/api/chat/rooms/${room.id}/pins`);
    assert.deepEqual(list.pins.map((p) => p.message_id), [message.id]);
    assert.equal(list.pins[0].pinned_by.id, alice.id);
    const unpinnedLive = waitForEvent(sb, 'message_unpinned', (p) => p?.message_id === message.id);
    await fx.restOk(alice, 'DELETE', `/api/chat/messages/${message.id}/pin`);
    await unpinnedLive;
    await fx.restError(alice, 'DELETE', `/api/chat/messages/${message.id}/pin`, undefined, 404, 'not_found');

    const ids = [];
    for (let i = 0; i < 51; i += 1) ids.push((await fx.sendRest(alice, room.id, `note ${i}`)).id);
    for (const id of ids.slice(0, 50)) assert.equal((await fx.rest(alice, 'POST', `/api/chat/messages/${id}/pin`)).status, 201);
    await fx.restError(alice, 'POST', `/api/chat/messages/${ids[50]}/pin`, undefined, 409, 'pin_limit_reached');
    assert.equal((await fx.restOk(alice, 'GET', `/api/chat/rooms/${room.id}/pins`)).pins.length, 50);
    // A deleted message leaves the pins.
    await fx.restOk(alice, 'DELETE', `/api/chat/messages/${ids[0]}/delete`);
    assert.equal((await fx.restOk(alice, 'GET', `/api/chat/rooms/${room.id}/pins`)).pins.length, 49);
  });
});

describe('transcript export', () => {
  test('every message in order with deletions marked, and the Q&A, as JSON and CSV; moderators only', async () => {
    const { host, ann, room } = await qaRoom();
    const sent = [];
    for (let i = 0; i < 30; i += 1) sent.push(await fx.sendRest(i % 2 ? ann : host, room.id, `line ${i}, with "quotes"`));
    await fx.restOk(ann, 'DELETE', `/api/chat/messages/${sent[3].id}/delete`);
    await fx.restOk(ann, 'PUT', `/api/chat/messages/${sent[5].id}/edit`, { content: 'line 5, edited' });
    await fx.restOk(ann, 'POST', `/api/chat/rooms/${room.id}/questions`, { content: '=cmd|calc', anonymous: true }, 201);

    await fx.restError(ann, 'GET', `/api/chat/rooms/${room.id}/export`, undefined, 403, 'forbidden');
    const res = await fetch(`${fx.url}/api/chat/rooms/${room.id}/export?format=json`, { headers: { authorization: `Bearer ${host.token}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-disposition'), /attachment; filename="room-\d+-transcript\.json"/);
    const doc = await res.json();
    assert.equal(doc.room.id, room.id);
    const seqs = doc.messages.map((m) => m.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in order');
    const byId = new Map(doc.messages.map((m) => [m.id, m]));
    for (const m of sent) assert.ok(byId.has(m.id), `message ${m.id} exported`);
    assert.equal(byId.get(sent[3].id).content, null);
    assert.equal(typeof byId.get(sent[3].id).deleted_at, 'string', 'deletion marked');
    assert.equal(byId.get(sent[5].id).content, 'line 5, edited');
    assert.equal(typeof byId.get(sent[5].id).edited_at, 'string', 'edit marked');
    assert.equal(byId.get(sent[0].id).sender_role, 'owner');
    assert.equal(byId.get(sent[1].id).sender_role, 'member');
    assert.equal(doc.questions.length, 1);
    assert.equal(doc.questions[0].author.id, ann.id, 'moderators see who asked');

    const csv = await fetch(`${fx.url}/api/chat/rooms/${room.id}/export?format=csv`, { headers: { authorization: `Bearer ${host.token}` } });
    assert.equal(csv.status, 200);
    assert.match(csv.headers.get('content-type'), /^text\/csv/);
    const text = await csv.text();
    assert.ok(text.startsWith('record,id,seq,created_at,'), text.slice(0, 80));
    assert.ok(text.includes('"line 2, with ""quotes"""'), 'quoted per RFC 4180');
    assert.ok(text.includes("'=cmd|calc"), 'a formula is defused');
    const messageRows = text.split('\n').filter((line) => line.startsWith('message,'));
    assert.equal(messageRows.length, doc.messages.length);
    const badFormat = await fx.rest(host, 'GET', `/api/chat/rooms/${room.id}/export?format=xml`);
    assert.ok([400, 422].includes(badFormat.status), badFormat.text);
  });
});
