import { LocalProxy, type EgressRefusal, type ProxyFailure } from '@drover/browser/proxy';
import type { EgressPolicy } from '@drover/runtime';
import { fetch as undiciFetch, ProxyAgent } from 'undici';

export type FetchLike = (url: string, init: { signal: AbortSignal; redirect: 'follow' }) => Promise<Response>;

/**
 * Plain HTTP through an agent's upstream proxy (http, https or socks), as its browser traffic
 * goes: a local proxy-chain endpoint on 127.0.0.1 holds the credentials, enforces the agent's
 * egress policy on every request (redirects included) and chains to the upstream; undici's
 * `ProxyAgent` sends every request through that endpoint.
 */
export class ProxiedFetch {
  private constructor(
    private readonly endpoint: LocalProxy,
    private readonly agent: ProxyAgent,
  ) {}

  static async open(
    upstream: string,
    egress: EgressPolicy,
    callbacks: { onFailure: (failure: ProxyFailure) => void; onRefused: (refusal: EgressRefusal) => void },
  ): Promise<ProxiedFetch> {
    const endpoint = await LocalProxy.start(upstream, { egress, ...callbacks });
    return new ProxiedFetch(endpoint, new ProxyAgent(endpoint.url));
  }

  readonly fetch: FetchLike = (url, init) => undiciFetch(url, { ...init, dispatcher: this.agent });

  async close(): Promise<void> {
    await this.agent.close().catch(() => undefined);
    await this.endpoint.close();
  }
}
