// Browser tests of file sharing: the attach button with upload progress and cancel,
// live thumbnails, file cards and downloads, audio and video players, drag-and-drop,
// refusals (client-side and by the server), expired files, rooms without files, the
// phone layout and accessibility (axe-core).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import zlib from 'node:zlib';
import {
  startStack, launchBrowser, newPage, registerInUi, registerApi, api, uniqueName, screenshot, runAxe,
} from './harness.mjs';

let stack;
let browser;

before(async () => {
  stack = await startStack();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await stack?.stop();
});

// ---- test files ----------------------------------------------------------------------

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

/** A real RGB PNG: a gradient, or noise (incompressible, so it takes a while to upload). */
export function makePng(width, height, { noise = false } = {}) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  let seed = 12345;
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const i = row + 1 + x * 3;
      if (noise) {
        for (let k = 0; k < 3; k++) {
          seed = (seed * 1103515245 + 12345) >>> 0;
          raw[i + k] = seed >>> 24;
        }
      } else {
        raw[i] = Math.round((x / width) * 255);
        raw[i + 1] = Math.round((y / height) * 255);
        raw[i + 2] = (x ^ y) & 0xff;
      }
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type: RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', zlib.deflateSync(raw, { level: noise ? 0 : 6 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

const MP3 = Buffer.concat([Buffer.from('ID3\x04\0\0\0\0\0\x10', 'latin1'), Buffer.alloc(4096)]);
// An ISO BMFF header (ftyp) is what makes an .mp4 an mp4 to the server's sniffer.
const MP4 = Buffer.concat([
  Buffer.from([0, 0, 0, 24]), Buffer.from('ftypisom', 'latin1'), Buffer.from([0, 0, 2, 0]), Buffer.from('isomiso2', 'latin1'),
  Buffer.from([0, 0, 0, 8]), Buffer.from('free', 'latin1'), Buffer.alloc(2048),
]);

// ---- helpers ---------------------------------------------------------------------------

