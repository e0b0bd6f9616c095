// The authorization matrix (issue 15): every REST operation of the served OpenAPI
// document and every client → server Socket.IO event (src/realtime/operations.rs,
// OPERATIONS) × every kind of caller, with the expected answer of each cell written
// down below as a table, decided from SPEC §2–§7a (not from what the server answers).
//
// Actors (the columns of every row, in this order):
//   anon       no credentials
//   nonmember  signed in, not a participant of the room, not an attendee of the event
//   member     plain participant; sender of the target message/poll/question/file
//   muted      participant muted (no end) by the owner
//   del mute kick ban room mods
//              moderators holding exactly one permission: delete_messages, mute, kick,
//              ban, manage_room, manage_moderators
//   owner      the room's owner (created it)
//   organizer  the organizer (creator) of the event; acts in the event's own room, which
//              SPEC §7 says the organizer owns; plain user everywhere else
//   admin      role admin (`eventsync-chat user create --admin`), not a participant
//
// The room every room/message/file/moderation/Q&A cell acts on is a non-public `group`
// room with Q&A on (so its existence is private: 404 to non-members, SPEC §3), except
// for the organizer, whose cells act on the event room of their event (the same
// targets set up there). Rows marked `in: 'event'` act on that event room for every
// actor (there only the member is an attendee and participant). Event operations act on
// the organizer's event for every actor.
//
// A cell's expectation: 'ok' (any 2xx), an HTTP status ('401', '403', '404', …) for
// REST; for socket events the ack: 'ok', or the error code ('not_found', 'forbidden',
// 'muted', …; 'forbidden' also matches the other 403 codes the server uses, such as
// not_participant or not_sender, and the got column shows the exact code), 'unauth' for
// the anonymous column (the handshake itself must be refused). '-' = not applicable.
// Destructive cells get their own target (a fresh victim, message, question, session
// or room), so cells do not depend on each other or on their order.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PASSWORD, api, connect, emitAck, register, startServer } from './harness.mjs';
import { createUserCli } from './hardening-fixtures.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const OPERATIONS_RS = path.resolve(HERE, '../../src/realtime/operations.rs');

const ACTORS = ['anon', 'nonmember', 'member', 'muted', 'del', 'mute', 'kick', 'ban', 'room', 'mods', 'owner', 'organizer', 'admin'];
const PERMISSION_OF = {
  del: 'delete_messages',
  mute: 'mute',
  kick: 'kick',
  ban: 'ban',
  room: 'manage_room',
  mods: 'manage_moderators',
};
const MODS = Object.keys(PERMISSION_OF);
const CAST = ['member', 'muted', ...MODS]; // the room's participants besides its owner

// Shorthand rows (13 columns:  anon nonmember member muted | del mute kick ban room mods | owner organizer admin).
const X = {
  public: 'ok ok ok ok | ok ok ok ok ok ok | ok ok ok', // needs no session
  signedIn: '401 ok ok ok | ok ok ok ok ok ok | ok ok ok', // any session
  reader: '401 404 ok ok | ok ok ok ok ok ok | ok ok ok', // participants and admins read
  participant: '401 404 ok ok | ok ok ok ok ok ok | ok ok 403', // participants only (admins are not listed)
  writer: '401 404 ok 403 | ok ok ok ok ok ok | ok ok 403', // participants who are not muted
  moderator: '401 404 403 403 | ok ok ok ok ok ok | ok ok ok', // any moderator, owner, admin
  perm: (p) => {
    const cols = MODS.map((m) => (m === p ? 'ok' : '403')).join(' ');
    return `401 404 403 403 | ${cols} | ok ok ok`;
  },
  eventStaff: '401 403 403 403 | 403 403 403 403 403 403 | 403 ok ok', // organizer or admin
};

const S = {
  reader: 'unauth not_found ok ok | ok ok ok ok ok ok | ok ok ok',
  participant: 'unauth not_found ok ok | ok ok ok ok ok ok | ok ok forbidden',
  writer: 'unauth not_found ok muted | ok ok ok ok ok ok | ok ok forbidden',
  signedIn: 'unauth ok ok ok | ok ok ok ok ok ok | ok ok ok',
  perm: (p) => {
    const cols = MODS.map((m) => (m === p ? 'ok' : 'forbidden')).join(' ');
    return `unauth not_found forbidden forbidden | ${cols} | ok ok ok`;
  },
};

// A 1×1 PNG (an image, so the upload gets a thumbnail).
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==',
  'base64',
);

// ---------------------------------------------------------------------------
// The table. `run(c)` performs the cell as actor c.actor with token c.token against
// c.ctx (the actor's room context) and returns {status, text, request}.

