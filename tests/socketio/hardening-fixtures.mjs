// Helpers for hardening.test.mjs (issue 8): a server started with extra settings and
// its pid exposed, admin accounts made with the CLI, raw HTTP over node:net / node:http
// (custom methods, half-sent requests, chosen source addresses), /proc RSS and the
// Prometheus series count. Every wait here is bounded.

import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { DEFAULT_BIN, PASSWORD } from './harness.mjs';

export const BIN = process.env.EVENTSYNC_BIN || DEFAULT_BIN;

export { startServer } from './harness.mjs';

/**
 * `eventsync-chat user create --username <u> [--admin]` against the server's storage,
 * password on stdin. Resolves to the printed user JSON.
 */
export function createUserCli(server, username, { admin = false, password = PASSWORD } = {}) {
  const args = ['user', 'create', '--username', username, '--data-dir', server.dataDir];
  if (server.databaseUrl) args.push('--database-url', server.databaseUrl);
  if (admin) args.push('--admin');
  const env = { ...process.env, RUST_LOG: 'warn' };
  delete env.EVENTSYNC_USER_PASSWORD;
  delete env.EVENTSYNC_DATABASE_URL;
  return new Promise((resolve, reject) => {
    const child = spawn(BIN, args, { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (c) => (out += c));
    child.stderr.setEncoding('utf8').on('data', (c) => (err += c));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`user create timed out\nstdout: ${out}\nstderr: ${err}`));
    }, 20_000);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      if (code !== 0) return reject(new Error(`user create exited ${code}\nstdout: ${out}\nstderr: ${err}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch {
        reject(new Error(`user create printed no JSON: ${out}\nstderr: ${err}`));
      }
    });
    child.stdin.end(`${password}\n`);
  });
}

function parseJson(text) {
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

/**
 * One request through node:http (custom methods, chosen source address, headers that
 * fetch would add or refuse). Resolves to {status, headers, text, body}.
 */
export function httpRequest(url, { method = 'GET', path: reqPath = '/', headers = {}, body, localAddress, agent, timeoutMs = 10_000 } = {}) {
  const u = new URL(url);
  const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
  const allHeaders = { ...headers };
  if (payload !== undefined) {
    allHeaders['content-length'] = Buffer.byteLength(payload);
    if (!Object.keys(allHeaders).some((h) => h.toLowerCase() === 'content-type')) {
      allHeaders['content-type'] = 'application/json';
    }
  }
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: u.hostname, port: u.port, method, path: reqPath, headers: allHeaders, localAddress, agent: agent ?? false },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => (text += c));
        res.on('end', () => {
          clearTimeout(timer);
          resolve({ status: res.statusCode, headers: res.headers, text, body: parseJson(text) });
        });
        res.on('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy(new Error(`${method} ${reqPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end(payload);
  });
}

/**
 * Write `data` (a Buffer/string, or an array of chunks) on a fresh TCP connection and
 * collect what comes back until the server closes, a complete response has arrived
 * (when `untilResponse`), or `timeoutMs` passes. Resolves to
 * {closed, closedAfterMs, timedOut, error, raw, response: {status, headers, text, body} | null}.
 * The connection is left open only when `keepOpen` is true (then `socket` is returned too).
 */
export function rawExchange(port, data, { timeoutMs = 5_000, localAddress, untilResponse = true, keepOpen = false, host = '127.0.0.1' } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = net.connect({ host, port, localAddress });
    let raw = Buffer.alloc(0);
    let done = false;
    let error = null;
    const finish = (extra) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const response = parseResponse(raw);
      if (!keepOpen || extra.closed) socket.destroy();
      resolve({ raw, response, error, closedAfterMs: extra.closed ? Date.now() - started : null, socket, ...extra });
    };
    const timer = setTimeout(() => finish({ closed: false, timedOut: true }), timeoutMs);
    socket.on('data', (chunk) => {
      raw = Buffer.concat([raw, chunk]);
      if (untilResponse && parseResponse(raw)?.complete) finish({ closed: false, timedOut: false });
    });
    socket.on('error', (e) => {
      error = e;
    });
    socket.on('close', () => finish({ closed: true, timedOut: false }));
    socket.on('connect', () => {
      const chunks = Array.isArray(data) ? data : [data];
      for (const c of chunks) if (c.length > 0) socket.write(c);
    });
  });
}