function composer(page) {
  return page.getByRole('combobox', { name: /^Message #/ });
}

function fileInput(page) {
  return page.locator('.composer input[type=file]').first();
}

async function createRoom(page, name) {
  await page.getByRole('button', { name: '+ New room' }).click();
  const dialog = page.getByRole('dialog', { name: 'Create a room' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByRole('button', { name: 'Create room' }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await composer(page).and(page.locator(':enabled')).waitFor();
}

async function joinPublic(page, name) {
  await page.getByRole('button', { name: 'Browse rooms' }).click();
  const dialog = page.getByRole('dialog', { name: 'Browse public rooms' });
  await dialog.getByRole('button', { name: `Join ${name}` }).click();
  await dialog.waitFor({ state: 'detached' });
  await page.getByRole('heading', { level: 1, name }).waitFor();
  await composer(page).and(page.locator(':enabled')).waitFor();
}

function message(page, text) {
  return page.locator('.messages .msg:not(.pending)', { hasText: text });
}

function toast(page, text) {
  return page.locator('.toast', { hasText: text });
}

/** Fetches `url` in the page (with its cookie) and returns status, type and size. */
function fetchInPage(page, url) {
  return page.evaluate(async (u) => {
    const r = await fetch(u, { credentials: 'same-origin' });
    const b = await r.arrayBuffer();
    return { status: r.status, type: r.headers.get('content-type'), size: b.byteLength, text: new TextDecoder().decode(b.slice(0, 200)) };
  }, url);
}

async function uploadApi(token, roomId, name, bytes, fields = {}) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) form.append(k, String(v));
  form.append('file', new Blob([bytes]), name);
  const res = await fetch(`${stack.apiBase}/api/chat/rooms/${roomId}/upload`, { method: 'POST', headers: { Authorization: `Bearer ${token}` }, body: form });
  const data = await res.json();
  if (!res.ok) throw new Error(`upload ${name} → ${res.status} ${JSON.stringify(data)}`);
  return data;
}

/** Slows the page's uploads down (Chromium network emulation) so progress can be seen. */
async function throttleUploads(context, page, bytesPerSecond) {
  const cdp = await context.newCDPSession(page);
  await cdp.send('Network.enable');
  await cdp.send('Network.emulateNetworkConditions', {
    offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: bytesPerSecond,
  });
  return async () => {
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    await cdp.detach();
  };
}

async function noHorizontalScroll(page) {
  return page.evaluate(() => {
    const d = document.documentElement;
    return { scrollWidth: Math.max(d.scrollWidth, document.body.scrollWidth), width: window.innerWidth };
  });
}

// ---- tests -----------------------------------------------------------------------------

test('two users share an image, a text file, audio and video; progress, live thumbnails, downloads, refusals, drag-and-drop', { timeout: 180000 }, async () => {
  const A = await newPage(browser);
  const B = await newPage(browser);
  const uploadsSent = [];
  A.page.on('request', (r) => {
    if (r.method() === 'POST' && /\/upload$/.test(new URL(r.url()).pathname)) uploadsSent.push(r.url());
  });
  try {
    await registerInUi(A.page, stack.uiBase, uniqueName('ann'), 'Ann Uploader');
    await registerInUi(B.page, stack.uiBase, uniqueName('ben'), 'Ben Viewer');
    const room = uniqueName('files');
    await createRoom(A.page, room);
    await joinPublic(B.page, room);
    const attachBtn = A.page.getByRole('button', { name: 'Attach a file' });
    await attachBtn.waitFor();
    assert.equal(await attachBtn.isEnabled(), true);

    // An image through the file input, the composer's text as its caption, with visible
    // progress while the upload is slowed down.
    const png = makePng(600, 400, { noise: true });
    assert.ok(png.length > 700000, `noise PNG is ${png.length} bytes`);
    await composer(A.page).fill('The **venue** map');
    const unthrottle = await throttleUploads(A.context, A.page, 400 * 1024);
    await fileInput(A.page).setInputFiles({ name: 'venue-map.png', mimeType: 'image/png', buffer: png });
    const pending = A.page.locator('.msg.pending.upload', { hasText: 'venue-map.png' });
    await pending.waitFor();
    const bar = pending.getByRole('progressbar', { name: 'Uploading venue-map.png' });
    await bar.waitFor();
    await A.page.waitForFunction(() => {
      const v = Number(document.querySelector('.msg.upload [role=progressbar]')?.getAttribute('aria-valuenow'));
      return v > 0 && v < 100;
    }, null, { timeout: 15000 });
    assert.equal(await composer(A.page).inputValue(), '', 'the caption left the composer');
    assert.ok(await pending.getByRole('button', { name: 'Cancel upload of venue-map.png' }).isVisible());
    await screenshot(A.page, 'files-uploading-desktop-light');
    const mine = message(A.page, 'venue map');
    await mine.waitFor({ timeout: 30000 });
    await unthrottle();
    await pending.waitFor({ state: 'detached' });
    assert.equal(await A.page.locator('.msg.pending').count(), 0);
    assert.equal(await mine.locator('.bubble strong').innerText(), 'venue');

    // Ben sees it live: a loaded thumbnail with its size reserved, the caption as text.
    const seen = message(B.page, 'venue map');
    await seen.waitFor();
    const img = seen.locator('img[alt="venue-map.png"]');
    await img.waitFor();
    assert.equal(await img.getAttribute('width'), '320');
    assert.equal(await img.getAttribute('height'), '213');
    await B.page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await img.elementHandle());
    assert.equal(await img.evaluate((el) => el.naturalWidth), 320);
    assert.match(await img.getAttribute('src'), /^\/api\/chat\/files\/\d+\/thumbnail$/);
    // Clicking opens the full image; its download link gives back the same bytes.
    await seen.getByRole('button', { name: 'Open image venue-map.png' }).click();
    const box = B.page.getByRole('dialog', { name: 'venue-map.png' });
    await box.waitFor();
    const full = box.getByRole('img', { name: 'venue-map.png' });
    await B.page.waitForFunction((el) => el.complete && el.naturalWidth > 0, await full.elementHandle());
    assert.equal(await full.evaluate((el) => el.naturalWidth), 600);
    const imgLink = box.getByRole('link', { name: 'Download venue-map.png' });
    assert.equal(await imgLink.getAttribute('download'), 'venue-map.png');
    const got = await fetchInPage(B.page, await imgLink.getAttribute('href'));
    assert.equal(got.status, 200);
    assert.equal(got.size, png.length);
    assert.equal(got.type, 'image/png');
    await screenshot(B.page, 'files-lightbox-desktop-light');
    await B.page.keyboard.press('Escape');
    await box.waitFor({ state: 'detached' });

    // A text file without a caption: a file card with name, size and a download link, no empty bubble.
    const notes = 'Doors open at 9:00.\nBring your badge.\n';
    await fileInput(A.page).setInputFiles({ name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from(notes) });
    const card = message(B.page, 'notes.txt').locator('.file-card');
    await card.waitFor();
    assert.match(await card.innerText(), /notes\.txt[\s\S]*\d+ B · TXT/);
    assert.equal(await message(B.page, 'notes.txt').locator('.bubble').count(), 0);
    const link = card.getByRole('link', { name: 'Download notes.txt' });
    assert.equal(await link.getAttribute('download'), 'notes.txt');
    const txt = await fetchInPage(B.page, await link.getAttribute('href'));
    assert.equal(txt.status, 200);
    assert.equal(txt.size, Buffer.byteLength(notes));
    assert.equal(txt.text, notes);

    // Refused before upload: an extension the server does not take.
    const before = uploadsSent.length;
    await composer(A.page).fill('keep this text');
    await fileInput(A.page).setInputFiles({ name: 'evil.exe', mimeType: 'application/octet-stream', buffer: Buffer.from('MZ\x90\0\x03\0\0\0') });
    await toast(A.page, 'evil.exe was not uploaded: .exe files cannot be uploaded').waitFor();
    assert.equal(uploadsSent.length, before, 'no request for a refused file');
    assert.equal(await A.page.locator('.msg.pending').count(), 0);
    assert.equal(await composer(A.page).inputValue(), 'keep this text', 'a refused file leaves the text alone');
    await composer(A.page).fill('');

    // Refused by the server: HTML named .png. Its message is shown; nothing stays pending.
    await fileInput(A.page).setInputFiles({ name: 'page.png', mimeType: 'image/png', buffer: Buffer.from('<!doctype html><html><body><script>alert(1)</script></body></html>') });
    await toast(A.page, 'page.png was not uploaded: the file is named .png but its content is text/html').waitFor();
    assert.equal(uploadsSent.length, before + 1);
    await A.page.locator('.msg.pending').waitFor({ state: 'detached' });
    assert.equal(await message(A.page, 'page.png').count(), 0);
    assert.equal(await message(B.page, 'page.png').count(), 0);

    // Drag-and-drop onto the message list: the drop zone shows while dragging, the drop uploads.
    await A.page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['Agenda: talks at 10, lunch at 12.\n'], 'dropped-agenda.txt', { type: 'text/plain' }));
      window.__dt = dt;
      const target = document.querySelector('.messages');
      target.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
      target.dispatchEvent(new DragEvent('dragover', { bubbles: true, cancelable: true, dataTransfer: dt }));
    });
    const zone = A.page.locator('.drop-zone');
    await zone.waitFor();
    assert.match(await zone.innerText(), /Drop to share in/);
    await screenshot(A.page, 'files-drop-zone-desktop-light');
    const dropAccepted = await A.page.evaluate(() => {
      const target = document.querySelector('.messages');
      const ev = new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: window.__dt });
      target.dispatchEvent(ev);
      return ev.defaultPrevented;
    });
    assert.equal(dropAccepted, true, 'the drop is handled (the browser does not open the file)');
    await zone.waitFor({ state: 'detached' });
    await message(B.page, 'dropped-agenda.txt').getByRole('link', { name: 'Download dropped-agenda.txt' }).waitFor();

    // Pasting an image into the composer uploads it too (screenshots come as "image.png").
    await A.page.evaluate((b64) => {
      const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
      const dt = new DataTransfer();
      dt.items.add(new File([bytes], 'image.png', { type: 'image/png' }));
      const box = document.querySelector('#composer-input');
      box.focus();
      box.dispatchEvent(new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: dt }));
    }, makePng(120, 80).toString('base64'));
    const pasted = B.page.locator('.messages .msg:not(.pending) img[alt^="pasted-"][alt$=".png"]');
    await pasted.waitFor();
    assert.equal(await pasted.getAttribute('width'), '120');

    // Audio and video get players.
    await composer(A.page).fill('Our jingle');
    await fileInput(A.page).setInputFiles({ name: 'jingle.mp3', mimeType: 'audio/mpeg', buffer: MP3 });
    const audio = message(B.page, 'Our jingle').locator('audio');
    await audio.waitFor();
    assert.equal(await audio.getAttribute('controls'), '');
    assert.equal(await audio.getAttribute('preload'), 'none');
    assert.match(await audio.getAttribute('src'), /^\/api\/chat\/files\/\d+\/download$/);
    assert.equal(await audio.getAttribute('aria-label'), 'Audio: jingle.mp3');
    await message(B.page, 'Our jingle').getByRole('link', { name: 'Download jingle.mp3' }).waitFor();
    await fileInput(A.page).setInputFiles({ name: 'teaser.mp4', mimeType: 'video/mp4', buffer: MP4 });
    const video = message(B.page, 'teaser.mp4').locator('video');
    await video.waitFor();
    assert.equal(await video.getAttribute('preload'), 'metadata');
    assert.equal(await video.getAttribute('controls'), '');
    // Range requests work for players (seek).
    const range = await B.page.evaluate(async (u) => {
      const r = await fetch(u, { headers: { Range: 'bytes=0-9' } });
      return { status: r.status, size: (await r.arrayBuffer()).byteLength, range: r.headers.get('content-range') };
    }, await audio.getAttribute('src'));
    assert.deepEqual(range, { status: 206, size: 10, range: `bytes 0-9/${MP3.length}` });

    // The sidebar's last-message preview names the file when there is no caption.
    await B.page.locator('.room-item', { hasText: room }).filter({ hasText: 'teaser.mp4' }).waitFor();

    for (const scheme of ['light', 'dark']) {
      await B.page.emulateMedia({ colorScheme: scheme });
      assert.deepEqual(await runAxe(B.page), [], `room with attachments (${scheme})`);
      await screenshot(B.page, `files-desktop-${scheme}`);
    }
    await B.page.emulateMedia({ colorScheme: 'light' });

    // The phone layout: nothing wider than the screen, images scaled to fit.
    await B.page.setViewportSize({ width: 375, height: 812 });
    await B.page.reload();
    await message(B.page, 'teaser.mp4').locator('video').waitFor();
    await B.page.waitForTimeout(300);
    const w = await noHorizontalScroll(B.page);
    assert.ok(w.scrollWidth <= w.width, JSON.stringify(w));
    const wide = await B.page.evaluate(() => [...document.querySelectorAll('.messages *')]
      .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && !el.closest('pre'))
      .map((el) => el.tagName + '.' + el.className).slice(0, 5));
    assert.deepEqual(wide, []);
    await message(B.page, 'venue map').scrollIntoViewIfNeeded();
    await screenshot(B.page, 'files-phone-light');
    assert.deepEqual(await runAxe(B.page), [], 'room with attachments (phone)');

    assert.deepEqual([...A.dialogs, ...B.dialogs], []);
    assert.deepEqual([...A.errors, ...B.errors], []);
  } finally {
    await A.context.close();
    await B.context.close();
  }
});

