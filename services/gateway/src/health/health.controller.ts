import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiError } from '../infrastructure/api-error';
import { BusClients } from '../infrastructure/bus-clients';

/** Liveness (the process answers) and readiness (the bus and, through it, the store answer). */
@Controller()
export class HealthController {
  constructor(@Inject(BusClients) private readonly clients: BusClients) {}

  @Get('live')
  live() {
    return { status: 'ok' };
  }

  @Get('ready')
  ready() {
    return this.checks();
  }

  /** The old name of `/ready`, kept for existing probes. */
  @Get('health')
  @Header('Deprecation', 'true')
  @Header('Link', '</ready>; rel="successor-version"')
  health() {
    return this.checks();
  }

  private async checks() {
    try {
      await this.clients.ping();
    } catch (error) {
      throw new ApiError(503, 'not_ready', 'not ready: the bus is not reachable', { bus: 'down' }, error);
    }
    try {
      await this.clients.ask({ query: 'health' });
    } catch (error) {
      throw new ApiError(503, 'not_ready', 'not ready: the store does not answer', { bus: 'ok', store: 'down' }, error);
    }
    return { status: 'ok', checks: { bus: 'ok', store: 'ok' } };
  }
}