/** Parse an HTTP/1.1 response (status line, headers, Content-Length body) from raw bytes. */
export function parseResponse(raw) {
  const end = raw.indexOf('\r\n\r\n');
  if (end < 0) return null;
  const head = raw.subarray(0, end).toString('latin1').split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(head[0]);
  if (!m) return null;
  const headers = {};
  for (const line of head.slice(1)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  const length = headers['content-length'] === undefined ? null : Number(headers['content-length']);
  const bodyBytes = raw.subarray(end + 4);
  const complete = length !== null && bodyBytes.length >= length;
  const text = bodyBytes.subarray(0, length ?? bodyBytes.length).toString('utf8');
  return { status: Number(m[1]), headers, text, body: parseJson(text), complete };
}

/**
 * Open a TCP connection and keep it open; resolves once connected to
 * {socket, closed: Promise<{afterMs}>, isClosed(), data()}.
 */
export function holdConnection(port, { localAddress, send, host = '127.0.0.1', connectTimeoutMs = 5_000 } = {}) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port, localAddress });
    let raw = Buffer.alloc(0);
    let closedAt = null;
    const started = Date.now();
    const closed = new Promise((res) => socket.on('close', () => res({ afterMs: (closedAt = Date.now()) - started })));
    socket.on('data', (c) => (raw = Buffer.concat([raw, c])));
    socket.on('error', () => {});
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`could not connect to 127.0.0.1:${port} within ${connectTimeoutMs} ms`));
    }, connectTimeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      if (send) socket.write(send);
      resolve({ socket, closed, isClosed: () => closedAt !== null, data: () => raw, started });
    });
  });
}

/** Resolve to `promise`'s value, or to `fallback` after `ms`. */
export function within(promise, ms, fallback = 'timeout') {
  let timer;
  return Promise.race([promise, new Promise((r) => (timer = setTimeout(() => r(fallback), ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** VmRSS of a process, in KiB. */
export async function rssKiB(pid) {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const m = /VmRSS:\s+(\d+)\s+kB/.exec(status);
  if (!m) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(m[1]);
}

/** Sample the RSS of `pid` every `everyMs` until stop(); stop() resolves to the peak (KiB). */
export function sampleRss(pid, everyMs = 20) {
  let peak = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      try {
        peak = Math.max(peak, await rssKiB(pid));
      } catch {
        return;
      }
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return peak;
    },
  };
}

/** GET /metrics: the number of sample lines (every line that is not a comment). */
export async function metricSeries(url) {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`GET /metrics answered ${res.status}: ${text.slice(0, 200)}`);
  const lines = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
  return { count: lines.length, lines, bytes: text.length };
}

/** POST /api/auth/login from `localAddress`; resolves to {status, headers, text, body}. */
export function login(url, username, password, localAddress) {
  return httpRequest(url, { method: 'POST', path: '/api/auth/login', body: { username, password }, localAddress });
}

/** POST /api/auth/register from `localAddress`. */
export function registerFrom(url, username, localAddress, password = PASSWORD) {
  return httpRequest(url, { method: 'POST', path: '/api/auth/register', body: { username, password }, localAddress });
}

/** The `eventsync_session=…` pair out of a response's Set-Cookie headers. */
export function sessionCookie(headers) {
  const cookies = [].concat(headers['set-cookie'] ?? []);
  for (const c of cookies) {
    const m = /^(eventsync_session=[^;]+)/.exec(c);
    if (m) return m[1];
  }
  return null;
}