test('cancelling an upload stops it; expired files and rooms without files', { timeout: 120000 }, async () => {
  const name = uniqueName('carol');
  const { token } = await registerApi(stack.apiBase, name, 'Carol Canceller');
  const room = await api(stack.apiBase, token, 'POST', '/api/chat/rooms', { name: uniqueName('cancel'), type: 'general' });
  const noFiles = await api(stack.apiBase, token, 'POST', '/api/chat/rooms', { name: uniqueName('textonly'), type: 'general', allow_files: false });
  const C = await newPage(browser);
  try {
    await C.page.goto(stack.uiBase + '/login');
    await C.page.getByLabel('Username').fill(name);
    await C.page.getByLabel('Password').fill('correct-horse-9');
    await C.page.getByRole('button', { name: 'Sign in', exact: true }).click();
    await C.page.waitForURL(/\/chat/);
    await C.page.goto(`${stack.uiBase}/chat?room=${room.id}`);
    await composer(C.page).and(C.page.locator(':enabled')).waitFor();

    // Cancel: the pending item goes, and no message is ever made.
    const unthrottle = await throttleUploads(C.context, C.page, 64 * 1024);
    await composer(C.page).fill('never sent');
    await fileInput(C.page).setInputFiles({ name: 'huge-noise.png', mimeType: 'image/png', buffer: makePng(600, 400, { noise: true }) });
    const pending = C.page.locator('.msg.pending.upload', { hasText: 'huge-noise.png' });
    await pending.waitFor();
    await C.page.waitForFunction(() => Number(document.querySelector('.msg.upload [role=progressbar]')?.getAttribute('aria-valuenow')) > 0);
    await pending.getByRole('button', { name: 'Cancel upload of huge-noise.png' }).click();
    await pending.waitFor({ state: 'detached' });
    await unthrottle();
    await C.page.waitForTimeout(800);
    const hist = await api(stack.apiBase, token, 'GET', `/api/chat/rooms/${room.id}/messages`);
    assert.equal(hist.messages.length, 0, JSON.stringify(hist.messages.map((m) => m.content)));
    assert.equal(await C.page.locator('.toast.error').count(), 0, 'a cancel is not an error');

    // An upload that expires: the server's `expired` flag and a passed `expires_at` both show "File expired".
    const m = await uploadApi(token, room.id, 'short-lived.txt', Buffer.from('gone soon\n'), { expires_in: 1, caption: 'Short-lived file' });
    assert.equal(m.attachments[0].expired, false);
    const live = message(C.page, 'Short-lived file');
    await live.waitFor();
    await live.getByRole('link', { name: 'Download short-lived.txt' }).waitFor();
    await C.page.waitForTimeout(1500);
    const gone = await fetchInPage(C.page, m.attachments[0].download_url);
    assert.equal(gone.status, 410);
    await C.page.reload();
    const expired = message(C.page, 'Short-lived file');
    await expired.getByText('File expired').waitFor();
    assert.equal(await expired.getByRole('link', { name: /^Download/ }).count(), 0, 'no download link for an expired file');
    // An expired image shows no thumbnail either.
    const img = await uploadApi(token, room.id, 'flash.png', makePng(64, 48), { expires_in: 1, caption: 'Flash image' });
    assert.equal(img.attachments[0].has_thumbnail, true);
    await message(C.page, 'Flash image').getByRole('img', { name: 'flash.png' }).waitFor();
    await C.page.waitForTimeout(1500);
    await C.page.reload();
    await message(C.page, 'Flash image').getByText('File expired').waitFor();
    assert.equal(await message(C.page, 'Flash image').locator('img').count(), 0, 'no thumbnail for an expired image');

    // A room that takes no files has no attach button, and a drop there is refused.
    await C.page.goto(`${stack.uiBase}/chat?room=${noFiles.id}`);
    await composer(C.page).and(C.page.locator(':enabled')).waitFor();
    assert.equal(await C.page.getByRole('button', { name: 'Attach a file' }).count(), 0, 'no attach button where files are off');
    await C.page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['x'], 'nope.txt', { type: 'text/plain' }));
      const t = document.querySelector('.messages');
      t.dispatchEvent(new DragEvent('dragenter', { bubbles: true, cancelable: true, dataTransfer: dt }));
      t.dispatchEvent(new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dt }));
    });
    await toast(C.page, 'nope.txt was not uploaded: this room does not take files').waitFor();
    const none = await api(stack.apiBase, token, 'GET', `/api/chat/rooms/${noFiles.id}/messages`);
    assert.equal(none.messages.length, 0, JSON.stringify(none.messages));
    assert.deepEqual(C.dialogs, []);
    assert.deepEqual(C.errors, []);
  } finally {
    await C.context.close();
  }
});

