// Test harness for the EventSync Chat Socket.IO tests.
//
// startServer() launches the real server binary on an ephemeral port with a
// throw-away data directory; register() creates a user over REST; connect()
// opens a Socket.IO client and settles on the first connect / connect_error.

import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { io } from 'socket.io-client';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export const DEFAULT_BIN = path.resolve(HERE, '../../target/debug/eventsync-chat');
export const PASSWORD = 'correct horse battery';

const STARTUP_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const CONNECT_TIMEOUT_MS = 10_000;
const LISTENING_RE = /listening on (http:\/\/\S+)/;

/**
 * Start a fresh server. Resolves to {url, port, pid, dataDir, stop, stderr}.
 * `env` is merged into the child's environment, e.g. {EVENTSYNC_PRESENCE_GRACE_SECONDS: '1'};
 * `rateLimits: 'off'` (the default) turns rate limits off, `null` leaves them at their
 * defaults; `databaseUrl` selects PostgreSQL instead of SQLite in the data directory.
 * `dataDir` reuses an existing data directory (e.g. to restart on the data of a killed
 * server); such a directory belongs to the caller and is never removed here.
 * `kill(signal)` (default SIGKILL) ends the process without any cleanup and keeps the
 * data directory, resolving to {code, signal} once it has exited.
 */
export async function startServer({ env = {}, rateLimits = 'off', databaseUrl, dataDir: givenDataDir } = {}) {
  const bin = process.env.EVENTSYNC_BIN || DEFAULT_BIN;
  const ownsDataDir = givenDataDir === undefined;
  const dataDir = ownsDataDir ? await mkdtemp(path.join(os.tmpdir(), 'eventsync-socketio-')) : givenDataDir;
  const removeDataDir = () => (ownsDataDir ? rm(dataDir, { recursive: true, force: true }) : undefined);
  const childEnv = { ...process.env, RUST_LOG: 'warn', ...env };
  delete childEnv.EVENTSYNC_RATE_LIMITS;
  if (rateLimits) childEnv.EVENTSYNC_RATE_LIMITS = rateLimits;
  if (databaseUrl) childEnv.EVENTSYNC_DATABASE_URL = databaseUrl;
  else delete childEnv.EVENTSYNC_DATABASE_URL;

  const child = spawn(bin, ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
  });

  const exited = new Promise((resolve) => {
    child.once('exit', (code, signal) => {
      // Don't let grandchildren that inherited the pipes keep us alive.
      child.stdout.destroy();
      child.stderr.destroy();
      resolve({ code, signal });
    });
    // A failed spawn (e.g. ENOENT) emits 'error' and never 'exit'.
    child.once('error', (error) => {
      if (child.pid === undefined) resolve({ code: null, signal: null, error });
    });
  });

  let url;
  try {
    url = await new Promise((resolve, reject) => {
      let settled = false;
      const finish = (fn, value) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        fn(value);
      };

      const timer = setTimeout(() => {
        finish(
          reject,
          new Error(
            `server did not report "listening on" within ${STARTUP_TIMEOUT_MS / 1000} s\n` +
              `stderr:\n${stderr}`,
          ),
        );
      }, STARTUP_TIMEOUT_MS);

      child.once('error', (err) => {
        finish(reject, new Error(`failed to spawn ${bin}: ${err.message}\nstderr:\n${stderr}`));
      });

      exited.then(({ code, signal }) => {
        // Give the stderr stream a moment to drain before reporting it.
        setImmediate(() =>
          finish(
            reject,
            new Error(
              `server exited before listening (code=${code}, signal=${signal})\n` +
                `stderr:\n${stderr}`,
            ),
          ),
        );
      });

      const lines = createInterface({ input: child.stdout, crlfDelay: Infinity });
      lines.on('line', (line) => {
        const m = LISTENING_RE.exec(line);
        if (m) finish(resolve, m[1].replace(/\/+$/, ''));
      });
    });
  } catch (err) {
    await killAndWait(child, exited);
    await removeDataDir();
    throw err;
  }

  // Keep draining stdout so the child never blocks on a full pipe.
  child.stdout.resume();

  let stopping;
  async function stop() {
    stopping ??= (async () => {
      await killAndWait(child, exited);
      await removeDataDir();
    })();
    return stopping;
  }

  async function kill(signal = 'SIGKILL') {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    return exited;
  }

  return {
    url,
    port: Number(new URL(url).port),
    pid: child.pid,
    dataDir,
    databaseUrl,
    stop,
    kill,
    get stderr() {
      return stderr;
    },
  };
}

