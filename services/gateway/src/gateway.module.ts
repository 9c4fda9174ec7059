import { Module, type DynamicModule, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Bus } from '@drover/messaging';
import type { Logger } from '@drover/runtime';
import { AgentsController } from './agents/agents.controller';
import { CommandsController } from './commands/commands.controller';
import { HealthController } from './health/health.controller';
import { ApiErrorFilter } from './infrastructure/api-error.filter';
import { BusClients, type GatewayConfig } from './infrastructure/bus-clients';

export interface GatewayDeps {
  bus: Bus;
  logger: Logger;
  config: GatewayConfig;
}

/** The REST shim: validates HTTP calls and turns them into bus requests. No store access. */
@Module({})
export class GatewayModule {
  static forRoot({ bus, config }: GatewayDeps): DynamicModule {
    return {
      module: GatewayModule,
      controllers: [AgentsController, CommandsController, HealthController],
      providers: [{ provide: BusClients, useValue: new BusClients(bus, config) }],
    };
  }
}

/** Builds the Nest application (not yet listening). */
export async function createGatewayApp(deps: GatewayDeps): Promise<INestApplication> {
  const app = await NestFactory.create(GatewayModule.forRoot(deps), { logger: false, bodyParser: false });
  (app.getHttpAdapter().getInstance() as express.Express).disable('x-powered-by');
  app.use(express.json({ limit: '256kb' }));
  // Body-parser errors (malformed JSON, too large) happen before Nest's filters see the request.
  app.use((error: Error & { status?: number }, _req: Request, res: Response, next: NextFunction) => {
    if (!error) return next();
    const status = error.status && error.status < 500 ? error.status : 400;
    res.status(status).json({ error: { code: 'invalid_request', message: `unreadable JSON body: ${error.message}` } });
  });
  app.useGlobalFilters(new ApiErrorFilter(deps.logger));
  app.enableShutdownHooks();
  return app;
}