test('hostile file names (<img src=x onerror=alert(1)>) render as text everywhere a file name shows', { timeout: 90000 }, async () => {
  const XSS = '<img src=x onerror=alert(1)>';
  const A = await newPage(browser);
  const B = await newPage(browser);
  try {
    await registerInUi(A.page, stack.uiBase, uniqueName('mal'), 'Mal Uploader');
    await registerInUi(B.page, stack.uiBase, uniqueName('vic'), 'Vic Viewer');
    const room = uniqueName('hostile-files');
    await createRoom(A.page, room);
    await joinPublic(B.page, room);
    const txtName = `${XSS}.txt`;
    // No '/' (the server refuses path-like names) and no '"' (browsers send it as %22 in multipart).
    const pngName = `${XSS} <svg onload=alert(2)> 'quoted' &amp; <b>bold.png`;
    await fileInput(A.page).setInputFiles({ name: txtName, mimeType: 'text/plain', buffer: Buffer.from('harmless\n') });

    // The file card: the name as text, in the card, its label and the download attribute.
    const card = B.page.locator('.messages .msg:not(.pending) .file-card').filter({ hasText: XSS });
    await card.waitFor();
    await fileInput(A.page).setInputFiles({ name: pngName, mimeType: 'image/png', buffer: makePng(40, 30) });
    assert.equal(await card.locator('.file-name').innerText(), txtName);
    const link = card.getByRole('link', { name: `Download ${txtName}` });
    assert.equal(await link.getAttribute('download'), txtName);
    assert.equal(await card.getAttribute('aria-label'), `File: ${txtName}, 9 B`);

    // The image: alt text and the lightbox title are the name, as text.
    const thumb = B.page.getByRole('button', { name: `Open image ${pngName}` });
    await thumb.waitFor();
    assert.equal(await thumb.locator('img').getAttribute('alt'), pngName);
    await thumb.click();
    const box = B.page.getByRole('dialog', { name: pngName });
    await box.waitFor();
    assert.equal(await box.locator('h2').innerText(), pngName);
    await B.page.keyboard.press('Escape');
    await box.waitFor({ state: 'detached' });

    // The room list preview and the live region read the name as text too.
    const preview = B.page.locator('.room-list .room-item', { hasText: room }).locator('.room-last');
    await preview.filter({ hasText: 'Image:' }).waitFor();
    assert.ok((await preview.innerText()).startsWith(`Mal Uploader: Image: ${XSS} <svg onload=alert(2)>`), await preview.innerText());
    assert.ok((await B.page.locator('[aria-live="polite"].sr-only').innerText()).includes(pngName));

    // No element came from a name: only our thumbnails are images, no <b>, no dialog.
    const imgs = await B.page.locator('img').evaluateAll((els) => els.map((e) => e.getAttribute('src')));
    assert.ok(imgs.every((src) => /^\/api\/chat\/files\/\d+\/(thumbnail|download)$/.test(src ?? '')), JSON.stringify(imgs));
    assert.equal(await B.page.locator('.messages b, .room-list b, .messages svg:not(.icon), [onload], [onerror]').count(), 0);
    assert.equal(await A.page.evaluate(() => document.querySelectorAll('img[src="x"]').length), 0);
    await screenshot(B.page, 'files-hostile-names-desktop-light');
    assert.deepEqual([...A.dialogs, ...B.dialogs], [], 'no dialog may open');
    assert.deepEqual([...A.errors, ...B.errors], []);
  } finally {
    await A.context.close();
    await B.context.close();
  }
});
