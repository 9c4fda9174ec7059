import 'reflect-metadata';
import { DroverMetrics, InstrumentedBus, openBus, openStore, runService, startOpsServer } from '@drover/platform';
import { systemClock } from '@drover/runtime';
import { Scheduler } from './scheduler';

/** `npm run start:scheduler`: run two for availability; only the lease holder acts. */
runService('scheduler', async ({ env, profile }, logger) => {
  const metrics = new DroverMetrics('scheduler');
  const bus = new InstrumentedBus(await openBus(env, logger, { shared: true, service: 'scheduler' }), metrics);
  const store = await openStore(env);
  const scheduler = new Scheduler(
    { bus, store, clock: systemClock, logger, metrics },
    {
      tickMs: profile.scheduler.tickMs,
      startTimeoutMs: profile.scheduler.startTimeoutMs,
      rotation: profile.scheduler.rotation,
      sessionHeartbeatMs: profile.sessionAgent.heartbeatMs,
    },
  );
  scheduler.start();
  const checks = { bus: () => bus.ping(), store: () => store.ping() };
  const ops = await startOpsServer({ port: env.OPS_PORT, host: env.OPS_HOST, checks, metrics, logger });
  return {
    async stop() {
      await scheduler.stop();
      await ops.close();
      await bus.close();
      await store.close();
    },
  };
});
