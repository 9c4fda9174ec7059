import { Controller, Get, Inject } from '@nestjs/common';
import { type FleetReadSide, type FleetView } from '@drover/contracts';
import { BUS, DROVER_TOPOLOGY, type Bus } from '@drover/messaging';
import { BusClients } from '../infrastructure/bus-clients';
import { fleetQueues } from './fleet-queues';

/**
 * `GET /api/fleet`: the fleet's load at a glance (docs/dead-letters-and-load.md). Status counts,
 * session agents and dead letters come from the read side; queue depths from the bus, for the
 * queues the gateway's broker user may inspect (the others are left out and `queuesNote` says so).
 */
@Controller('api/fleet')
export class FleetController {
  private readonly queues = fleetQueues(DROVER_TOPOLOGY);

  constructor(
    @Inject(BusClients) private readonly clients: BusClients,
    @Inject(BUS) private readonly bus: Bus,
  ) {}

  @Get()
  async summary(): Promise<FleetView> {
    const readSide = await this.clients.ask<FleetReadSide>({ query: 'fleet.summary' });
    const stats = await Promise.all(
      this.queues.map(async (name) => {
        try {
          return { name, ...(await this.bus.queueStats(name)) };
        } catch {
          return undefined;
        }
      }),
    );
    const queues = stats.filter((stat) => stat !== undefined);
    const missing = this.queues.filter((name) => !queues.some((stat) => stat.name === name));
    return {
      ...readSide,
      queues,
      ...(missing.length
        ? { queuesNote: `not readable by the gateway's broker user (or not declared): ${missing.join(', ')}` }
        : {}),
    };
  }
}