async function killAndWait(child, exited) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return exited;
  }
  child.kill('SIGTERM');
  let timer;
  const timedOut = new Promise((resolve) => {
    timer = setTimeout(() => resolve('timeout'), STOP_GRACE_MS);
  });
  const result = await Promise.race([exited, timedOut]);
  clearTimeout(timer);
  if (result === 'timeout') {
    child.kill('SIGKILL');
    return exited;
  }
  return result;
}

/**
 * Register a user. Resolves to {token, user: {id, username, display_name, role}}.
 */
export async function register(url, username) {
  const res = await fetch(`${url}/api/auth/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password: PASSWORD }),
  });
  const text = await res.text();
  if (res.status !== 201) {
    throw new Error(`register ${username}: expected 201, got ${res.status}: ${text}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`register ${username}: response is not JSON: ${text}`);
  }
}

/**
 * Open a Socket.IO connection. Resolves to {socket} on 'connect', rejects with
 * the Error from 'connect_error' (or a timeout). On rejection the socket is
 * closed and attached to the error as err.socket.
 */
export function connect(url, opts = {}) {
  const socket = io(url, {
    transports: ['websocket'],
    auth: {},
    extraHeaders: {},
    reconnection: false,
    forceNew: true,
    ...opts,
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      socket.disconnect();
      const err = new Error(`Socket.IO connect timed out after ${CONNECT_TIMEOUT_MS / 1000} s`);
      err.socket = socket;
      reject(err);
    }, CONNECT_TIMEOUT_MS);

    function onConnect() {
      cleanup();
      resolve({ socket });
    }
    function onError(err) {
      cleanup();
      socket.disconnect();
      if (err && typeof err === 'object') err.socket = socket;
      reject(err);
    }
    function cleanup() {
      clearTimeout(timer);
      socket.off('connect', onConnect);
      socket.off('connect_error', onError);
    }

    socket.on('connect', onConnect);
    socket.on('connect_error', onError);
  });
}


// ---------------------------------------------------------------------------
// Chat helpers (rooms / messages / real-time tests). All waits are bounded.

/**
 * Call the REST API. Resolves to {status, body, text}; body is the parsed JSON
 * (or null when the response is empty or not JSON).
 */
export async function api(url, token, method, apiPath, body) {
  const headers = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${url}${apiPath}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed = null;
  if (text.length > 0) {
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
  }
  return { status: res.status, body: parsed, text };
}

/**
 * Resolve with the payload of the first `name` event on `socket` for which
 * predicate(payload) is true; reject after `ms`. Attach it *before* causing
 * the event. The returned promise is pre-marked as handled so an early test
 * failure does not also produce an unhandled rejection.
 */
export function waitForEvent(socket, name, predicate = () => true, ms = 5000) {
  const promise = new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.off(name, handler);
      reject(new Error(`timed out after ${ms} ms waiting for "${name}" on socket ${socket.id}`));
    }, ms);
    function handler(payload) {
      let hit;
      try {
        hit = predicate(payload);
      } catch (err) {
        clearTimeout(timer);
        socket.off(name, handler);
        reject(err);
        return;
      }
      if (hit) {
        clearTimeout(timer);
        socket.off(name, handler);
        resolve(payload);
      }
    }
    socket.on(name, handler);
  });
  promise.catch(() => {});
  return promise;
}

/**
 * Record every `name` event on `socket` (optionally filtered) until stop().
 * Returns {events, stop}.
 */
export function collectEvents(socket, name, predicate = () => true) {
  const events = [];
  const handler = (payload) => {
    if (predicate(payload)) events.push(payload);
  };
  socket.on(name, handler);
  return { events, stop: () => socket.off(name, handler) };
}

/** Resolve after `ms` milliseconds. */
export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Emit with an acknowledgement; rejects if no ack arrives within `ms`. */
export function emitAck(socket, event, payload, ms = 5000) {
  return socket.timeout(ms).emitWithAck(event, payload);
}
