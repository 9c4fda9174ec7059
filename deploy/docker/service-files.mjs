#!/usr/bin/env node
/**
 * The files one service's runtime image holds, and only those: its compiled code and exactly the
 * files of `node_modules` that code loads, found by tracing its `require`s with @vercel/nft (the
 * tracer behind Next.js's standalone output), plus the few files a service reads by path.
 *
 * Why trace instead of `npm ci --omit=dev`: a production install is the same for every service, so
 * the engine's image carried puppeteer, chromium-bidi and better-sqlite3's C++ build tree (159 MB
 * of node_modules in every image). A trace gives each service its own dependencies: native
 * addons keep their compiled `.node` file and nothing of their build.
 *
 *   node deploy/docker/service-files.mjs --out <dir> [service ...]   copies each service's files to <dir>/<service>/
 *   node deploy/docker/service-files.mjs --list <service>             prints the files, one per line
 *
 * Run from the repository root after `npm run build` (the builder image does; so does
 * deploy/rehearse/rehearse.sh, which runs each service from its copy as the image would).
 */
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { nodeFileTrace } from '@vercel/nft';

/** Every file a service needs beside what its main loads. */
const COMMON = ['package.json', 'run-profiles'];

/**
 * Per service: the entry points to trace, files or directories read by path (copied whole), and
 * packages left out of the trace (with why).
 */
export const SERVICES = {
  gateway: {
    // The drover CLI (docs/cli.md) ships in the gateway image: `docker run --rm drover-gateway node bin/drover.mjs`.
    entries: ['dist/services/gateway/src/main.js', 'bin/drover.mjs'],
    // The console's bundle, and the four Swagger UI files /docs serves (docs.controller.ts), not the whole package.
    paths: [
      'dist/console',
      ...[
        'package.json',
        'swagger-ui.css',
        'swagger-ui-bundle.js',
        'swagger-ui-standalone-preset.js',
        'favicon-32x32.png',
      ].map((file) => `node_modules/swagger-ui-dist/${file}`),
    ],
    ignore: ['node_modules/swagger-ui-dist/**'],
  },
  engine: { entries: ['dist/services/engine/src/main.js'] },
  'persistence-agent': { entries: ['dist/services/persistence-agent/src/main.js'] },
  scheduler: { entries: ['dist/services/scheduler/src/main.js'] },
  bootstrap: { entries: ['dist/services/bootstrap/src/main.js'] },
  'session-agent': {
    entries: ['dist/services/session-agent/src/main.js'],
    // puppeteer's config loader (cosmiconfig) can load a TypeScript config file; Drover has none.
    ignore: ['node_modules/typescript/**'],
  },
};

/** The export conditions of the two traces, each with the parse cache its services share. */
const CONDITIONS = [
  [['node'], {}],
  [['node', 'module-sync'], {}],
];

/** The repository-relative files of one service's image, sorted. */
export async function serviceFiles(service, root = process.cwd()) {
  const spec = SERVICES[service];
  if (!spec) throw new Error(`unknown service "${service}" (one of: ${Object.keys(SERVICES).join(', ')})`);
  for (const entry of spec.entries) {
    if (!existsSync(join(root, entry))) throw new Error(`${entry} is missing: run "npm run build" first`);
  }
  // Traced twice and joined: with the `module-sync` export condition (what a Node that can
  // require(esm) loads: 20.19+, 22.12+) and without it, so the set fits either Node.
  const traces = await Promise.all(
    CONDITIONS.map(([conditions, cache]) =>
      nodeFileTrace(spec.entries, { base: root, ignore: spec.ignore ?? [], conditions, cache }),
    ),
  );
  const fileList = traces.flatMap((trace) => [...trace.fileList]);
  const files = new Set(fileList.filter((file) => statSync(join(root, file)).isFile()));
  for (const path of [...COMMON, ...(spec.paths ?? [])]) {
    if (!existsSync(join(root, path))) throw new Error(`${path} is missing`);
    files.add(path);
  }
  return [...files].sort();
}

/** Copies the service's files into `out`, keeping their paths and modes; returns their total size in bytes. */
export async function copyServiceFiles(service, out, root = process.cwd()) {
  let bytes = 0;
  for (const file of await serviceFiles(service, root)) {
    const from = join(root, file);
    const to = join(out, file);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(from, to, { recursive: true, dereference: true });
    chmodSync(to, statSync(from).mode & 0o755);
    bytes += size(to);
  }
  return bytes;
}

function size(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.size;
  return readdirSync(path).reduce((total, entry) => total + size(join(path, entry)), 0);
}

async function main(argv) {
  const [mode, ...rest] = argv;
  if (mode === '--list' && rest.length === 1) {
    for (const file of await serviceFiles(rest[0])) console.log(file);
  } else if (mode === '--out' && rest.length >= 1) {
    const [out, ...services] = rest;
    for (const service of services.length ? services : Object.keys(SERVICES)) {
      const bytes = await copyServiceFiles(service, resolve(out, service));
      console.log(`${service}: ${(bytes / 1e6).toFixed(1)} MB`);
    }
  } else {
    console.error('usage: service-files.mjs --out <dir> [service ...] | --list <service>');
    process.exit(2);
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main(process.argv.slice(2)).catch((error) => {
    console.error(error.message);
    process.exit(1);
  });
}
