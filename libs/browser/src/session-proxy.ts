import type { EgressPolicy, Logger } from '@drover/runtime';
import { LocalProxy, type EgressRefusal, type ProxyFailure } from './local-proxy';

/**
 * The agent's local proxy endpoint: Chromium only ever sees it. It enforces the agent's egress
 * policy on every request (redirects and subresources included) and chains to the agent's
 * upstream proxy when it has one. Upstream failures and refusals are logged and handed to the
 * callbacks, never with the credentials.
 */
export async function openProxyEndpoint(
  agentId: string,
  upstream: string | undefined,
  egress: EgressPolicy,
  logger: Logger,
  callbacks: {
    onProxyError?: (agentId: string, failure: ProxyFailure) => void;
    onEgressRefused?: (agentId: string, refusal: EgressRefusal) => void;
  },
): Promise<LocalProxy> {
  const guarded =
    <T>(name: string, callback: ((agentId: string, value: T) => void) | undefined) =>
    (value: T) => {
      try {
        callback?.(agentId, value);
      } catch (error) {
        logger.error({ agentId, err: error }, `${name} callback threw`);
      }
    };
  const onProxyError = guarded('onProxyError', callbacks.onProxyError);
  const onEgressRefused = guarded('onEgressRefused', callbacks.onEgressRefused);
  return LocalProxy.start(upstream, {
    egress,
    onFailure: (failure) => {
      logger.warn({ agentId, errorClass: failure.errorClass, reason: failure.message }, 'upstream proxy failure');
      onProxyError(failure);
    },
    onRefused: (refusal) => {
      logger.info({ agentId, target: refusal.target, reason: refusal.reason }, 'egress refused');
      onEgressRefused(refusal);
    },
  });
}
