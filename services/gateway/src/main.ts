import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { DroverMetrics, openBus, openRedis, openSecretBox, runService, ScreenshotStore } from '@drover/platform';
import { createGatewayApp } from './gateway.module';
import { securityFromEnv } from './security/security.middleware';

/** `npm run start:gateway`: the REST API on PORT; stateless, run any number behind a balancer. */
runService('gateway', async ({ env, profile }, logger) => {
  const secrets = openSecretBox(env);
  const metrics = new DroverMetrics('gateway');
  const bus = await openBus(env, logger, { shared: true });
  const redis = openRedis(env, logger);
  const app = await createGatewayApp({
    bus,
    logger,
    config: { commandTimeoutMs: profile.gateway.commandTimeoutMs, queryTimeoutMs: profile.gateway.queryTimeoutMs },
    metrics,
    screenshots: new ScreenshotStore(resolve(env.PERSISTENT_DATA_PATH), env.SCREENSHOT_LIMIT),
    security: securityFromEnv(env, redis),
    secrets,
  });
  await app.listen(env.PORT, env.HOST);
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  logger.info({ url: `http://${env.HOST === '0.0.0.0' ? '127.0.0.1' : env.HOST}:${port}` }, 'gateway listening');
  return {
    async stop() {
      await app.close();
      await bus.close();
      redis?.disconnect();
    },
  };
});
