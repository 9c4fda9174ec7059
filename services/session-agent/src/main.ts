import 'reflect-metadata';
import { DroverMetrics, InstrumentedBus, openBus, openSecretBox, runService, startOpsServer } from '@drover/platform';
import { systemClock } from '@drover/runtime';
import { createSessionAgent } from './session-agent';

/** `npm run start:session-agent`: hosts up to MAX_CONCURRENT_AGENTS sessions; scale by replicas. */
runService('session-agent', async (config, logger) => {
  const { env } = config;
  const secrets = openSecretBox(env);
  const metrics = new DroverMetrics('session-agent');
  const bus = new InstrumentedBus(await openBus(env, logger, { shared: true, service: 'session-agent' }), metrics);
  const agent = await createSessionAgent({ config, bus, clock: systemClock, logger, metrics, secrets });
  await agent.host.start();
  const ops = await startOpsServer({
    port: env.OPS_PORT,
    host: env.OPS_HOST,
    checks: { bus: () => bus.ping() },
    metrics,
    logger,
  });
  return {
    async stop() {
      await agent.shutdown();
      await ops.close();
      await bus.close();
    },
  };
});
