import { redactConfig, redactProxyUrl, type AgentView } from '@drover/contracts';
import type { AgentState } from './agent.state';

/** The read model of an agent: its state with proxy passwords and secret config values masked. */
export function agentView(state: AgentState): AgentView {
  const { config, proxy, ...rest } = state;
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
