// A tiny same-origin front for the e2e tests while the binary does not embed the UI yet:
// serves web/dist for /login, /chat and /assets/*, redirects / to /chat, and forwards
// everything else (REST, /socket.io polling and websocket upgrades) to the server,
// keeping the Host header so the server's same-origin checks see one origin.
import http from 'node:http';
import net from 'node:net';
import fs from 'node:fs';
import path from 'node:path';

// What the server will send with the UI: no inline script may run.
export const CSP = [
  "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:", "media-src 'self' blob:",
  "connect-src 'self'", "font-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'", "form-action 'self'",
].join('; ');

const TYPES = {
  '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.woff2': 'font/woff2', '.json': 'application/json', '.html': 'text/html; charset=utf-8', '.ico': 'image/x-icon',
};

export function startProxy({ distDir, target, host = '127.0.0.1', port = 0 }) {
  const t = new URL(target);
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://proxy.invalid');
    const p = url.pathname;
    if (req.method === 'GET' || req.method === 'HEAD') {
      if (p === '/') {
        res.writeHead(302, { Location: '/chat' });
        return res.end();
      }
      if (p === '/login' || p === '/chat' || p.startsWith('/chat/')) return serveFile(res, path.join(distDir, 'index.html'), true, req.method);
      if (p.startsWith('/assets/')) {
        const file = path.normalize(path.join(distDir, p));
        if (!file.startsWith(path.join(distDir, 'assets') + path.sep)) {
          res.writeHead(404);
          return res.end();
        }
        return serveFile(res, file, false, req.method);
      }
    }
    const upstream = http.request(
      { host: t.hostname, port: t.port, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) res.writeHead(502, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'bad_gateway', message: 'server unreachable' } }));
    });
    req.pipe(upstream);
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  server.on('upgrade', (req, socket, head) => {
    const up = net.connect(Number(t.port), t.hostname, () => {
      let head1 = `${req.method} ${req.url} HTTP/1.1\r\n`;
      for (let i = 0; i < req.rawHeaders.length; i += 2) head1 += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
      up.write(head1 + '\r\n');
      if (head?.length) up.write(head);
      up.pipe(socket);
      socket.pipe(up);
    });
    sockets.add(up);
    up.on('close', () => sockets.delete(up));
    const kill = () => {
      up.destroy();
      socket.destroy();
    };
    up.on('error', kill);
    socket.on('error', kill);
    up.on('end', () => socket.end());
    socket.on('end', () => up.end());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      resolve({
        url: `http://${host}:${addr.port}`,
        close: () => new Promise((r) => {
          for (const s of sockets) s.destroy();
          server.close(() => r());
        }),
      });
    });
  });
}

function serveFile(res, file, isHtml, method) {
  fs.readFile(file, (err, data) => {
    if (err) {
      res.writeHead(404, { 'Content-Type': 'text/plain' });
      return res.end('not found');
    }
    const headers = {
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': data.length,
      'X-Content-Type-Options': 'nosniff',
      'Cache-Control': isHtml ? 'no-cache' : 'public, max-age=31536000, immutable',
    };
    if (isHtml) {
      headers['Content-Security-Policy'] = CSP;
      headers['Referrer-Policy'] = 'same-origin';
    }
    res.writeHead(200, headers);
    res.end(method === 'HEAD' ? undefined : data);
  });
}

// `node e2e/proxy.mjs http://127.0.0.1:5000` serves the built UI for manual use.
if (import.meta.url === `file://${process.argv[1]}`) {
  const target = process.argv[2] ?? 'http://127.0.0.1:5000';
  const distDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', 'dist');
  const p = await startProxy({ distDir, target, port: Number(process.env.PORT ?? 5173) });
  console.log(`UI on ${p.url} → ${target}`);
}
