import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import {
  DroverMetrics,
  openBus,
  openRedis,
  openSecretBox,
  runService,
  ScreenshotStore,
  startOpsServer,
} from '@drover/platform';
import { createGatewayApp } from './gateway.module';
import { gatewayReadiness } from './health/gateway-readiness';
import { apiBind, localUrl } from './security/api-bind';
import { securityFromEnv } from './security/security.middleware';

/**
 * `npm run start:gateway`: the REST API on HOST:PORT (stateless, run any number behind a
 * balancer) and `/live` `/ready` `/metrics` on OPS_HOST:OPS_PORT, which is never published.
 */
runService('gateway', async ({ env, profile }, logger) => {
  const bind = apiBind(env); // before connecting anything: a refused bind exits 2 at once
  const secrets = openSecretBox(env);
  const metrics = new DroverMetrics('gateway');
  const bus = await openBus(env, logger, { shared: true, service: 'gateway' });
  const redis = openRedis(env, logger);
  const config = { commandTimeoutMs: profile.gateway.commandTimeoutMs, queryTimeoutMs: profile.gateway.queryTimeoutMs };
  const app = await createGatewayApp({
    bus,
    logger,
    config,
    screenshots: new ScreenshotStore(resolve(env.PERSISTENT_DATA_PATH), env.SCREENSHOT_LIMIT),
    security: securityFromEnv(env, redis),
    secrets,
    feed: { keepAliveMs: env.SSE_KEEPALIVE_MS },
  });
  await app.listen(env.PORT, bind.host);
  const { port } = (app.getHttpServer() as Server).address() as AddressInfo;
  if (bind.warning) logger.warn({ host: bind.host }, bind.warning);
  logger.info({ url: localUrl(bind.host, port) }, 'gateway listening');
  const ops = await startOpsServer({
    port: env.OPS_PORT,
    host: env.OPS_HOST,
    checks: gatewayReadiness(bus, config),
    metrics,
    logger,
  });
  return {
    async stop() {
      await app.close();
      await ops.close();
      await bus.close();
      redis?.disconnect();
    },
  };
});
