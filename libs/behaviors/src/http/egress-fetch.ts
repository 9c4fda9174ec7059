import { pinnedLookup } from '@drover/browser/proxy';
import { EgressRefusedError, type EgressPolicy } from '@drover/runtime';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { FetchLike } from './proxied-fetch';

/**
 * Direct HTTP under an agent's egress policy: undici's connector is wrapped so that every new
 * connection, the first request's and each redirect's to another origin alike, is decided by
 * the policy after the host is resolved, and connects only to the addresses that were checked.
 * A refusal fails the request with an `EgressRefusedError` as its cause; nothing is connected.
 */
export class EgressFetch {
  private readonly agent: Agent;

  constructor(egress: EgressPolicy) {
    this.agent = new Agent({
      connect: (options, callback) => {
        const port = Number(options.port) || (options.protocol === 'https:' ? 443 : 80);
        egress.check(options.hostname, port).then(
          (decision) => {
            if (!decision.allowed) {
              callback(new EgressRefusedError(decision.reason), null);
              return;
            }
            // The socket resolves the host through the checked addresses only (each tried in
            // turn, IPv6 and IPv4); the host name stays the TLS server name.
            buildConnector({ lookup: pinnedLookup(decision.addresses) })(options, callback);
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
