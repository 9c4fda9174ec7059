#!/usr/bin/env node
// The `drover` CLI (docs/cli.md): runs the compiled entry point, dist/tools/cli/src/main.js,
// which `npm run build` makes (the runtime images carry it, see deploy/docker/Dockerfile).
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '../dist/tools/cli/src/main.js');
if (!existsSync(main)) {
  process.stderr.write(`drover: ${main} is missing: run \`npm run build\` first\n`);
  process.exit(2);
}
createRequire(import.meta.url)(main);
