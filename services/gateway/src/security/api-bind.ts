import { isIP } from 'node:net';
import { ConfigError } from '@drover/runtime';

export interface ApiBind {
  host: string;
  /** Set when the API has no keys (anyone who reaches it can start and stop agents): log it at start. */
  warning?: string;
}

/**
 * Where the REST API may listen. Without `DROVER_API_KEYS` anyone who reaches the port can start
 * and stop agents, so a keyless API listens on 127.0.0.1 unless told otherwise, and a keyless
 * non-loopback bind refuses to start unless `DROVER_ALLOW_OPEN_API=true` says something in front
 * of Drover (a proxy, a private network) authenticates.
 */
export function apiBind(env: {
  HOST?: string | undefined;
  DROVER_API_KEYS?: string[] | undefined;
  DROVER_ALLOW_OPEN_API: boolean;
}): ApiBind {
  const keyed = (env.DROVER_API_KEYS?.length ?? 0) > 0;
  if (keyed) return { host: env.HOST ?? '0.0.0.0' };
  const host = env.HOST ?? '127.0.0.1';
  if (!isLoopback(host) && !env.DROVER_ALLOW_OPEN_API) {
    throw new ConfigError(
      `HOST=${host} would expose the API beyond this machine without API keys, so anyone who reaches it ` +
        'could start and stop agents: set DROVER_API_KEYS, or HOST=127.0.0.1, or DROVER_ALLOW_OPEN_API=true ' +
        'if something in front of Drover authenticates',
    );
  }
  const warning = isLoopback(host)
    ? `no DROVER_API_KEYS: the API is unauthenticated, so it listens on ${host} only (set DROVER_API_KEYS to serve other machines)`
    : `no DROVER_API_KEYS and DROVER_ALLOW_OPEN_API=true: the API on ${host} is unauthenticated; whatever is in front must authenticate`;
  return { host, warning };
}

export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice('::ffff:'.length) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** The URL a local client uses to reach a server bound to `host` (the wildcard means this machine). */
export function localUrl(host: string, port: number): string {
  if (host === '0.0.0.0' || host === '::') return `http://127.0.0.1:${port}`;
  return isIP(host) === 6 ? `http://[${host}]:${port}` : `http://${host}:${port}`;
}
