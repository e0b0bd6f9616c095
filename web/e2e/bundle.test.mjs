// The first load of /chat (index.html and everything it pulls in) stays under 300 KB gzipped.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { DIST_DIR } from './harness.mjs';

export function firstLoad() {
  const seen = new Set();
  const files = [];
  const visit = (rel) => {
    if (seen.has(rel)) return;
    seen.add(rel);
    const file = path.join(DIST_DIR, rel);
    const body = fs.readFileSync(file);
    files.push({ rel, raw: body.length, gzip: zlib.gzipSync(body, { level: 9 }).length });
    const text = body.toString('utf8');
    const refs = rel.endsWith('.html')
      ? [...text.matchAll(/(?:src|href)="\/([^"]+)"/g)].map((m) => m[1])
      : rel.endsWith('.js') ? [...text.matchAll(/(?:from|import\()\s*["']\.\/([^"']+)["']/g)].map((m) => 'assets/' + m[1]) : [];
    for (const r of refs) if (fs.existsSync(path.join(DIST_DIR, r))) visit(r);
  };
  visit('index.html');
  return files;
}

test('first load of /chat is under 300 KB gzipped', () => {
  const files = firstLoad();
  const total = files.reduce((s, f) => s + f.gzip, 0);
  console.log(files.map((f) => `${f.rel}: ${(f.raw / 1024).toFixed(1)} KB raw, ${(f.gzip / 1024).toFixed(1)} KB gzip`).join('\n'));
  console.log(`first load: ${(total / 1024).toFixed(1)} KB gzipped`);
  assert.ok(files.some((f) => f.rel.endsWith('.js')), 'index.html loads a script');
  assert.ok(total < 300 * 1024, `${total} bytes`);
  // No inline script or handler in the HTML (the server's CSP is script-src 'self').
  const html = fs.readFileSync(path.join(DIST_DIR, 'index.html'), 'utf8');
  assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/);
  assert.doesNotMatch(html, /\son[a-z]+=/i);
  assert.ok(files.filter((f) => f.rel.startsWith('assets/')).every((f) => /-[A-Za-z0-9_-]{8}\.[a-z0-9]+$/.test(f.rel)), 'hashed asset names');
});
