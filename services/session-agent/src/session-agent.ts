import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { BehaviorRegistry, builtInBehaviors } from '@drover/behaviors';
import type { Bus } from '@drover/messaging';
import type { DroverMetrics } from '@drover/platform';
import type { Clock, DroverConfig, Logger, SecretBox } from '@drover/runtime';
import { startBrowserStack } from './browser/browser-stack';
import { profileEgress } from './egress/agent-egress';
import { SessionHost } from './session-host';

export interface SessionAgent {
  instanceId: string;
  host: SessionHost;
  /** Hands the sessions off (goodbye heartbeat) instead of stopping them, then closes the browser. */
  shutdown(): Promise<void>;
}

/**
 * A session agent as the separate service and the standalone process both run it: the browser
 * stack (when Chromium is installed) and the session host, wired to each other. Not started:
 * `host.start()` begins consuming when the caller is ready.
 */
export async function createSessionAgent(deps: {
  config: DroverConfig;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  metrics: DroverMetrics;
  /** Opens the sealed secrets of the sessions it runs, and seals their cookies. */
  secrets: SecretBox;
}): Promise<SessionAgent> {
  const { config, bus, clock, logger, metrics, secrets } = deps;
  const { env, profile } = config;
  // A fresh id per boot unless configured: a restarted process's old sessions are then
  // recognised as lost by their lease.
  const instanceId = env.SESSION_AGENT_ID ?? `${hostname()}-${randomUUID().slice(0, 8)}`;
  // The browser reports rebuilds through the host, which needs the browser: bound once both exist.
  const late: { host?: SessionHost } = {};
  const browser = await startBrowserStack({
    env,
    bus,
    logger,
    note: (agentId, activity) => late.host?.noteActivity(agentId, activity),
    metrics,
    secrets,
  });
  const host = new SessionHost({
    bus,
    clock,
    logger,
    registry: new BehaviorRegistry(builtInBehaviors()),
    instanceId,
    maxConcurrentAgents: profile.sessionAgent.maxConcurrentAgents,
    heartbeatMs: profile.sessionAgent.heartbeatMs,
    leaseMs: profile.sessionAgent.leaseMs,
    metrics,
    ...(browser.lender ? { browsers: browser.lender } : {}),
    ...(browser.unavailable ? { browserUnavailable: browser.unavailable } : {}),
    egress: profileEgress(profile, logger),
    storage: browser.storage,
    secrets,
  });
  late.host = host;
  return {
    instanceId,
    host,
    async shutdown() {
      await host.shutdown();
      await browser.shutdown();
    },
  };
}
