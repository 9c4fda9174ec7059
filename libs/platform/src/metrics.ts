import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Every Drover metric, on one registry per process. Dashboards and alert rules use these
 * names only; a service that does not own a metric simply leaves it at zero.
 */
export class DroverMetrics {
  readonly registry = new Registry();

  /** Commands and reports the engine processed, by type and outcome (accepted, duplicate, noop, rejected). */
  readonly commands = new Counter({
    name: 'drover_commands_total',
    help: 'Messages processed by the engine, by type and outcome',
    labelNames: ['type', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly commandSeconds = new Histogram({
    name: 'drover_command_duration_seconds',
    help: 'Engine processing time per message: lock, load, decide, append, relay',
    labelNames: ['type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  readonly deliveries = new Counter({
    name: 'drover_bus_deliveries_total',
    help: 'Deliveries handled by this process, by queue and outcome (ack, retry, dead-letter)',
    labelNames: ['queue', 'outcome'] as const,
    registers: [this.registry],
  });

  readonly sessionsActive = new Gauge({
    name: 'drover_sessions_active',
    help: 'Sessions hosted by a session agent',
    labelNames: ['instance'] as const,
    registers: [this.registry],
  });

  readonly sessionCapacity = new Gauge({
    name: 'drover_session_capacity',
    help: 'Session slots of a session agent',
    labelNames: ['instance'] as const,
    registers: [this.registry],
  });

  /** A session agent whose heartbeat lease lapsed aborted its sessions (docs/design.md, "Self-fencing"). */
  readonly sessionSelfFenced = new Counter({
    name: 'drover_session_self_fenced_total',
    help: 'Times a session agent fenced itself: its heartbeat lease lapsed and it aborted every session it hosted',
    labelNames: ['instance'] as const,
    registers: [this.registry],
  });

  readonly sessionAgentFenced = new Gauge({
    name: 'drover_session_agent_fenced',
    help: '1 while a session agent holds no confirmed heartbeat lease (it takes no work and runs no session)',
    labelNames: ['instance'] as const,
    registers: [this.registry],
  });

  readonly browserRebuilds = new Counter({
    name: 'drover_browser_recycles_total',
    help: 'Browser sessions moved to a new browser, by reason (recycle, crash)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  readonly schedulerLeader = new Gauge({
    name: 'drover_scheduler_leader',
    help: '1 while this scheduler replica holds the leader lease',
    registers: [this.registry],
  });

  readonly agents = new Gauge({
    name: 'drover_agents',
    help: 'Agents by status, as the scheduler leader last saw the read side',
    labelNames: ['status'] as const,
    registers: [this.registry],
  });

  readonly queueMessages = new Gauge({
    name: 'drover_queue_messages',
    help: 'Messages waiting or in flight in a queue (dead-letter queues end in .dead)',
    labelNames: ['queue'] as const,
    registers: [this.registry],
  });

  constructor(service: string) {
    this.registry.setDefaultLabels({ service });
    collectDefaultMetrics({ register: this.registry, prefix: 'drover_process_' });
  }
}
