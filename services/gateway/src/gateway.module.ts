import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express, { type NextFunction, type Request, type Response } from 'express';
import { BUS, type Bus } from '@drover/messaging';
import { ScreenshotStore } from '@drover/platform';
import { LOGGER, type Logger, type SecretBox } from '@drover/runtime';
import { AgentsController } from './agents/agents.controller';
import { accessLog } from './correlation/access-log';
import { requestContextMiddleware, requestIdMiddleware } from './correlation/request-id';
import { CommandsController } from './commands/commands.controller';
import { DeadLettersController } from './dead-letters/dead-letters.controller';
import { FleetController } from './fleet/fleet.controller';
import { HealthController } from './health/health.controller';
import { DEFAULT_FEED_SETTINGS, EventsController, FEED_SETTINGS, type FeedSettings } from './events/events.controller';
import { FeedHub } from './events/feed-hub';
import { DocsController } from './openapi/docs.controller';
import { ScreenshotsController } from './screenshots/screenshots.controller';
import { ApiErrorFilter } from './infrastructure/api-error.filter';
import { BusClients, type GatewayConfig } from './infrastructure/bus-clients';
import { securityMiddleware, type GatewaySecurity } from './security/security.middleware';

export type { GatewaySecurity } from './security/security.middleware';

export interface GatewayDeps {
  bus: Bus;
  logger: Logger;
  config: GatewayConfig;
  /**
   * API keys and rate limits (see `GatewaySecurity`). Omitted: no authentication and no rate
   * limit. Given without `rateLimit`: 100 requests per second per client.
   * Given with `redis`: the budgets are shared by every replica on that Redis.
   */
  security?: GatewaySecurity;
  /** Where session agents keep screenshots (a volume shared with them). */
  screenshots?: ScreenshotStore;
  /**
   * Seals the secrets of every start before it leaves the gateway. Omitted (tests): starts leave
   * in clear and the engine seals them.
   */
  secrets?: SecretBox;
  /** The live stream's keep-alive interval and per-client bound (`DEFAULT_FEED_SETTINGS` for what is not given). */
  feed?: Partial<FeedSettings>;
}

/** The REST shim: validates HTTP calls and turns them into bus requests. No store access. */
@Module({})
export class GatewayModule {
  static forRoot({ bus, logger, config, screenshots, secrets, feed }: GatewayDeps): DynamicModule {
    const clients = new BusClients(bus, config, secrets);
    return {
      module: GatewayModule,
      controllers: [
        AgentsController,
        CommandsController,
        EventsController,
        HealthController,
        ScreenshotsController,
        DocsController,
        DeadLettersController,
        FleetController,
      ],
      providers: [
        { provide: BUS, useValue: bus },
        { provide: BusClients, useValue: clients },
        { provide: FeedHub, useValue: new FeedHub(bus, clients, logger.child({ component: 'live-feed' })) },
        { provide: FEED_SETTINGS, useValue: { ...DEFAULT_FEED_SETTINGS, ...feed } },
        { provide: LOGGER, useValue: logger },
        { provide: ScreenshotStore, useValue: screenshots ?? new ScreenshotStore('./.drover/data', 50) },
      ],
    };
  }
}

/** Builds the Nest application (not yet listening). */
export async function createGatewayApp(deps: GatewayDeps): Promise<INestApplication> {
  // Built first so a bad configuration throws before anything is created.
  const security = deps.security ? securityMiddleware(deps.security, deps.logger) : undefined;
  const app = await NestFactory.create(GatewayModule.forRoot(deps), { logger: false, bodyParser: false });
  (app.getHttpAdapter().getInstance() as express.Express).disable('x-powered-by');
  // First, so every answer carries it: JSON, errors, 404s, unreadable bodies, screenshots.
  app.use(noSniff);
  // Before anything answers, so every answer (a 401, a 429, a 404) carries the request's id.
  app.use(requestIdMiddleware);
  app.use(accessLog(deps.logger));
  // Before the body parser: rejected callers cost no parsing.
  if (security) app.use(security);
  app.use(express.json({ limit: MAX_BODY_BYTES }));
  // Body-parser errors (malformed JSON, too large) happen before Nest's filters see the request.
  app.use(bodyErrors);
  app.use(requestContextMiddleware);
  app.useGlobalFilters(new ApiErrorFilter(deps.logger));
  app.enableShutdownHooks();
  return app;
}

/** The largest request body the API reads (256 KiB); a larger one is a `413 payload_too_large`. */
export const MAX_BODY_BYTES = 256 * 1024;

/** Browsers must not guess a type other than the one we send (a screenshot as HTML, say). */
export function noSniff(_req: Request, res: Response, next: NextFunction): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  next();
}

function bodyErrors(
  error: Error & { status?: number; type?: string },
  _req: Request,
  res: Response,
  next: NextFunction,
) {
  if (!error) return next();
  if (error.status === 413) {
    return void res.status(413).json({
      error: { code: 'payload_too_large', message: `the request body exceeds ${MAX_BODY_BYTES / 1024} KiB` },
    });
  }
  const status = error.status && error.status >= 400 && error.status < 500 ? error.status : 400;
  // body-parser's messages describe the body (a token, a charset), never the server.
  res.status(status).json({ error: { code: 'invalid_request', message: `unreadable JSON body: ${error.message}` } });
}