const REST = [
  // auth (SPEC §2)
  { op: 'POST /api/auth/register', expect: X.public, run: (c) => c.rest('POST', '/api/auth/register', { username: c.uniq('reg'), password: PASSWORD }) },
  { op: 'POST /api/auth/login', expect: X.public, run: (c) => c.rest('POST', '/api/auth/login', { username: c.loginName, password: PASSWORD }) },
  { op: 'POST /api/auth/logout', expect: X.signedIn, run: async (c) => c.rest('POST', '/api/auth/logout', undefined, await c.freshSession()) },
  { op: 'GET /api/auth/me', expect: X.signedIn, run: (c) => c.rest('GET', '/api/auth/me') },
  // Any session may change its own password; a real change would end the actor's other
  // sessions, which later cells use, so every cell offers a wrong current password (403
  // for every signed-in caller; the change itself is tested in hardening.test.mjs).
  { op: 'POST /api/auth/password', variant: 'wrong current password', expect: '401 403 403 403 | 403 403 403 403 403 403 | 403 403 403', run: (c) => c.rest('POST', '/api/auth/password', { current_password: 'not the password', new_password: 'another-password-1' }) },
  // Accounts are disabled and enabled by admins only (SPEC §5: support staff).
  { op: 'POST /api/admin/users/{id}/disable', expect: '401 403 403 403 | 403 403 403 403 403 403 | 403 403 ok', run: async (c) => c.rest('POST', `/api/admin/users/${(await c.g.spare()).id}/disable`) },
  { op: 'POST /api/admin/users/{id}/enable', expect: '401 403 403 403 | 403 403 403 403 403 403 | 403 403 ok', run: async (c) => c.rest('POST', `/api/admin/users/${(await c.g.spare()).id}/enable`) },

  // events (SPEC §2, §7, §7a)
  { op: 'POST /api/events', expect: X.signedIn, run: (c) => c.rest('POST', '/api/events', { title: 'Side event', starts_at: inAWeek() }) },
  { op: 'GET /api/events', expect: X.signedIn, run: (c) => c.rest('GET', '/api/events') },
  { op: 'GET /api/events/{id}', expect: X.signedIn, run: (c) => c.rest('GET', `/api/events/${c.event.id}`) },
  { op: 'POST /api/events/{id}/register', expect: X.signedIn, run: (c) => c.rest('POST', `/api/events/${c.g.otherEvent.id}/register`) },
  { op: 'POST /api/events/{id}/ban', expect: X.eventStaff, run: async (c) => c.rest('POST', `/api/events/${c.event.id}/ban`, { user_id: (await c.g.er.victim()).id, reason: 'matrix' }) },
  { op: 'POST /api/events/{id}/unban', expect: X.eventStaff, run: async (c) => c.rest('POST', `/api/events/${c.event.id}/unban`, { user_id: (await c.g.eventBannedVictim()).id }) },
  { op: 'POST /api/events/{id}/announcements', expect: X.eventStaff, run: (c) => c.rest('POST', `/api/events/${c.event.id}/announcements`, { content: 'Doors open at 9' }) },
  { op: 'GET /api/chat/events/{id}/rooms', expect: X.signedIn, run: (c) => c.rest('GET', `/api/chat/events/${c.event.id}/rooms`) },

  // rooms (SPEC §3)
  { op: 'GET /api/chat/rooms', expect: X.signedIn, run: (c) => c.rest('GET', '/api/chat/rooms') },
  { op: 'POST /api/chat/rooms', expect: X.signedIn, run: (c) => c.rest('POST', '/api/chat/rooms', { name: 'side room', type: 'group' }) },
  { op: 'GET /api/chat/rooms/public', expect: X.signedIn, run: (c) => c.rest('GET', '/api/chat/rooms/public') },
  { op: 'GET /api/chat/rooms/{id}', expect: X.reader, run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}`) },
  { op: 'PATCH /api/chat/rooms/{id}', expect: X.perm('room'), run: (c) => c.rest('PATCH', `/api/chat/rooms/${c.room.id}`, { description: `set by ${c.actor}` }) },
  // Non-public group room: only users the owner or a moderator adds (SPEC §3); members
  // already in may "join" again harmlessly; admins moderate but are not added by joining.
  { op: 'POST /api/chat/rooms/{id}/join', fresh: true, expect: '401 404 ok ok | ok ok ok ok ok ok | ok ok 403', run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/join`) },
  // The event room (every actor, not only the organizer): organizer, attendees and
  // admins may join (SPEC §3); event rooms are listed with their public event, so others
  // get 403, not 404. Only the member is an attendee.
  { op: 'POST /api/chat/rooms/{id}/join', variant: 'event room', in: 'event', fresh: true, expect: '401 403 ok 403 | 403 403 403 403 403 403 | 403 ok ok', run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/join`) },
  { op: 'POST /api/chat/rooms/{id}/leave', fresh: true, expect: X.participant, run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/leave`) },
  { op: 'GET /api/chat/rooms/{id}/participants', expect: X.reader, run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}/participants`) },
  { op: 'POST /api/chat/rooms/{id}/participants', expect: X.perm('room'), run: async (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/participants`, { user_ids: [(await c.g.spare()).id] }) },
  { op: 'DELETE /api/chat/rooms/{id}/participants/{user_id}', expect: X.perm('room'), run: async (c) => c.rest('DELETE', `/api/chat/rooms/${c.room.id}/participants/${(await c.ctx.victim()).id}`) },
  { op: 'POST /api/chat/rooms/{id}/read', expect: X.participant, run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/read`, { message_id: c.ctx.msg.id }) },
  { op: 'GET /api/chat/rooms/{id}/preferences', expect: X.participant, run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}/preferences`) },
  { op: 'PUT /api/chat/rooms/{id}/preferences', expect: X.participant, run: (c) => c.rest('PUT', `/api/chat/rooms/${c.room.id}/preferences`, { notifications: 'mentions' }) },

  // messages (SPEC §4)
  { op: 'GET /api/chat/rooms/{id}/messages', expect: X.reader, run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}/messages`) },
  { op: 'GET /api/chat/rooms/{id}/messages', variant: 'event room', in: 'event', expect: '401 403 ok 403 | 403 403 403 403 403 403 | 403 ok ok', run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}/messages`) },
  { op: 'POST /api/chat/rooms/{id}/messages', expect: X.writer, run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/messages`, { content: `hello from ${c.actor}` }) },
  // "Event updates: only the event's organizer or room moderators post them": any
  // moderator, as for Q&A and export (admins do not post where they are not participants).
  { op: 'POST /api/chat/rooms/{id}/messages', variant: 'type event_update', expect: '401 404 403 403 | ok ok ok ok ok ok | ok ok 403', run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/messages`, { content: 'schedule change', type: 'event_update' }) },
  { op: 'GET /api/chat/messages/{id}/replies', expect: X.reader, run: (c) => c.rest('GET', `/api/chat/messages/${c.ctx.msg.id}/replies`) },
  // "Edit: the sender only" — the member's message.
  { op: 'PUT /api/chat/messages/{id}/edit', expect: '401 404 ok 403 | 403 403 403 403 403 403 | 403 403 403', run: (c) => c.rest('PUT', `/api/chat/messages/${c.ctx.msg.id}/edit`, { content: `edited by ${c.actor}` }) },
  // …and each caller's own message (sent before the mute, for the muted member).
  { op: 'PUT /api/chat/messages/{id}/edit', variant: 'own message', expect: '- - ok 403 | ok ok ok ok ok ok | ok ok -', run: (c) => c.rest('PUT', `/api/chat/messages/${c.ctx.own[c.actor].id}/edit`, { content: `own edit by ${c.actor}` }) },
  // Earlier versions (the audit trail): the sender and moderators holding delete_messages.
  { op: 'GET /api/chat/messages/{id}/history', expect: '401 404 ok 403 | ok 403 403 403 403 403 | ok ok ok', run: (c) => c.rest('GET', `/api/chat/messages/${c.ctx.msg.id}/history`) },
  // "Delete: the sender, or a moderator holding delete_messages" — a fresh message by the member.
  { op: 'DELETE /api/chat/messages/{id}/delete', expect: '401 404 ok 403 | ok 403 403 403 403 403 | ok ok ok', run: async (c) => c.rest('DELETE', `/api/chat/messages/${(await c.ctx.freshMessage()).id}/delete`) },
  { op: 'POST /api/chat/messages/{id}/react', expect: X.writer, run: (c) => c.rest('POST', `/api/chat/messages/${c.ctx.msg.id}/react`, { emoji: '👍' }) },
  { op: 'DELETE /api/chat/messages/{id}/react', expect: X.writer, run: (c) => c.rest('DELETE', `/api/chat/messages/${c.ctx.msg.id}/react`, { emoji: '🎉' }) },
  { op: 'POST /api/chat/messages/{id}/vote', expect: X.writer, run: (c) => c.rest('POST', `/api/chat/messages/${c.ctx.poll.id}/vote`, { options: [0] }) },

  // pins (SPEC §7a: manage_room)
  { op: 'POST /api/chat/messages/{id}/pin', expect: X.perm('room'), run: async (c) => c.rest('POST', `/api/chat/messages/${(await c.ctx.freshMessage()).id}/pin`) },
  { op: 'DELETE /api/chat/messages/{id}/pin', expect: X.perm('room'), run: async (c) => c.rest('DELETE', `/api/chat/messages/${(await c.ctx.freshPinned()).id}/pin`) },
  { op: 'GET /api/chat/rooms/{id}/pins', expect: X.reader, run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}/pins`) },

  // files (SPEC §6: uploads by participants who are not muted; downloads by participants)
  { op: 'POST /api/chat/rooms/{id}/upload', expect: X.writer, run: (c) => c.upload(c.room.id, 'notes.txt', Buffer.from(`notes of ${c.actor}\n`)) },
  { op: 'GET /api/chat/files/{id}/download', expect: X.reader, run: (c) => c.rest('GET', `/api/chat/files/${c.ctx.file.id}/download`) },
  { op: 'GET /api/chat/files/{id}/thumbnail', expect: X.reader, run: (c) => c.rest('GET', `/api/chat/files/${c.ctx.file.id}/thumbnail`) },
  // Who downloaded: the uploader (the member) and the room's moderators.
  { op: 'GET /api/chat/files/{id}/downloads', expect: '401 404 ok 403 | ok ok ok ok ok ok | ok ok ok', run: (c) => c.rest('GET', `/api/chat/files/${c.ctx.file.id}/downloads`) },

  // moderation (SPEC §7), each on a fresh target participant
  { op: 'GET /api/chat/rooms/{id}/moderation-log', expect: X.moderator, run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}/moderation-log`) },
  { op: 'POST /api/chat/rooms/{id}/mute', expect: X.perm('mute'), run: async (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/mute`, { user_id: (await c.ctx.victim()).id, duration_seconds: 600, reason: 'matrix' }) },
  { op: 'POST /api/chat/rooms/{id}/unmute', expect: X.perm('mute'), run: async (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/unmute`, { user_id: (await c.ctx.victim('muted')).id }) },
  { op: 'POST /api/chat/rooms/{id}/kick', expect: X.perm('kick'), run: async (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/kick`, { user_id: (await c.ctx.victim()).id, reason: 'matrix' }) },
  { op: 'POST /api/chat/rooms/{id}/ban', expect: X.perm('ban'), run: async (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/ban`, { user_id: (await c.ctx.victim()).id, reason: 'matrix' }) },
  { op: 'POST /api/chat/rooms/{id}/unban', expect: X.perm('ban'), run: async (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/unban`, { user_id: (await c.ctx.victim('banned')).id }) },
  { op: 'GET /api/chat/rooms/{id}/bans', expect: X.perm('ban'), run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}/bans`) },
  { op: 'GET /api/chat/rooms/{id}/moderators', expect: X.reader, run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}/moderators`) },
  { op: 'PUT /api/chat/rooms/{id}/moderators/{user_id}', expect: X.perm('mods'), run: async (c) => c.rest('PUT', `/api/chat/rooms/${c.room.id}/moderators/${(await c.ctx.victim()).id}`, { permissions: ['manage_moderators'] }) },
  // Nobody grants a permission they do not hold (the manage_moderators moderator lacks ban).
  { op: 'PUT /api/chat/rooms/{id}/moderators/{user_id}', variant: 'grant a permission the caller lacks', expect: '401 404 403 403 | 403 403 403 403 403 403 | ok ok ok', run: async (c) => c.rest('PUT', `/api/chat/rooms/${c.room.id}/moderators/${(await c.ctx.victim()).id}`, { permissions: ['ban'] }) },
  { op: 'DELETE /api/chat/rooms/{id}/moderators/{user_id}', expect: X.perm('mods'), run: async (c) => c.rest('DELETE', `/api/chat/rooms/${c.room.id}/moderators/${(await c.ctx.victim('moderator')).id}`) },

  // Q&A (SPEC §7a): participants ask and vote, moderators approve/answer/pin/hide
  { op: 'GET /api/chat/rooms/{id}/questions', expect: X.reader, run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}/questions`) },
  { op: 'POST /api/chat/rooms/{id}/questions', expect: X.writer, run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/questions`, { content: `question from ${c.actor}?` }) },
  { op: 'POST /api/chat/rooms/{id}/questions/{qid}/vote', expect: X.writer, run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/questions/${c.ctx.question.id}/vote`) },
  { op: 'POST /api/chat/rooms/{id}/questions/{qid}/approve', expect: X.moderator, run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/questions/${c.ctx.question.id}/approve`) },
  { op: 'POST /api/chat/rooms/{id}/questions/{qid}/answer', expect: X.moderator, run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/questions/${c.ctx.question.id}/answer`, {}) },
  { op: 'POST /api/chat/rooms/{id}/questions/{qid}/pin', expect: X.moderator, run: (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/questions/${c.ctx.question.id}/pin`, {}) },
  { op: 'POST /api/chat/rooms/{id}/questions/{qid}/hide', expect: X.moderator, run: async (c) => c.rest('POST', `/api/chat/rooms/${c.room.id}/questions/${(await c.ctx.freshQuestion()).id}/hide`) },

  // export (SPEC §7a: for moderators)
  { op: 'GET /api/chat/rooms/{id}/export', expect: X.moderator, run: (c) => c.rest('GET', `/api/chat/rooms/${c.room.id}/export?format=json`) },

  // notifications: one's own only (the member's mention notification is the target)
  { op: 'GET /api/chat/notifications', expect: X.signedIn, run: (c) => c.rest('GET', '/api/chat/notifications') },
  { op: 'POST /api/chat/notifications/read', expect: X.signedIn, run: (c) => c.rest('POST', '/api/chat/notifications/read', {}) },
  { op: 'POST /api/chat/notifications/{id}/read', expect: '401 404 ok 404 | 404 404 404 404 404 404 | 404 404 404', run: (c) => c.rest('POST', `/api/chat/notifications/${c.g.notification.id}/read`) },
  { op: 'GET /api/chat/notifications/unread-count', expect: X.signedIn, run: (c) => c.rest('GET', '/api/chat/notifications/unread-count') },

  // presence (SPEC §5)
  { op: 'PUT /api/chat/presence', expect: X.signedIn, run: (c) => c.rest('PUT', '/api/chat/presence', { status: 'online' }) },
  { op: 'GET /api/chat/presence', expect: X.signedIn, run: (c) => c.rest('GET', `/api/chat/presence?user_ids=${c.g.users.member.id}`) },

  // operations (SPEC §1)
  { op: 'GET /healthz', expect: X.public, run: (c) => c.rest('GET', '/healthz') },
  { op: 'GET /metrics', expect: X.public, run: (c) => c.rest('GET', '/metrics') },
];

// Client → server socket events (SPEC §5). The payload is the REST body plus the ids.
const SOCKET = [
  // Opening a room joins who may join; admins read any room without joining.
  { event: 'join_chat_room', expect: S.reader, payload: (c) => ({ room_id: c.room.id }) },
  // Only stops this socket's subscription: whoever may open the room.
  { event: 'leave_chat_room', expect: S.reader, payload: (c) => ({ room_id: c.room.id }) },
  { event: 'send_chat_message', expect: S.writer, payload: (c) => ({ room_id: c.room.id, content: `socket hello from ${c.actor}` }) },
  { event: 'edit_chat_message', expect: 'unauth not_found ok forbidden | forbidden forbidden forbidden forbidden forbidden forbidden | forbidden forbidden forbidden', payload: (c) => ({ message_id: c.ctx.msg.id, content: `socket edit by ${c.actor}` }) },
  { event: 'delete_chat_message', expect: 'unauth not_found ok forbidden | ok forbidden forbidden forbidden forbidden forbidden | ok ok ok', payload: async (c) => ({ message_id: (await c.ctx.freshMessage()).id }) },
  { event: 'add_message_reaction', expect: S.writer, payload: (c) => ({ message_id: c.ctx.msg.id, emoji: '❤️' }) },
  { event: 'remove_message_reaction', expect: S.writer, payload: (c) => ({ message_id: c.ctx.msg.id, emoji: '❤️' }) },
  { event: 'mark_read', expect: S.participant, payload: (c) => ({ room_id: c.room.id, message_id: c.ctx.msg.id }) },
  { event: 'vote_poll', expect: S.writer, payload: (c) => ({ message_id: c.ctx.poll.id, options: [1] }) },
  { event: 'update_presence', expect: S.signedIn, payload: () => ({ status: 'busy', custom_message: 'in the matrix' }) },
  { event: 'chat_typing_start', expect: S.writer, payload: (c) => ({ room_id: c.room.id }) },
  { event: 'chat_typing_stop', expect: S.participant, payload: (c) => ({ room_id: c.room.id }) },
  { event: 'mute_user', expect: S.perm('mute'), payload: async (c) => ({ room_id: c.room.id, user_id: (await c.ctx.victim()).id, duration_seconds: 600 }) },
  { event: 'unmute_user', expect: S.perm('mute'), payload: async (c) => ({ room_id: c.room.id, user_id: (await c.ctx.victim('muted')).id }) },
  { event: 'kick_user', expect: S.perm('kick'), payload: async (c) => ({ room_id: c.room.id, user_id: (await c.ctx.victim()).id }) },
  { event: 'ban_user', expect: S.perm('ban'), payload: async (c) => ({ room_id: c.room.id, user_id: (await c.ctx.victim()).id }) },
  { event: 'unban_user', expect: S.perm('ban'), payload: async (c) => ({ room_id: c.room.id, user_id: (await c.ctx.victim('banned')).id }) },
];

// The 403 codes an ack may carry for "you may not" (matched by the 'forbidden' expectation).
const FORBIDDEN_CODES = new Set(['forbidden', 'not_participant', 'not_sender', 'muted', 'banned', 'qa_disabled', 'files_not_allowed', 'posting_restricted']);

// ---------------------------------------------------------------------------

function inAWeek() {
  return new Date(Date.now() + 7 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z');
}

function columns(spec) {
  const cols = spec.split(/\s+/).filter((t) => t && t !== '|');
  if (cols.length !== ACTORS.length) throw new Error(`row has ${cols.length} columns, not ${ACTORS.length}: ${spec}`);
  return Object.fromEntries(ACTORS.map((a, i) => [a, cols[i]]));
}

function restMatches(expected, status) {
  return expected === 'ok' ? status >= 200 && status < 300 : String(status) === expected;
}

function socketMatches(expected, got) {
  if (expected === got) return true;
  return expected === 'forbidden' && FORBIDDEN_CODES.has(got);
}

// AUTHZ_DUMP=1 prints every cell's answer (to review what each 403/404 was about).
const DUMP = Boolean(process.env.AUTHZ_DUMP);

const clip = (text, n = 300) => (text && text.length > n ? `${text.slice(0, n)}…` : text ?? '');

/** Run `tasks` (functions returning promises) with at most `limit` in flight. */
async function pool(tasks, limit) {
  const results = new Array(tasks.length);
  let next = 0;
  async function worker() {
    while (next < tasks.length) {
      const i = next++;
      results[i] = await tasks[i]();
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
  return results;
}

/** The event names listed in OPERATIONS, read from the source so a new line shows up here. */
async function socketOperations() {
  const text = await readFile(OPERATIONS_RS, 'utf8');
  const start = text.indexOf('pub const OPERATIONS');
  assert.ok(start >= 0, `no OPERATIONS table in ${OPERATIONS_RS}`);
  const block = text.slice(start, text.indexOf('];', start));
  const names = [...block.matchAll(/operation!\(\s*"([^"]+)"/g)].map((m) => m[1]);
  assert.ok(names.length > 0, `no operation!(…) lines in the OPERATIONS table of ${OPERATIONS_RS}`);
  return names;
}

describe('authorization matrix (issue 15; SPEC §2–§7a)', () => {
  let server;
  let g; // global fixtures
  const sockets = new Set();
  let counter = 0;
  const uniq = (prefix) => `${prefix}${process.pid % 1000}x${++counter}`.slice(0, 32);

  const call = (token, method, p, body) => api(server.url, token, method, p, body);
  async function ok(token, method, p, body) {
    const res = await call(token, method, p, body);
    if (res.status < 200 || res.status >= 300) throw new Error(`fixture ${method} ${p} ${JSON.stringify(body) ?? ''}: ${res.status} ${res.text}`);
    return res.body;
  }

  before(async () => {
    server = await startServer({ env: { EVENTSYNC_PASSWORD_HASH_CONCURRENCY: '8' } });
  });

  after(async () => {
    for (const s of sockets) s.disconnect();
    await server?.stop();
  });

  async function newUser(prefix) {
    const username = uniq(prefix);
    const body = await register(server.url, username);
    return { ...body.user, token: body.token, username };
  }

  // Users registered ahead of time, handed out one per destructive cell.
  const spares = [];
  async function spare() {
    return spares.pop() ?? newUser('spare');
  }

  /**
   * A room with the whole cast. kind 'group': the owner's non-public group room;
   * kind 'event': a new event of the organizer and its event room, the member an attendee.
   */
  async function makeContext(kind) {
    const u = g.users;
    let room;
    let event;
    let manager;
    if (kind === 'group') {
      manager = u.owner;
      room = await ok(manager.token, 'POST', '/api/chat/rooms', {
        name: uniq('matrix'),
        type: 'group',
        qa_enabled: true,
        allow_files: true,
        participant_ids: CAST.map((a) => u[a].id),
      });
      if (room.is_public) throw new Error(`group room is public: ${JSON.stringify(room)}`);
      for (const m of MODS) {
        await ok(manager.token, 'PUT', `/api/chat/rooms/${room.id}/moderators/${u[m].id}`, { permissions: [PERMISSION_OF[m]] });
      }
    } else {
      manager = u.organizer;
      event = await ok(manager.token, 'POST', '/api/events', { title: uniq('Matrix event '), starts_at: inAWeek() });
      const rooms = await ok(manager.token, 'GET', `/api/chat/events/${event.id}/rooms`);
      room = rooms.rooms.find((r) => r.type === 'event');
      if (!room) throw new Error(`event ${event.id} has no event room: ${JSON.stringify(rooms)}`);
      await ok(manager.token, 'PATCH', `/api/chat/rooms/${room.id}`, { qa_enabled: true, allow_files: true });
      await ok(u.member.token, 'POST', `/api/events/${event.id}/register`);
      await ok(u.member.token, 'POST', `/api/chat/rooms/${room.id}/join`);
    }
    const ctx = { kind, room, event, manager, own: {} };
    const senders = kind === 'group' ? [...CAST, 'owner'] : ['member', 'organizer'];
    for (const a of senders) {
      ctx.own[a] = await ok(u[a].token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: `own message of ${a}` });
    }
    if (kind === 'group') {
      await ok(manager.token, 'POST', `/api/chat/rooms/${room.id}/mute`, { user_id: u.muted.id, reason: 'matrix' });
    }
    const member = u.member;
    ctx.msg = await ok(member.token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: 'the target message' });
    ctx.poll = await ok(member.token, 'POST', `/api/chat/rooms/${room.id}/messages`, {
      type: 'poll',
      content: 'Lunch?',
      poll: { question: 'Lunch?', options: ['pizza', 'salad'], multiple: false },
    });
    ctx.question = await ok(member.token, 'POST', `/api/chat/rooms/${room.id}/questions`, { content: 'the target question?' });
    const up = await uploadAs(member.token, room.id, 'photo.png', PNG);
    if (up.status !== 201 && up.status !== 200) throw new Error(`fixture upload: ${up.status} ${up.text}`);
    const message = JSON.parse(up.text);
    ctx.file = message.attachments?.[0] ?? message.message?.attachments?.[0];
    if (!ctx.file?.id) throw new Error(`upload answered no attachment: ${up.text}`);

    ctx.freshMessage = () => ok(member.token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: 'a message to consume' });
    ctx.freshPinned = async () => {
      const m = await ctx.freshMessage();
      await ok(manager.token, 'POST', `/api/chat/messages/${m.id}/pin`);
      return m;
    };
    ctx.freshQuestion = () => ok(member.token, 'POST', `/api/chat/rooms/${room.id}/questions`, { content: 'a question to hide?' });
    /** A fresh participant: 'member', or already 'muted', 'banned' or a 'moderator' (manage_moderators). */
    ctx.victim = async (state = 'member') => {
      const v = await spare();
      if (kind === 'group') {
        await ok(manager.token, 'POST', `/api/chat/rooms/${room.id}/participants`, { user_ids: [v.id] });
      } else {
        await ok(v.token, 'POST', `/api/events/${ctx.event.id}/register`);
        await ok(v.token, 'POST', `/api/chat/rooms/${room.id}/join`);
      }
      if (state === 'muted') await ok(manager.token, 'POST', `/api/chat/rooms/${room.id}/mute`, { user_id: v.id });
      if (state === 'banned') await ok(manager.token, 'POST', `/api/chat/rooms/${room.id}/ban`, { user_id: v.id });
      if (state === 'moderator') await ok(manager.token, 'PUT', `/api/chat/rooms/${room.id}/moderators/${v.id}`, { permissions: ['manage_moderators'] });
      return v;
    };
    return ctx;
  }

  // The multipart body is encoded up front and sent in one piece with its length: sent
  // as a stream (fetch with a FormData body), a refused upload (401 before the handler,
  // 404/403 from it) is often answered and then reset before the client has read the
  // answer (EPIPE) — a server defect outside this matrix, reported separately.
  async function uploadAs(token, roomId, name, bytes) {
    const form = new FormData();
    form.append('file', new Blob([bytes]), name);
    const encoded = new Response(form);
    const body = Buffer.from(await encoded.arrayBuffer());
    const headers = { 'content-type': encoded.headers.get('content-type') };
    if (token) headers.authorization = `Bearer ${token}`;
    const res = await fetch(`${server.url}/api/chat/rooms/${roomId}/upload`, { method: 'POST', headers, body });
    return { status: res.status, text: await res.text() };
  }

  /** The per-cell handle a row's run() gets. */
  async function cellContext(actor, fresh, where) {
    const user = actor === 'anon' ? null : g.users[actor];
    const kind = actor === 'organizer' || where === 'event' ? 'event' : 'group';
    const ctx = fresh ? await makeContext(kind) : kind === 'event' ? g.er : g.group;
    const c = {
      actor,
      user,
      token: user?.token,
      ctx,
      room: ctx.room,
      event: g.er.event, // event operations: the organizer's event, for everyone
      g,
      uniq,
      loginName: (user ?? g.users.member).username,
      last: null,
      async rest(method, p, body, token = c.token) {
        c.last = `${method} ${p}${body === undefined ? '' : ` ${JSON.stringify(body)}`}`;
        return call(token, method, p, body);
      },
      async upload(roomId, name, bytes) {
        c.last = `POST /api/chat/rooms/${roomId}/upload (multipart file=${name})`;
        return uploadAs(c.token, roomId, name, bytes);
      },
      /** A session of its own, for cells that end it. */
      async freshSession() {
        if (!user) return undefined;
        const body = await ok(undefined, 'POST', '/api/auth/login', { username: user.username, password: PASSWORD });
        return body.token;
      },
    };
    return c;
  }

  test('setup: the cast, the rooms and the targets', { timeout: 60_000 }, async () => {
    const names = ['nonmember', 'member', 'muted', ...MODS, 'owner', 'organizer'];
    const made = await Promise.all(names.map((n) => newUser(n)));
    const users = Object.fromEntries(names.map((n, i) => [n, made[i]]));
    const adminName = uniq('admin');
    const created = await createUserCli(server, adminName, { admin: true });
    assert.equal(created.role ?? created.user?.role, 'admin', `user create --admin printed ${JSON.stringify(created)}`);
    const adminLogin = await ok(undefined, 'POST', '/api/auth/login', { username: adminName, password: PASSWORD });
    users.admin = { ...adminLogin.user, token: adminLogin.token, username: adminName };
    assert.equal(users.admin.role, 'admin');
    g = { users };
    // Spare users for destructive cells: victims, users to add, event bans.
    // (19 rows take one each per actor; spare() registers more if they run out.)
    const needed = 19 * ACTORS.length + 10;
    const extra = await pool(Array.from({ length: needed }, () => () => newUser('v')), 8);
    spares.push(...extra);
    g.spare = spare;
    g.group = await makeContext('group');
    g.er = await makeContext('event');
    g.otherEvent = await ok(users.organizer.token, 'POST', '/api/events', { title: 'Registration target', starts_at: inAWeek() });
    g.eventBannedVictim = async () => {
      const v = await g.er.victim();
      await ok(users.organizer.token, 'POST', `/api/events/${g.er.event.id}/ban`, { user_id: v.id });
      return v;
    };
    // A notification of the member's own: the owner mentions them.
    await ok(users.owner.token, 'POST', `/api/chat/rooms/${g.group.room.id}/messages`, { content: `@${users.member.username} look` });
    let notification;
    for (let i = 0; i < 50 && !notification; i += 1) {
      const list = await ok(users.member.token, 'GET', '/api/chat/notifications');
      notification = (list.notifications ?? list.items ?? []).find((n) => n.kind === 'mention');
      if (!notification) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(notification, 'the member got no mention notification');
    g.notification = notification;
  });

  test('the table covers every REST operation of the served OpenAPI document', async () => {
    const res = await call(undefined, 'GET', '/api/openapi.json');
    assert.equal(res.status, 200, `GET /api/openapi.json: ${res.status}`);
    const served = new Set();
    for (const [p, item] of Object.entries(res.body.paths ?? {})) {
      for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']) {
        if (item[method]) served.add(`${method.toUpperCase()} ${p}`);
      }
    }
    const inTable = new Set(REST.map((r) => r.op));
    const missing = [...served].filter((op) => !inTable.has(op)).sort();
    const stale = [...inTable].filter((op) => !served.has(op)).sort();
    assert.deepEqual({ missing, stale }, { missing: [], stale: [] }, 'operations served without a row (missing) / rows for operations not served (stale)');
  });

  test('the table covers every client Socket.IO event in OPERATIONS', async () => {
    const names = await socketOperations();
    const inTable = new Set(SOCKET.map((r) => r.event));
    const missing = names.filter((n) => !inTable.has(n)).sort();
    const stale = [...inTable].filter((n) => !names.includes(n)).sort();
    assert.deepEqual({ missing, stale }, { missing: [], stale: [] }, 'events in OPERATIONS without a row (missing) / rows for events not in OPERATIONS (stale)');
  });

  test('REST: every operation × every actor answers as the table says', { timeout: 120_000 }, async () => {
    assert.ok(g, 'setup failed');
    const tasks = [];
    for (const row of REST) {
      const expect = columns(row.expect);
      for (const actor of ACTORS) {
        if (expect[actor] === '-') continue;
        tasks.push(async () => {
          const label = `${row.op}${row.variant ? ` [${row.variant}]` : ''}`;
          let c;
          try {
            c = await cellContext(actor, row.fresh, row.in);
            const res = await row.run(c);
            if (DUMP) console.log(`cell ${label} × ${actor}: ${res.status} ${clip(res.text, 160)}`);
            if (restMatches(expect[actor], res.status)) return null;
            return `${label} × ${actor}: expected ${expect[actor]}, got ${res.status} — ${c.last} → ${clip(res.text)}`;
          } catch (err) {
            return `${label} × ${actor}: expected ${expect[actor]}, the cell failed — ${c?.last ?? '(setup)'}: ${clip(err.stack ?? String(err), 600)}`;
          }
        });
      }
    }
    const results = await pool(tasks, 8);
    const mismatches = results.filter(Boolean);
    console.log(`REST matrix: ${REST.length} rows × ${ACTORS.length} actors, ${tasks.length} cells run, ${mismatches.length} mismatches`);
    assert.equal(mismatches.length, 0, `${mismatches.length} of ${tasks.length} REST cells differ from the table:\n${mismatches.join('\n')}`);
  });

  test('Socket.IO: every client event × every actor acks as the table says', { timeout: 120_000 }, async () => {
    assert.ok(g, 'setup failed');
    // Anonymous: the handshake itself is refused (SPEC §2), so no event is ever handled.
    let anonRefused;
    try {
      const { socket } = await connect(server.url, { auth: {} });
      sockets.add(socket);
      anonRefused = null;
      socket.disconnect();
    } catch (err) {
      err.socket?.disconnect();
      anonRefused = err.message || 'connect_error';
    }
    const actorSockets = {};
    for (const actor of ACTORS.slice(1)) {
      const { socket } = await connect(server.url, { auth: { token: g.users[actor].token } });
      sockets.add(socket);
      actorSockets[actor] = socket;
    }
    const tasks = [];
    for (const row of SOCKET) {
      const expect = columns(row.expect);
      for (const actor of ACTORS) {
        if (expect[actor] === '-') continue;
        tasks.push(async () => {
          let payload;
          try {
            if (actor === 'anon') {
              const got = anonRefused ? 'unauth' : 'connected';
              return socketMatches(expect.anon, got) ? null : `${row.event} × anon: expected ${expect.anon}, got ${got} (a socket without credentials connected)`;
            }
            const c = await cellContext(actor, row.fresh, row.in);
            payload = await row.payload(c);
            const ack = await emitAck(actorSockets[actor], row.event, payload);
            const got = ack?.ok === true ? 'ok' : ack?.error?.code ?? `no error code: ${JSON.stringify(ack)}`;
            if (DUMP) console.log(`cell ${row.event} × ${actor}: ${got} ${clip(JSON.stringify(ack), 160)}`);
            if (socketMatches(expect[actor], got)) return null;
            return `${row.event} × ${actor}: expected ${expect[actor]}, got ${got} — emit ${row.event} ${JSON.stringify(payload)} → ${clip(JSON.stringify(ack))}`;
          } catch (err) {
            return `${row.event} × ${actor}: expected ${expect[actor]}, the cell failed — emit ${row.event} ${JSON.stringify(payload) ?? '(setup)'}: ${clip(err.stack ?? String(err), 600)}`;
          }
        });
      }
    }
    const results = await pool(tasks, 8);
    const mismatches = results.filter(Boolean);
    console.log(`Socket.IO matrix: ${SOCKET.length} events × ${ACTORS.length} actors, ${tasks.length} cells run, ${mismatches.length} mismatches`);
    assert.equal(mismatches.length, 0, `${mismatches.length} of ${tasks.length} socket cells differ from the table:\n${mismatches.join('\n')}`);
  });
});
