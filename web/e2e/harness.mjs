// e2e harness: starts the server binary (EVENTSYNC_BIN, default ../target/debug/eventsync-chat
// relative to web/) on a fresh data dir, a same-origin proxy serving web/dist in front
// of it, and headless Chromium through playwright-core.
//
// EVENTSYNC_UI_BASE=<url>  use that URL for the UI and the API; no server, no proxy
//                          (tests that restart the server are skipped).
// EVENTSYNC_UI_BASE=self   start the binary and use its own URL (the binary embeds the UI).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startProxy } from './proxy.mjs';

export const WEB_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const DIST_DIR = path.join(WEB_DIR, 'dist');
export const ARTIFACTS = path.join(WEB_DIR, 'e2e', 'artifacts');
export const BIN = path.resolve(WEB_DIR, process.env.EVENTSYNC_BIN ?? '../target/debug/eventsync-chat');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const UI_BASE = process.env.EVENTSYNC_UI_BASE ?? '';

fs.mkdirSync(ARTIFACTS, { recursive: true });

/** `env`: extra server settings for one test file (e.g. EVENTSYNC_QUIET_JOIN_THRESHOLD). */
export function startServer({ dataDir, listen = '127.0.0.1:0', timeoutMs = 30000, env = {} }) {
  if (!fs.existsSync(BIN)) throw new Error(`server binary not found: ${BIN} (set EVENTSYNC_BIN)`);
  const proc = spawn(BIN, ['serve', '--listen', listen, '--data-dir', dataDir], {
    env: { ...process.env, ...env, EVENTSYNC_RATE_LIMITS: 'off', RUST_LOG: process.env.RUST_LOG ?? 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logFile = fs.createWriteStream(path.join(ARTIFACTS, 'server.log'), { flags: 'a' });
  proc.stderr.pipe(logFile);
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`server did not print its address within ${timeoutMs} ms: ${out}`));
    }, timeoutMs);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited early (${code}): ${out}`));
    });
    proc.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.removeAllListeners('exit');
        const url = m[1].replace(/\/$/, '');
        resolve({
          url,
          listen: new URL(url).host,
          proc,
          stop: () => stopProcess(proc),
        });
      }
    });
  });
}

function stopProcess(proc, timeoutMs = 10000) {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => proc.kill('SIGKILL'), timeoutMs);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

/**
 * Server (+ proxy) for one test file. `restart()` restarts the server on the same port and data dir.
 * `env` adds server settings (ignored with an external EVENTSYNC_UI_BASE server).
 */
export async function startStack({ env = {} } = {}) {
  if (UI_BASE && UI_BASE !== 'self') {
    const base = UI_BASE.replace(/\/$/, '');
    return { uiBase: base, apiBase: base, canRestart: false, restart: async () => { throw new Error('cannot restart an external server'); }, stop: async () => {} };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'eventsync-e2e-'));
  let server = await startServer({ dataDir, env });
  let proxy = null;
  if (UI_BASE !== 'self') {
    if (!fs.existsSync(path.join(DIST_DIR, 'index.html'))) throw new Error('web/dist is missing: run `npm run build`');
    proxy = await startProxy({ distDir: DIST_DIR, target: server.url });
  }
  const stack = {
    uiBase: proxy ? proxy.url : server.url,
    apiBase: server.url,
    canRestart: true,
    dataDir,
    async stopServer() {
      await server.stop();
    },
    async startServerAgain() {
      server = await startServer({ dataDir, listen: server.listen, env });
    },
    async restart() {
      await server.stop();
      server = await startServer({ dataDir, listen: server.listen, env });
    },
    async stop() {
      await server.stop();
      if (proxy) await proxy.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return stack;
}

/** `args`: extra Chromium flags for this launch only (e.g. the fake microphone of the voice test). */
export async function launchBrowser({ args = [] } = {}) {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', ...args],
    timeout: 30000,
  });
}

/** A new browser context + page that records dialogs and page errors. */
export async function newPage(browser, { viewport = { width: 1280, height: 800 }, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport, colorScheme });
  const page = await context.newPage();
  page.setDefaultTimeout(10000);
  const dialogs = [];
  const errors = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy|Refused/.test(m.text())) errors.push(m.text());
  });
  return { context, page, dialogs, errors };
}

let userSeq = 0;
export function uniqueName(prefix) {
  userSeq += 1;
  return `${prefix}${Date.now().toString(36).slice(-5)}${userSeq}`;
}

export async function api(base, token, method, p, body) {
  const headers = { Accept: 'application/json' };
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(base + p, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  const data = text ? JSON.parse(text) : null;
  if (!res.ok) throw new Error(`${method} ${p} → ${res.status} ${text}`);
  return data;
}

export async function registerApi(base, username, display_name) {
  return api(base, null, 'POST', '/api/auth/register', { username, password: 'correct-horse-9', display_name });
}

/** Registers through the UI's login page and waits for the chat view. */
export async function registerInUi(page, base, username, displayName) {
  await page.goto(base + '/login');
  await page.getByRole('tab', { name: 'Create account' }).click();
  await page.getByLabel('Username').fill(username);
  if (displayName) await page.getByLabel(/Display name/).fill(displayName);
  await page.getByLabel('Password').fill('correct-horse-9');
  await page.getByRole('button', { name: 'Create account', exact: true }).click();
  await page.waitForURL(/\/chat/);
  await page.locator('.conn[data-state="connected"]').waitFor({ state: 'attached' });
}

/** Signs in an account made through the API by putting its session in the page. */
export async function loginInUi(page, base, username) {
  await page.goto(base + '/login');
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill('correct-horse-9');
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
  await page.waitForURL(/\/chat/);
  await page.locator('.conn[data-state="connected"]').waitFor({ state: 'attached' });
}

export async function screenshot(page, name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

export async function runAxe(page) {
  const src = fs.readFileSync(path.join(WEB_DIR, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  // evaluate() runs outside the page's CSP, unlike an injected <script>.
  await page.evaluate(src);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await window.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => n.target.join(' ') + ' :: ' + n.failureSummary) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
