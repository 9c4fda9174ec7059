import { isIP } from 'node:net';
import { EgressRefusedError, type EgressPolicy } from '@drover/runtime';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { FetchLike } from './proxied-fetch';

/**
 * Direct HTTP under an agent's egress policy: undici's connector is wrapped so that every new
 * connection, the first request's and each redirect's to another origin alike, is decided by
 * the policy after the host is resolved, and connects to exactly the address that was checked.
 * A refusal fails the request with an `EgressRefusedError` as its cause; nothing is connected.
 */
export class EgressFetch {
  private readonly agent: Agent;

  constructor(egress: EgressPolicy) {
    const connect = buildConnector({});
    this.agent = new Agent({
      connect: (options, callback) => {
        const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
        egress.check(options.hostname, port).then(
          (decision) => {
            if (!decision.allowed) {
              callback(new EgressRefusedError(decision.reason), null);
              return;
            }
            const { address } = decision.addresses[0]!;
            // The host name stays the TLS server name; only the address to dial is pinned.
            const servername = options.servername ?? (isIP(options.hostname) ? undefined : options.hostname);
            connect({ ...options, hostname: address, ...(servername ? { servername } : {}) }, callback);
          },
          (error: Error) => callback(error, null),
        );
      },
    });
  }

  readonly fetch: FetchLike = (url, init) => undiciFetch(url, { ...init, dispatcher: this.agent });

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
  }
}
