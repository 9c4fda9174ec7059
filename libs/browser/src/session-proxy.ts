import type { Logger } from '@drover/runtime';
import { LocalProxy, type ProxyFailure } from './local-proxy';

/**
 * The agent's local proxy endpoint in front of its upstream proxy (none without one): Chromium only ever sees
 * the endpoint. Upstream failures are logged and handed to `onProxyError`, never with the credentials.
 */
export async function openProxyEndpoint(
  agentId: string,
  upstream: string | undefined,
  logger: Logger,
  onProxyError: ((agentId: string, failure: ProxyFailure) => void) | undefined,
): Promise<LocalProxy | undefined> {
  if (!upstream) return undefined;
  return LocalProxy.start(upstream, (failure) => {
    logger.warn({ agentId, errorClass: failure.errorClass, reason: failure.message }, 'upstream proxy failure');
    try {
      onProxyError?.(agentId, failure);
    } catch (error) {
      logger.error({ agentId, err: error }, 'onProxyError callback threw');
    }
  });
}
