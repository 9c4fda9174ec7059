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
  /** Session agents' heartbeats, apart from their activities: a flood of activities never delays a heartbeat. */
  persistenceHeartbeats: 'persistence.heartbeats',
  persistenceCommands: 'persistence.commands',
  persistenceTasks: 'persistence.tasks',
  /** The one dead-letter queue of every session agent's own queue (see `sessionAgentQueue`). */
  sessionAgentsDead: 'session-agents.dead',
} as const;

/** Header naming the session agent whose own queue a dead letter comes from. */
export const INSTANCE_HEADER = 'x-drover-instance';

/** Prefix of every session agent's own queue; the shared dead-letter queue's pattern depends on it. */
const SESSION_AGENT_QUEUE_PREFIX = 'session-agent';

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
      bindings: [{ exchange: Exchanges.reports, pattern: 'session.activity' }],
      deliveryLimit: DEFAULT_DELIVERY_LIMIT,
    },
    {
      // Heartbeats have a queue of their own: behind thousands of activities on a slow store they
      // would reach the read side late, and the scheduler would expire live session agents.
      name: Queues.persistenceHeartbeats,
      bindings: [{ exchange: Exchanges.reports, pattern: RoutingKeys.heartbeat }],
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
  sharedDeadLetterQueues: [
    // `#`: an instance id may hold dots (a host name).
    { name: Queues.sessionAgentsDead, pattern: `${SESSION_AGENT_QUEUE_PREFIX}.#` },
  ],
};

/**
 * How long a session agent's own queue outlives its last consumer: two heartbeat leases. A live instance that
 * lost its connection resubscribes well within that (and the RabbitMQ bus declares the queue again when it
 * reconnects); one lease after an instance fell silent the scheduler hands its agents to others, so what was
 * still addressed to it no longer matters, and the broker drops the queue a lease later.
 */
export function sessionAgentQueueExpiresMs(leaseMs: number): number {
  return 2 * leaseMs;
}

/**
 * The private dispatch queue of one session-agent instance (routing key = instance id). It lives as long as the
 * instance: removed on a clean stop, and by the broker `expiresMs` after a killed instance's last consumer went.
 * Its dead letters go to the shared `session-agents.dead` with the instance in `x-drover-instance`, so no
 * per-instance dead-letter queue exists to outlive it.
 */
export function sessionAgentQueue(instanceId: string, expiresMs: number): QueueSpec {
  return {
    name: `${SESSION_AGENT_QUEUE_PREFIX}.${instanceId}`,
    bindings: [{ exchange: Exchanges.dispatch, pattern: instanceId }],
    deliveryLimit: DEFAULT_DELIVERY_LIMIT,
    expiresMs,
    sharedDeadLetter: { queue: Queues.sessionAgentsDead, headers: { [INSTANCE_HEADER]: instanceId } },
  };
}
