#!/usr/bin/env node
// `npm start`: builds when the sources are newer than the build, then runs the standalone
// system in this same process (so signals and exit codes are the system's own).
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
const entry = join(root, 'dist/services/standalone/src/main.js');
const buildInfo = join(root, 'dist/.tsbuildinfo');

function newestSource(dir) {
  let newest = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const stat = statSync(path);
    if (stat.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(ts|tsx|css|html)$/.test(name)) newest = Math.max(newest, stat.mtimeMs);
  }
  return newest;
}

// The console's bundle (dist/console) is built by the same `npm run build`.
const built = existsSync(entry) && existsSync(buildInfo) && existsSync(join(root, 'dist/console/index.html'));
const stale = !built || ['libs', 'services'].some((d) => newestSource(join(root, d)) > statSync(buildInfo).mtimeMs);
if (stale) {
  process.stdout.write('drover: building...\n');
  const result = spawnSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}
await import(pathToFileURL(entry).href);
