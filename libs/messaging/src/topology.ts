import { Exchanges, RoutingKeys } from '@drover/contracts';
import type { QueueSpec, Topology } from './bus.port';
import { DEFAULT_DELIVERY_LIMIT } from './delivery-policy';

/** Named queues; consumers subscribe by these names. */
export const Queues = {
  engineCommands: 'engine.commands',
  engineReports: 'engine.reports',
  pendingSessions: 'sessions.pending',
  persistenceEvents: 'persistence.events',
  persistenceReports: 'persistence.reports',
  persistenceCommands: 'persistence.commands',
  persistenceTasks: 'persistence.tasks',
} as const;

/** The whole static topology (docs/design.md, section 4), as data; every input has a delivery limit, so poison never loops. */
export const DROVER_TOPOLOGY: Topology = {
  exchanges: [
    { name: Exchanges.commands, type: 'topic' },
    { name: Exchanges.reports, type: 'topic' },
    { name: Exchanges.dispatch, type: 'direct' },
    { name: Exchanges.events, type: 'topic' },
    { name: Exchanges.persistence, type: 'direct' },
    { name: Exchanges.dead, type: 'topic' },
  ],
  queues: [
    {
      name: Queues.engineCommands,
      bindings: [{ exchange: Exchanges.commands, pattern: 'agent.*' }],
      deliveryLimit: DEFAULT_DELIVERY_LIMIT,
    },
    {
      name: Queues.engineReports,
      bindings: ['session.started', 'session.stopped', 'session.failed', 'session.deferred'].map((pattern) => ({
        exchange: Exchanges.reports,
        pattern,
      })),
      deliveryLimit: DEFAULT_DELIVERY_LIMIT,
    },
    {
      name: Queues.pendingSessions,
      bindings: [{ exchange: Exchanges.dispatch, pattern: RoutingKeys.pendingSessions }],
      deliveryLimit: DEFAULT_DELIVERY_LIMIT,
    },
    {
      name: Queues.persistenceEvents,
      bindings: [
        { exchange: Exchanges.events, pattern: 'agent.#' },
        { exchange: Exchanges.events, pattern: 'command.#' },
      ],
      deliveryLimit: DEFAULT_DELIVERY_LIMIT,
    },
    {
      name: Queues.persistenceReports,
      bindings: [
        { exchange: Exchanges.reports, pattern: 'session.activity' },
        { exchange: Exchanges.reports, pattern: RoutingKeys.heartbeat },
      ],
      deliveryLimit: DEFAULT_DELIVERY_LIMIT,
    },
    {
      name: Queues.persistenceCommands,
      bindings: [{ exchange: Exchanges.commands, pattern: 'agent.*' }],
      deliveryLimit: DEFAULT_DELIVERY_LIMIT,
    },
    {
      name: Queues.persistenceTasks,
      bindings: [
        { exchange: Exchanges.persistence, pattern: RoutingKeys.persistenceTask },
        { exchange: Exchanges.persistence, pattern: RoutingKeys.readQuery },
      ],
      deliveryLimit: DEFAULT_DELIVERY_LIMIT,
    },
  ],
};

/** The private dispatch queue of one session-agent instance (routing key = instance id). */
export function sessionAgentQueue(instanceId: string): QueueSpec {
  return {
    name: `session-agent.${instanceId}`,
    bindings: [{ exchange: Exchanges.dispatch, pattern: instanceId }],
    deliveryLimit: DEFAULT_DELIVERY_LIMIT,
  };
}
