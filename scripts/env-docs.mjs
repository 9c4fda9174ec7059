// Writes docs/environment.md's variable table from EnvSchema (`npm run docs:env`, after a build).
// A unit test (env-reference.spec.ts) fails when the table and the schema differ.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { withEnvironmentTable } = require('../dist/libs/runtime/src/config/env-reference.js');
const doc = new URL('../docs/environment.md', import.meta.url);
writeFileSync(doc, withEnvironmentTable(readFileSync(doc, 'utf8')));
execFileSync('npx', ['prettier', '--write', doc.pathname], { stdio: 'inherit' });
