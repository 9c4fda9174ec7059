import type { Bus } from '@drover/messaging';
import type { ReadinessCheck } from '@drover/platform';
import { BusClients, type GatewayConfig } from '../infrastructure/bus-clients';

/**
 * The gateway's `/ready` on the ops port: the bus answers, and through it the read side and its
 * store (a `health` query). On the ops port, so a flood of public requests cannot reach it.
 */
export function gatewayReadiness(bus: Bus, config: GatewayConfig): Record<string, ReadinessCheck> {
  const clients = new BusClients(bus, config);
  return {
    bus: () => clients.ping(),
    store: async () => {
      try {
        await clients.ask({ query: 'health' });
      } catch (error) {
        // The ops server logs why a check failed: the broker's own words, not the API's generic ones.
        throw (error as Error).cause instanceof Error ? (error as Error).cause : error;
      }
    },
  };
}
