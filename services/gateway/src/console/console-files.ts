import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join, resolve } from 'node:path';

/**
 * The web console's static files: `index.html` and the bundle `npm run build` writes to
 * `dist/console` (services/gateway/console/build.mjs). They carry no data (every API call the
 * console makes sends the key), so the gateway serves them without one, like `/docs`.
 */
export class ConsoleFiles {
  private names?: Promise<ReadonlySet<string>>;

  constructor(readonly dir: string = defaultConsoleDir()) {}

  /** The file's bytes and content type, or undefined when the bundle holds no such file. */
  async get(name: string): Promise<{ body: Buffer; type: string } | undefined> {
    const type = CONTENT_TYPES[extname(name)];
    if (!type || !SAFE_NAME.test(name)) return undefined;
    // Only names the directory listed are read: no path is ever built from the request alone.
    if (!(await this.list()).has(name)) return undefined;
    return { body: await readFile(join(this.dir, name)), type };
  }

  private list(): Promise<ReadonlySet<string>> {
    this.names ??= readdir(this.dir).then(
      (names) => new Set(names),
      () => {
        this.names = undefined; // not built yet: look again next time
        return new Set<string>();
      },
    );
    return this.names;
  }
}

const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * `dist/console`, wherever the gateway runs from: the compiled gateway lives in
 * `dist/services/gateway/src/console`, its TypeScript sources (tests) in `services/gateway/src/console`.
 */
export function defaultConsoleDir(): string {
  const up = resolve(__dirname, '../../../..');
  return basename(up) === 'dist' ? join(up, 'console') : join(up, 'dist', 'console');
}

/**
 * The console's Content-Security-Policy: its own scripts, styles and API only, no inline script
 * or style, images from itself or from blobs (screenshots are fetched with the key, then shown).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "img-src 'self' blob:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
