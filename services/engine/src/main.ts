import 'reflect-metadata';
import {
  DroverMetrics,
  InstrumentedBus,
  openBus,
  openSecretBox,
  openStore,
  runService,
  startOpsServer,
} from '@drover/platform';
import { systemClock } from '@drover/runtime';
import { Engine } from './engine';

/** `npm run start:engine`: one engine replica; run as many as the command rate needs. */
runService('engine', async ({ env, profile }, logger) => {
  const secrets = openSecretBox(env);
  const metrics = new DroverMetrics('engine');
  const bus = new InstrumentedBus(await openBus(env, logger, { shared: true, service: 'engine' }), metrics);
  const store = await openStore(env);
  const engine = new Engine(
    { bus, store, clock: systemClock, logger, secrets },
    { policy: profile.recovery, leaseMs: profile.engine.leaseMs, prefetch: env.PREFETCH, metrics },
  );
  await engine.start();
  const checks = { bus: () => bus.ping(), store: () => store.ping() };
  const ops = await startOpsServer({ port: env.OPS_PORT, host: env.OPS_HOST, checks, metrics, logger });
  return {
    async stop() {
      await engine.stop();
      await ops.close();
      await bus.close();
      await store.close();
    },
  };
});
