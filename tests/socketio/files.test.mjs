// Files over Socket.IO: an upload (REST, multipart from Node's own FormData) reaches the
// room's sockets as a new_chat_message carrying the attachment, like any message, and
// replays with `since` after a reconnect.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { waitForEvent } from './harness.mjs';
import { chatFixture, show } from './chat-fixtures.mjs';

const fx = chatFixture();

async function upload(u, roomId, name, bytes, fields = {}) {
  const form = new FormData();
  form.append('file', new Blob([bytes]), name);
  for (const [key, value] of Object.entries(fields)) form.append(key, value);
  const res = await fetch(`${fx.url}/api/chat/rooms/${roomId}/upload`, {
    method: 'POST',
    headers: { authorization: `Bearer ${u.token}` },
    body: form,
  });
  return { status: res.status, body: await res.json() };
}

describe('files (SPEC §6)', () => {
  test('an upload is broadcast to the room with its attachment and replays after a reconnect', async () => {
    const { alice, bob, room, sb } = await fx.pair('files');
    const before = await fx.history(bob, room.id);
    const lastSeen = before.messages.at(-1)?.id;
    assert.equal(typeof lastSeen, 'number', show(before));
    const seen = waitForEvent(sb, 'new_chat_message', (m) => m?.type === 'file');
    const text = new TextEncoder().encode('Agenda: keynote at 9, workshops at 11.\n');
    const sent = await upload(alice, room.id, 'agenda.txt', text, { caption: 'Today @' + bob.username });
    assert.equal(sent.status, 201, show(sent.body));
    const message = await seen;
    assert.equal(message.id, sent.body.id);
    assert.equal(message.content, `Today @${bob.username}`);
    const [file] = message.attachments;
    assert.equal(file.name, 'agenda.txt', show(file));
    assert.equal(file.mime, 'text/plain; charset=utf-8');
    assert.equal(file.size, text.length);
    assert.equal(file.download_url, `/api/chat/files/${file.id}/download`);
    assert.equal(message.mentions[0]?.id, bob.id, 'the caption mentions like any message');

    // Bob downloads exactly what was sent.
    const res = await fetch(`${fx.url}${file.download_url}`, { headers: { authorization: `Bearer ${bob.token}` } });
    assert.equal(res.status, 200);
    assert.deepEqual(new Uint8Array(await res.arrayBuffer()), text);

    // A socket that rejoins with `since` gets the upload in its replay.
    const again = await fx.socket(bob);
    const ack = await fx.join(again, room.id, lastSeen);
    const replayed = (ack.messages ?? []).find((m) => m.id === message.id);
    assert.ok(replayed, show(ack));
    assert.equal(replayed.attachments[0].id, file.id);
  });

  test('a refused upload broadcasts nothing', async () => {
    const { alice, room, sb } = await fx.pair('refused');
    const nothing = waitForEvent(sb, 'new_chat_message', () => true, 800).then(
      (m) => m,
      () => null,
    );
    const spoofed = await upload(alice, room.id, 'photo.png', new TextEncoder().encode('<html><script>x</script>'));
    assert.equal(spoofed.status, 415, show(spoofed.body));
    assert.equal(spoofed.body.error.code, 'unsupported_media_type');
    assert.match(spoofed.body.error.message, /text\/html|plain text/);
    assert.equal(await nothing, null);
  });

  test('a refused upload still being sent gets its answer, not a reset', async () => {
    const { room } = await fx.pair('refused-stream');
    const stranger = await fx.user('stranger');
    const big = new Uint8Array(2 * 1024 * 1024).fill(97);
    // FormData bodies are streamed (chunked): the refusal comes before the body is read.
    const attempt = async (token, expected) => {
      const form = new FormData();
      form.append('file', new Blob([big]), 'big.txt');
      const headers = token ? { authorization: `Bearer ${token}` } : {};
      const res = await fetch(`${fx.url}/api/chat/rooms/${room.id}/upload`, { method: 'POST', headers, body: form });
      const body = await res.json();
      assert.equal(res.status, expected, show(body));
      assert.equal(typeof body.error?.code, 'string', show(body));
    };
    const attempts = [];
    for (let i = 0; i < 12; i += 1) {
      attempts.push(attempt(null, 401), attempt(stranger.token, 404));
    }
    const results = await Promise.allSettled(attempts);
    const failed = results.filter((r) => r.status === 'rejected').map((r) => String(r.reason?.cause ?? r.reason));
    assert.deepEqual(failed, [], `${failed.length} of ${results.length} refusals were lost`);
  });
});
