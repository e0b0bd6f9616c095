// Socket.IO handshake authentication: which credentials are accepted and how
// refusals are reported to the client.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, register, startServer } from './harness.mjs';

let server;

before(async () => {
  server = await startServer();
});

after(async () => {
  await server?.stop();
});

async function registerUser(username) {
  const body = await register(server.url, username);
  assert.equal(typeof body.token, 'string', `register response has no token: ${JSON.stringify(body)}`);
  assert.ok(body.token.length > 0, 'token is empty');
  assert.equal(body.user?.username, username);
  return body;
}

/** Connect and expect success; always disconnects. */
async function assertConnects(opts) {
  let socket;
  try {
    ({ socket } = await connect(server.url, opts));
    assert.equal(socket.connected, true);
  } finally {
    socket?.disconnect();
  }
}

/** Connect and expect a Socket.IO connect_error about authentication. */
async function assertRefused(opts) {
  let socket;
  let error;
  try {
    ({ socket } = await connect(server.url, opts));
  } catch (err) {
    error = err;
  } finally {
    socket?.disconnect();
    error?.socket?.disconnect();
  }
  assert.ok(error, 'expected connect_error, but the socket connected');
  assert.ok(error instanceof Error, `connect_error payload is not an Error: ${error}`);
  const message = error.message;
  assert.equal(typeof message, 'string');
  assert.ok(message.length > 0, 'connect_error message is empty');
  assert.doesNotMatch(
    message,
    /^\s*[{[]/,
    `connect_error message looks like JSON, expected a human message: ${message}`,
  );
  assert.match(message, /auth/i, `connect_error message does not mention authentication: ${message}`);
  return error;
}

describe('Socket.IO handshake', () => {
  describe('valid token in auth payload', () => {
    let token;
    before(async () => {
      ({ token } = await registerUser('alice'));
    });

    test('connects over websocket transport', async () => {
      await assertConnects({ transports: ['websocket'], auth: { token } });
    });

    test('connects over polling transport', async () => {
      await assertConnects({ transports: ['polling'], auth: { token } });
    });
  });

  test('valid token in Authorization: Bearer header connects (polling)', async () => {
    const { token } = await registerUser('bob');
    await assertConnects({
      transports: ['polling'],
      extraHeaders: { Authorization: `Bearer ${token}` },
    });
  });

  describe('missing token is refused with connect_error', () => {
    for (const transport of ['websocket', 'polling']) {
      test(`over ${transport}`, async () => {
        await assertRefused({ transports: [transport] });
      });
    }
  });

  describe('bad token is refused with connect_error', () => {
    for (const transport of ['websocket', 'polling']) {
      test(`over ${transport}`, async () => {
        await assertRefused({ transports: [transport], auth: { token: 'not-a-real-token' } });
      });
    }
  });

  test('token revoked by logout is refused', async () => {
    const { token } = await registerUser('carol');

    // Sanity: the token works before logout.
    await assertConnects({ transports: ['websocket'], auth: { token } });

    const res = await fetch(`${server.url}/api/auth/logout`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}` },
    });
    const text = await res.text();
    assert.equal(res.status, 204, `logout: expected 204, got ${res.status}: ${text}`);

    await assertRefused({ transports: ['websocket'], auth: { token } });
    await assertRefused({
      transports: ['polling'],
      extraHeaders: { Authorization: `Bearer ${token}` },
    });
  });
});
