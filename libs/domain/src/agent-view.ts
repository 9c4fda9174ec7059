import { redactConfig, redactProxyUrl, type AgentView } from '@drover/contracts';
import type { AgentState } from './agent.state';

/**
 * The read model of an agent: its state without the sealed secrets, and with anything secret
 * left in clear (a start from before secrets were sealed) masked.
 */
export function agentView(state: AgentState): AgentView {
  const { config, proxy, secrets: _sealed, startedPaused: _dispatch, ...rest } = state;
  return {
    ...rest,
    ...(config ? { config: redactConfig(config) as Record<string, unknown> } : {}),
    ...(proxy ? { proxy: redactProxyUrl(proxy) } : {}),
  };
}

/** Optional view fields: a rebuilt view that lacks one must clear the stored value. */
export const OPTIONAL_VIEW_FIELDS = [
  'behavior',
  'config',
  'proxy',
  'schedule',
  'egress',
  'labels',
  'paused',
  'restart',
  'instanceId',
  'startedAt',
  'stoppedAt',
  'queuedAt',
  'retryAt',
  'lastError',
  'requeue',
  'createdAt',
  'updatedAt',
] as const;
