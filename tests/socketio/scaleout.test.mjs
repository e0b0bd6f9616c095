// Scale-out: two server processes on one PostgreSQL database and one Redis (SPEC §1,
// §5 "on every instance"). The Redis server is this test's own, on a free port, so it
// can be stopped, restarted and paused; the machine's Redis is never touched.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { api, collectEvents, connect, emitAck, register, sleep, startServer, waitForEvent } from './harness.mjs';

const show = (value) => JSON.stringify(value);
const PG_BASE = process.env.EVENTSYNC_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/test';

function psql(sql) {
  return execFileSync('psql', [PG_BASE, '-v', 'ON_ERROR_STOP=1', '-qAtc', sql], { stdio: 'pipe', timeout: 15_000 });
}

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Sends one inline command to Redis; resolves to the first reply line. */
function redisCommand(port, command, ms = 1000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${command}: no reply in ${ms} ms`));
    }, ms);
    sock.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    sock.once('connect', () => sock.write(`${command}\r\n`));
    sock.once('data', (data) => {
      clearTimeout(timer);
      sock.destroy();
      resolve(data.toString().split('\r\n')[0]);
    });
  });
}

/** A redis-server of the test's own, without persistence. */
async function startRedis(port) {
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      if ((await redisCommand(port, 'PING')) === '+PONG') break;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
    await sleep(50);
  }
  return {
    child,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Polls `check` until it returns a truthy value; resolves to it. */
async function until(what, check, ms = 10_000, every = 100) {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(every);
  }
}

const NGINX = ['/usr/sbin/nginx', '/usr/bin/nginx'].find((p) => {
  try {
    execFileSync(p, ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
});

/** Without nginx the proxy test is skipped, except under CI (scripts/test installs it). */
function nginxSkip() {
  if (NGINX) return false;
  return process.env.CI === 'true' ? false : 'nginx is not installed';
}

/**
 * nginx in front of the instances: `/` with the README's sticky upstream, and `/a/`,
 * `/b/` pinned to one instance each (so a test can place clients).
 */
async function startNginx(ports) {
  assert.ok(NGINX, 'nginx is required here (apt-get install nginx-light)');
  const prefix = await mkdtemp(path.join(os.tmpdir(), 'eventsync-nginx-'));
  const port = await freePort();
  const pinned = ['a', 'b']
    .map(
      (name, i) => `
      location /${name}/ {
        proxy_pass http://127.0.0.1:${ports[i]}/;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      }`,
    )
    .join('\n');
  const conf = `
    worker_processes 1;
    pid ${prefix}/nginx.pid;
    error_log ${prefix}/error.log warn;
    events { worker_connections 256; }
    http {
      access_log off;
      client_body_temp_path ${prefix}/body;
      proxy_temp_path ${prefix}/proxy;
      fastcgi_temp_path ${prefix}/fastcgi;
      uwsgi_temp_path ${prefix}/uwsgi;
      scgi_temp_path ${prefix}/scgi;
      map $http_upgrade $connection_upgrade { default upgrade; '' close; }
      upstream eventsync { ip_hash; ${ports.map((p) => `server 127.0.0.1:${p};`).join(' ')} }
      server {
        listen 127.0.0.1:${port};
        client_max_body_size 60m;
        location / {
          proxy_pass http://eventsync;
          proxy_http_version 1.1;
          proxy_set_header Upgrade $http_upgrade;
          proxy_set_header Connection $connection_upgrade;
          proxy_set_header Host $host;
          proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
          proxy_read_timeout 120s;
          proxy_request_buffering off;
        }
        ${pinned}
      }
    }`;
  const confPath = path.join(prefix, 'nginx.conf');
  await (await import('node:fs/promises')).writeFile(confPath, conf);
  const child = spawn(NGINX, ['-p', prefix, '-c', confPath, '-g', 'daemon off;'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = `http://127.0.0.1:${port}`;
  await until('nginx to answer', async () => {
    try {
      return (await fetch(`${url}/healthz`)).status === 200;
    } catch {
      return false;
    }
  });
  return {
    url,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      await rm(prefix, { recursive: true, force: true });
    },
  };
}

let psqlFound = true;
try {
  execFileSync('psql', ['--version'], { stdio: 'ignore', timeout: 5000 });
} catch {
  psqlFound = false;
}
const skip = !psqlFound && process.env.CI !== 'true' ? 'psql is not installed' : false;

describe('two instances on PostgreSQL and Redis', { skip }, () => {
  const dbName = `es_scale_${process.pid}_${Date.now()}`;
  const databaseUrl = PG_BASE.replace(/\/[^/?]*(\?|$)/, `/${dbName}$1`);
  const sockets = new Set();
  let redisPort;
  let redis;
  let filesDir;
  let a;
  let b;
  let counter = 0;

  before(async () => {
    psql(`create database ${dbName}`);
    redisPort = await freePort();
    redis = await startRedis(redisPort);
    filesDir = await mkdtemp(path.join(os.tmpdir(), 'eventsync-shared-files-'));
    const env = {
      EVENTSYNC_REDIS_URL: `redis://127.0.0.1:${redisPort}`,
      EVENTSYNC_FILES_DIR: filesDir,
      EVENTSYNC_PRESENCE_GRACE_SECONDS: '1',
      EVENTSYNC_TYPING_TIMEOUT_SECONDS: '1',
    };
    // One after the other: the first runs the migrations.
    a = await startServer({ env, databaseUrl });
    b = await startServer({ env, databaseUrl });
  });

  after(async () => {
    for (const s of sockets) s.disconnect();
    await a?.stop();
    await b?.stop();
    await redis?.stop();
    if (filesDir) await rm(filesDir, { recursive: true, force: true });
    try {
      psql(`drop database if exists ${dbName} with (force)`);
    } catch {
      // left for the machine's cleanup
    }
  });

  async function user(prefix) {
    counter += 1;
    const body = await register(a.url, `${prefix}${counter}`);
    return { token: body.token, id: body.user.id, user: body.user };
  }

  async function socketOn(server, u) {
    const { socket } = await connect(server.url, { auth: { token: u.token } });
    sockets.add(socket);
    return socket;
  }

  async function ok(server, u, method, apiPath, body, status = 200) {
    const res = await api(server.url, u?.token, method, apiPath, body);
    assert.equal(res.status, status, `${method} ${apiPath} on ${server.url}: ${res.text}`);
    return res.body;
  }

  async function join(socket, roomId, since) {
    const ack = await emitAck(socket, 'join_chat_room', since === undefined ? { room_id: roomId } : { room_id: roomId, since });
    assert.equal(ack?.ok, true, show(ack));
    return ack;
  }

  async function send(socket, roomId, content, extra = {}) {
    const ack = await emitAck(socket, 'send_chat_message', { room_id: roomId, content, ...extra });
    assert.equal(ack?.ok, true, show(ack));
    return ack.message;
  }

  /** Alice on A and Bob on B in one group room, both sockets in it. */
  async function pair(name) {
    const alice = await user('alice');
    const bob = await user('bob');
    const room = await ok(a, alice, 'POST', '/api/chat/rooms', { name, type: 'group' }, 201);
    await ok(a, alice, 'POST', `/api/chat/rooms/${room.id}/participants`, { user_ids: [bob.id] });
    const sa = await socketOn(a, alice);
    const sb = await socketOn(b, bob);
    await join(sa, room.id);
    await join(sb, room.id);
    return { alice, bob, room, sa, sb };
  }

  async function health(server) {
    const res = await api(server.url, null, 'GET', '/healthz');
    return res.body;
  }

  test('both instances report Redis up', async () => {
    for (const server of [a, b]) {
      const body = await until('redis ok', async () => ((await health(server))?.redis === 'ok' ? health(server) : null));
      assert.equal(body.database, 'ok', show(body));
      assert.equal(body.backend, 'postgres', show(body));
    }
  });

  test('a message sent on one instance reaches sockets on the other, both ways', async () => {
    const { room, sa, sb } = await pair('across');
    const bobSaw = waitForEvent(sb, 'new_chat_message', (m) => m?.content === 'from A');
    const sent = await send(sa, room.id, 'from A');
    assert.equal((await bobSaw).id, sent.id);
    const aliceSaw = waitForEvent(sa, 'new_chat_message', (m) => m?.content === 'from B');
    const back = await send(sb, room.id, 'from B');
    assert.equal((await aliceSaw).id, back.id);
    assert.equal(back.seq, sent.seq + 1, 'one seq sequence per room across instances');
  });

  test('typing on one instance shows and stops on the other', async () => {
    const { room, sa, sb } = await pair('typing');
    const started = waitForEvent(sb, 'user_typing_start', (p) => p?.room_id === room.id);
    const startAck = await emitAck(sa, 'chat_typing_start', { room_id: room.id });
    assert.equal(startAck?.ok, true, show(startAck));
    await started;
    const stopped = waitForEvent(sb, 'user_typing_stop', (p) => p?.room_id === room.id);
    const stopAck = await emitAck(sa, 'chat_typing_stop', { room_id: room.id });
    assert.equal(stopAck?.ok, true, show(stopAck));
    await stopped;
  });

  test('presence: online while a socket is open on either instance, offline after the last', async () => {
    const { alice, room, sa } = await pair('presence');
    const carol = await user('carol');
    await ok(a, alice, 'POST', `/api/chat/rooms/${room.id}/participants`, { user_ids: [carol.id] });
    const online = waitForEvent(sa, 'presence_updated', (p) => p?.user_id === carol.id && p.status === 'online');
    const onB = await socketOn(b, carol);
    await online;
    const onA = await socketOn(a, carol);
    // Closing the socket on B leaves Carol online through her socket on A.
    const changes = collectEvents(sa, 'presence_updated', (p) => p?.user_id === carol.id);
    onB.disconnect();
    await sleep(2500); // the 1 s grace period, twice over
    assert.deepEqual(changes.events.map((p) => p.status), [], 'Carol flickered although her socket on A is open');
    const viaB = await ok(b, alice, 'GET', `/api/chat/presence?user_ids=${carol.id}`);
    assert.equal(show(viaB).includes('"online"'), true, `B does not see Carol online: ${show(viaB)}`);
    const offline = waitForEvent(sa, 'presence_updated', (p) => p?.user_id === carol.id && p.status === 'offline');
    onA.disconnect();
    await offline;
    changes.stop();
  });

  test('a kick on one instance removes the user’s sockets on the other from the room', async () => {
    const { alice, bob, room, sa, sb } = await pair('kick');
    const kicked = waitForEvent(sb, 'user_kicked', (p) => p?.room_id === room.id && p.user?.id === bob.id);
    await ok(a, alice, 'POST', `/api/chat/rooms/${room.id}/kick`, { user_id: bob.id });
    await kicked;
    const after = collectEvents(sb, 'new_chat_message', (m) => m?.room_id === room.id);
    const last = await send(sa, room.id, 'after the kick');
    // A socket that still follows the room gets the message about as fast as Alice's ack.
    const probe = await socketOn(b, alice);
    await join(probe, room.id);
    const probeSaw = waitForEvent(probe, 'new_chat_message', (m) => m?.content === 'probe');
    await send(sa, room.id, 'probe');
    await probeSaw;
    after.stop();
    assert.deepEqual(after.events.map((m) => m.id).filter((id) => id >= last.id), [], 'kicked socket on B still follows the room');
  });

  test('logging out on one instance disconnects the session’s sockets on the other', async () => {
    const bob = await user('bob');
    const sb = await socketOn(b, bob);
    const gone = new Promise((resolve) => sb.once('disconnect', resolve));
    await ok(a, bob, 'POST', '/api/auth/logout', undefined, 204);
    const reason = await Promise.race([gone, sleep(5000).then(() => 'still connected')]);
    assert.notEqual(reason, 'still connected', 'the socket on B outlived the logout on A');
  });

  test('2×200 concurrent sends through both instances: gap-free seq, client_id exactly once', async () => {
    const { alice, bob, room, sa, sb } = await pair('concurrent');
    const sends = [];
    for (let i = 0; i < 200; i += 1) {
      sends.push(emitAck(sa, 'send_chat_message', { room_id: room.id, content: `a${i}`, client_id: `a-${i}` }, 20_000));
      sends.push(
        api(b.url, bob.token, 'POST', `/api/chat/rooms/${room.id}/messages`, { content: `b${i}`, client_id: `b-${i}` }),
      );
    }
    // The same client_ids again, crossed over: idempotent on either instance.
    for (let i = 0; i < 20; i += 1) {
      sends.push(emitAck(sb, 'send_chat_message', { room_id: room.id, content: `b${i}`, client_id: `b-${i}` }, 20_000));
    }
    const results = await Promise.all(sends);
    for (const r of results) {
      const okay = r?.ok === true || r?.status === 201 || r?.status === 200;
      assert.ok(okay, `a send failed: ${show(r?.body ?? r)}`);
    }
    const messages = [];
    let query = 'limit=100';
    for (;;) {
      const page = await ok(b, alice, 'GET', `/api/chat/rooms/${room.id}/messages?${query}`);
      messages.push(...page.messages.filter((m) => m.type === 'text'));
      if (!page.has_more || page.messages.length === 0) break;
      query = `limit=100&before=${Math.min(...page.messages.map((m) => m.id))}`;
    }
    assert.equal(messages.length, 400, `expected 400 messages, got ${messages.length}`);
    const clientIds = new Set(messages.map((m) => m.client_id ?? m.content));
    assert.equal(clientIds.size, 400, 'a client_id was stored twice');
    const seqs = messages.map((m) => m.seq).sort((x, y) => x - y);
    for (let i = 1; i < seqs.length; i += 1) assert.equal(seqs[i], seqs[i - 1] + 1, `seq gap at ${seqs[i - 1]}→${seqs[i]}`);
  });

  test('a file uploaded on one instance downloads from the other', async () => {
    const { alice, bob, room } = await pair('files');
    const form = new FormData();
    const bytes = new TextEncoder().encode('shared storage\n');
    form.append('file', new Blob([bytes]), 'notes.txt');
    const res = await fetch(`${a.url}/api/chat/rooms/${room.id}/upload`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice.token}` },
      body: form,
    });
    const body = await res.json();
    assert.equal(res.status, 201, show(body));
    const file = body.attachments[0];
    const down = await fetch(`${b.url}${file.download_url}`, { headers: { authorization: `Bearer ${bob.token}` } });
    assert.equal(down.status, 200);
    assert.deepEqual(new Uint8Array(await down.arrayBuffer()), bytes);
  });

  test('behind nginx: polling and websocket clients on different instances chat', { skip: nginxSkip() }, async () => {
    const proxy = await startNginx([a.port, b.port]);
    try {
      const alice = await user('alice');
      const bob = await user('bob');
      // REST and a sticky (ip_hash) socket through the README's configuration.
      const room = await ok(proxy, alice, 'POST', '/api/chat/rooms', { name: 'proxied', type: 'group' }, 201);
      await ok(proxy, alice, 'POST', `/api/chat/rooms/${room.id}/participants`, { user_ids: [bob.id] });
      const sticky = await connect(proxy.url, { auth: { token: alice.token }, transports: ['polling'] });
      sockets.add(sticky.socket);
      // Pinned locations put Alice (polling) on A and Bob (websocket) on B.
      const polling = await connect(proxy.url, {
        auth: { token: alice.token },
        transports: ['polling'],
        path: '/a/socket.io/',
      });
      const ws = await connect(proxy.url, { auth: { token: bob.token }, transports: ['websocket'], path: '/b/socket.io/' });
      for (const s of [polling.socket, ws.socket]) sockets.add(s);
      await join(polling.socket, room.id);
      await join(ws.socket, room.id);
      await join(sticky.socket, room.id);
      const bobSaw = waitForEvent(ws.socket, 'new_chat_message', (m) => m?.content === 'over polling');
      const stickySaw = waitForEvent(sticky.socket, 'new_chat_message', (m) => m?.content === 'over websocket');
      await send(polling.socket, room.id, 'over polling');
      await bobSaw;
      const aliceSaw = waitForEvent(polling.socket, 'new_chat_message', (m) => m?.content === 'over websocket');
      await send(ws.socket, room.id, 'over websocket');
      await aliceSaw;
      await stickySaw;
      assert.equal(polling.socket.io.engine.transport.name, 'polling');
      assert.equal(ws.socket.io.engine.transport.name, 'websocket');
    } finally {
      await proxy.stop();
    }
  });

  test('Redis stopped: local delivery goes on and /healthz says so; restarted: delivery resumes, resync_required, since fills the gap', async () => {
    const { alice, room, sa, sb } = await pair('outage');
    const aliceElsewhere = await socketOn(a, alice);
    await join(aliceElsewhere, room.id);
    const seen = await send(sa, room.id, 'before the outage');
    await waitForEvent(sb, 'new_chat_message', (m) => m?.id === seen.id).catch(() => {});

    await redis.stop();
    const down = await until('A to report Redis down', async () => ((await health(a))?.redis === 'down' ? true : null));
    assert.ok(down);
    const healthA = await api(a.url, null, 'GET', '/healthz');
    assert.equal(healthA.status, 200, 'an instance without Redis still serves');

    const sentDuring = [];
    for (let i = 0; i < 5; i += 1) {
      const localSaw = waitForEvent(aliceElsewhere, 'new_chat_message', (m) => m?.content === `during ${i}`);
      sentDuring.push(await send(sa, room.id, `during ${i}`));
      await localSaw; // sockets on the same instance hear it while Redis is down
    }

    const resyncB = waitForEvent(sb, 'resync_required', (p) => p?.room_ids?.includes(room.id), 15_000);
    const restartedAt = Date.now();
    redis = await startRedis(redisPort);
    const liveAgain = await until(
      'delivery from A to B',
      async () => {
        const probe = waitForEvent(sb, 'new_chat_message', (m) => m?.content?.startsWith('probe'), 300);
        await send(sa, room.id, `probe ${Date.now()}`);
        return probe.then(() => true).catch(() => null);
      },
      15_000,
      0,
    );
    assert.ok(liveAgain);
    const resumedMs = Date.now() - restartedAt;
    assert.ok(resumedMs < 5000 + 1000, `cross-instance delivery resumed after ${resumedMs} ms`);
    const resync = await resyncB;
    assert.ok(resync.room_ids.includes(room.id), show(resync));

    // Bob rejoins with since = the last message he saw before the outage.
    const ack = await join(sb, room.id, seen.id);
    const replayed = ack.messages.map((m) => m.id);
    for (const m of sentDuring) {
      assert.equal(replayed.filter((id) => id === m.id).length, 1, `message ${m.id} not replayed exactly once: ${show(replayed)}`);
    }
    await until('B to report Redis ok', async () => ((await health(b))?.redis === 'ok' ? true : null));
  });

  test('Redis paused for 3 s: what was sent meanwhile arrives live, or resync_required', async () => {
    const { room, sa, sb } = await pair('paused');
    const live = collectEvents(sb, 'new_chat_message', (m) => m?.room_id === room.id);
    const resync = collectEvents(sb, 'resync_required', (p) => p?.room_ids?.includes(room.id));
    process.kill(redis.child.pid, 'SIGSTOP');
    const sent = [];
    try {
      for (let i = 0; i < 6; i += 1) {
        sent.push(await send(sa, room.id, `paused ${i}`));
        await sleep(500);
      }
    } finally {
      process.kill(redis.child.pid, 'SIGCONT');
    }
    await until(
      'every message or a resync',
      () => resync.events.length > 0 || sent.every((m) => live.events.some((e) => e.id === m.id)),
      15_000,
    );
    live.stop();
    resync.stop();
    if (resync.events.length === 0) {
      const ids = live.events.map((e) => e.id);
      for (const m of sent) assert.equal(ids.filter((id) => id === m.id).length, 1, `message ${m.id} delivered ${show(ids)}`);
    }
  });

  // Last: it kills instance A.
  test('an instance that dies: its typing ends and its users go offline on the others', async () => {
    const { alice, room, sb } = await pair('dies');
    const onA = await socketOn(a, alice);
    await join(onA, room.id);
    const online = await ok(b, alice, 'GET', `/api/chat/presence?user_ids=${alice.id}`);
    assert.ok(show(online).includes('"online"'), show(online));
    const typing = waitForEvent(sb, 'user_typing_start', (p) => p?.user?.id === alice.id);
    await emitAck(onA, 'chat_typing_start', { room_id: room.id });
    await typing;
    // A dies without saying anything more: B ends the typing itself (timeout + slack)…
    const stopped = waitForEvent(sb, 'user_typing_stop', (p) => p?.user?.id === alice.id, 8000);
    const offline = waitForEvent(sb, 'presence_updated', (p) => p?.user_id === alice.id && p.status === 'offline', 30_000);
    await a.kill('SIGKILL');
    await stopped;
    // …and once A has been silent for 15 s, Alice (whose only sockets were there) is offline.
    await offline;
  });
});
