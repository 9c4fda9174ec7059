import 'reflect-metadata';
import { DroverMetrics, InstrumentedBus, openBus, openStore, runService, startOpsServer } from '@drover/platform';
import { systemClock } from '@drover/runtime';
import { PersistenceAgent } from './persistence-agent';

/** `npm run start:persistence-agent`: the read side's writer; replicas compete for its queues. */
runService('persistence-agent', async ({ env, profile }, logger) => {
  const metrics = new DroverMetrics('persistence-agent');
  const bus = new InstrumentedBus(await openBus(env, logger, { shared: true, service: 'persistence-agent' }), metrics);
  const store = await openStore(env);
  const agent = new PersistenceAgent(
    { bus, store, clock: systemClock, logger },
    {
      retention: profile.retention,
      keepDeadLetters: env.DROVER_DEAD_LETTER_KEEPER,
    },
  );
  await agent.start();
  const checks = { bus: () => bus.ping(), store: () => store.ping() };
  const ops = await startOpsServer({ port: env.OPS_PORT, host: env.OPS_HOST, checks, metrics, logger });
  return {
    async stop() {
      await agent.stop();
      await ops.close();
      await bus.close();
      await store.close();
    },
  };
});
