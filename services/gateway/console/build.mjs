// Bundles the web console into dist/console (run by `npm run build`, after the services): one
// script, one style sheet and the page, all served by the gateway at /console. Nothing is
// fetched from elsewhere at run time. `--watch` rebuilds on every change while developing.
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outdir = join(here, '../../../dist/console');

/** @type {import('esbuild').BuildOptions} */
const options = {
  entryPoints: { console: join(here, 'src/main.tsx') },
  bundle: true,
  format: 'esm',
  target: 'es2022',
  minify: true,
  sourcemap: false,
  jsx: 'automatic',
  jsxImportSource: 'preact',
  outdir,
  logLevel: 'warning',
  legalComments: 'none',
};

await mkdir(outdir, { recursive: true });
await copyFile(join(here, 'index.html'), join(outdir, 'index.html'));
if (process.argv.includes('--watch')) {
  const context = await esbuild.context(options);
  await context.watch();
  console.log(`watching; writing ${outdir}`);
} else {
  await esbuild.build(options);
}
