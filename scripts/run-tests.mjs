#!/usr/bin/env node
// Runs the compiled tests of the given levels with node's test runner.
// Levels by file name (STYLE.md): unit = *.spec.js, int = *.int-spec.js, e2e = *.e2e-spec.js.
// Usage: node scripts/run-tests.mjs unit e2e [--dist dir] [--filter text]
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const SUFFIX = { unit: '.spec.js', int: '.int-spec.js', e2e: '.e2e-spec.js' };
const args = process.argv.slice(2);
const option = (name) => {
  const index = args.indexOf(name);
  return index >= 0 ? args.splice(index, 2)[1] : undefined;
};
const dist = option('--dist') ?? 'dist';
const filter = option('--filter');
const levels = args.length ? args : ['unit'];
for (const level of levels) {
  if (!SUFFIX[level]) throw new Error(`unknown test level "${level}" (use ${Object.keys(SUFFIX).join(', ')})`);
}
if (!existsSync(dist)) throw new Error(`${dist} does not exist: run "npm run build" first`);

function walk(dir, found = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, found);
    else found.push(path);
  }
  return found;
}

const all = walk(dist);
const files = levels.flatMap((level) =>
  all.filter((file) => {
    const base = file.split('/').pop();
    // `.spec.js` must not also match `.int-spec.js` / `.e2e-spec.js`.
    const isLevel =
      level === 'unit' ? base.endsWith('.spec.js') && !/-spec\.js$/.test(base) : base.endsWith(SUFFIX[level]);
    return isLevel && (!filter || file.includes(filter));
  }),
);
if (files.length === 0) {
  console.error(`no ${levels.join('/')} tests found under ${dist}`);
  process.exit(1);
}
const result = spawnSync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=2', ...files], {
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
