// `npm test` builds first when web/dist is missing or older than the sources.
import fs from 'node:fs';
import path from 'node:path';
import { execSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const index = path.join(web, 'dist', 'index.html');

function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(st.mtimeMs, ...fs.readdirSync(p).map((f) => newest(path.join(p, f))));
}

const sources = ['src', 'index.html', 'vite.config.ts', 'package.json', 'tsconfig.json'].map((f) => path.join(web, f));
const built = fs.existsSync(index) ? fs.statSync(index).mtimeMs : 0;
if (process.env.EVENTSYNC_UI_BASE) {
  console.log('EVENTSYNC_UI_BASE is set: using the UI the server serves, not web/dist.');
} else if (built < Math.max(...sources.map(newest))) {
  console.log('web/dist is missing or stale: building…');
  execSync('npm run build', { cwd: web, stdio: 'inherit' });
}
