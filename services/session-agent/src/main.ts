import 'reflect-metadata';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import { BehaviorRegistry, builtInBehaviors } from '@drover/behaviors';
import { DroverMetrics, InstrumentedBus, openBus, runService, startOpsServer } from '@drover/platform';
import { systemClock } from '@drover/runtime';
import { startBrowserStack } from './browser/browser-stack';
import { SessionHost } from './session-host';

/** `npm run start:session-agent`: hosts up to MAX_CONCURRENT_AGENTS sessions; scale by replicas. */
runService('session-agent', async ({ env, profile }, logger) => {
  const metrics = new DroverMetrics('session-agent');
  const bus = new InstrumentedBus(await openBus(env, logger, { shared: true }), metrics);
  // The browser reports rebuilds through the host, which needs the browser: bound once both exist.
  const late: { host?: SessionHost } = {};
  const browser = await startBrowserStack({
    env,
    bus,
    logger,
    note: (agentId, a) => late.host?.noteActivity(agentId, a),
    metrics,
  });
  const host = new SessionHost({
    bus,
    clock: systemClock,
    logger,
    registry: new BehaviorRegistry(builtInBehaviors()),
    instanceId: env.SESSION_AGENT_ID ?? `${hostname()}-${randomUUID().slice(0, 8)}`,
    maxConcurrentAgents: profile.sessionAgent.maxConcurrentAgents,
    heartbeatMs: profile.sessionAgent.heartbeatMs,
    leaseMs: profile.sessionAgent.leaseMs,
    metrics,
    ...(browser.lender ? { browsers: browser.lender } : {}),
    storage: browser.storage,
  });
  late.host = host;
  await host.start();
  const ops = await startOpsServer({
    port: env.PORT,
    host: env.HOST,
    checks: { bus: () => bus.ping() },
    metrics,
    logger,
  });
  return {
    async stop() {
      // Hands the sessions off (goodbye heartbeat) instead of stopping them.
      await host.shutdown();
      await browser.shutdown();
      await ops.close();
      await bus.close();
    },
  };
});
