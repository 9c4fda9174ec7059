import { isNativeError } from 'node:util/types';
import { EgressRefusedError } from '@drover/runtime';
import type { Behavior, BehaviorContext } from '../behavior.port';
import { EgressFetch } from '../http/egress-fetch';
import { ProxiedFetch, type FetchLike } from '../http/proxied-fetch';
import { HttpMonitorConfig } from './http-monitor.schema';
import { BEHAVIOR_CATALOG } from '../behavior-schemas';

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * `http-monitor`: one GET per tick, one `http.check` activity per GET. With an agent `proxy`,
 * every GET goes through it (a local endpoint holds the credentials), and a failing upstream
 * proxy is also recorded as a `proxy.error` activity, as for browser agents. Every connection,
 * redirects included, is checked against the agent's egress policy first: a refused check is
 * not ok with `message: "egress refused: <reason>"`, and nothing was sent.
 */
export const httpMonitor: Behavior<HttpMonitorConfig> = {
  name: 'http-monitor',
  description: BEHAVIOR_CATALOG['http-monitor']!.description,
  configSchema: HttpMonitorConfig,
  requires: BEHAVIOR_CATALOG['http-monitor']!.requires,
  async run(context) {
    const refusals: string[] = [];
    const client = context.proxy
      ? await ProxiedFetch.open(context.proxy, context.egress, {
          onFailure: (failure) => {
            const activity = { kind: 'proxy.error', ok: false, message: failure.message };
            context.report({ ...activity, details: { errorClass: failure.errorClass } }).catch(() => undefined);
          },
          // The local endpoint answered 403: the check's own error then names the reason.
          onRefused: (refusal) => refusals.push(refusal.reason),
        })
      : new EgressFetch(context.egress);
    try {
      while (!context.signal.aborted) {
        refusals.length = 0;
        await check(context, client.fetch, refusals);
        if (!(await context.sleep(context.config.intervalMs))) return;
      }
    } finally {
      await client.close();
    }
  },
};

async function check(
  { config, signal, report }: BehaviorContext<HttpMonitorConfig>,
  get: FetchLike,
  refusals: readonly string[],
): Promise<void> {
  const timeoutMs = config.timeoutMs ?? Math.min(DEFAULT_TIMEOUT_MS, Math.max(config.intervalMs, 1_000));
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  try {
    const response = await get(config.url, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
      redirect: 'follow',
    });
    await response.body?.cancel();
    const ok = config.expectStatus ? response.status === config.expectStatus : response.status < 400;
    await report({ kind: 'http.check', ok, details: { status: response.status, ms: elapsed() } });
  } catch (error) {
    if (signal.aborted) return;
    const reason =
      refusals.length > 0
        ? new EgressRefusedError(refusals[0]!).message
        : isNativeError(error) && error.name === 'TimeoutError'
          ? `timed out after ${timeoutMs} ms`
          : describe(error);
    await report({ kind: 'http.check', ok: false, message: reason, details: { status: null, ms: elapsed() } });
  }
}

/**
 * fetch wraps network errors; the cause names what actually failed (ECONNREFUSED...). Errors
 * from Node's own sockets may come from another realm (a vm context), hence no `instanceof`.
 */
function describe(error: unknown): string {
  if (!isNativeError(error)) return String(error);
  const cause = error.cause as { code?: string; message?: string; name?: string } | undefined;
  if (cause?.name === 'EgressRefusedError' && cause.message) return cause.message;
  return cause?.code ? `${error.message}: ${cause.code}` : (cause?.message ?? error.message);
}
