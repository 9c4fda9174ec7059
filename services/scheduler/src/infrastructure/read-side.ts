import { Collections, type AgentStatus, type AgentView, type Filter, type SessionAgentRecord } from '@drover/contracts';
import type { Store } from '@drover/store';

/** A set of agents a rule reads; the rules take what concerns them and ignore the rest. */
export interface SchedulerSnapshot {
  agents: AgentView[];
  sessionAgents: SessionAgentRecord[];
}

/** Agents that hold a session on their `instanceId`. */
export const PLACED: readonly AgentStatus[] = ['running', 'paused', 'stopping'];

const eq = (field: string, value: string | boolean): Filter => ({ field, op: 'eq', value });
const and = (...filters: Filter[]): Filter => ({ and: filters });
/** Every string is `>=` the empty one: "has this string field", in a form an index can serve. */
const present = (field: string): Filter => ({ field, op: 'gte', value: '' });

/**
 * What the scheduler reads, read-only (the persistence agent owns these documents). Every query
 * asks for what may need a command now, through an index (`READ_SIDE_INDEXES`), so a tick costs
 * in proportion to the agents in motion, not to the fleet: an idle running agent is read only by
 * the placement sweep, once per `placementSweepMs`. Each query is a single index range on every
 * store (statuses are asked one by one rather than with `in`).
 */
export class SchedulerReadSide {
  constructor(private readonly store: Store) {}

  private get agents() {
    return this.store.documents.collection(Collections.agents);
  }

  /** Every session agent's record: one document per process, whatever it hosts. */
  async sessionAgents(): Promise<SessionAgentRecord[]> {
    return (await this.store.documents.collection(Collections.sessionAgents).find()) as unknown as SessionAgentRecord[];
  }

  /** Interrupted agents whose back-off has elapsed. */
  async dueRecoveries(now: Date): Promise<AgentView[]> {
    return this.read(and(eq('status', 'interrupted'), { field: 'retryAt', op: 'lte', value: now.toISOString() }));
  }

  /** Agents `starting` since before `before` (their last transition). */
  async startingSince(before: Date): Promise<AgentView[]> {
    return this.read(and(eq('status', 'starting'), { field: 'updatedAt', op: 'lt', value: before.toISOString() }));
  }

  async countByStatus(status: AgentStatus): Promise<number> {
    return this.agents.count(eq('status', status));
  }

  /** The `limit` agents that have waited longest in the queue. */
  async longestQueued(limit: number): Promise<AgentView[]> {
    if (limit <= 0) return [];
    return this.read(eq('status', 'queued'), { sort: [{ field: 'queuedAt', direction: 'asc' }], limit });
  }

  /** Agents stopping for a rotation (they queue again once stopped). */
  async countYielding(): Promise<number> {
    return this.agents.count(and(eq('status', 'stopping'), eq('requeue', true)));
  }

  /** The `limit` running agents that started longest ago, at or before `startedBy`. */
  async longestRunning(startedBy: Date, limit: number): Promise<AgentView[]> {
    if (limit <= 0) return [];
    return this.read(and(eq('status', 'running'), { field: 'startedAt', op: 'lte', value: startedBy.toISOString() }), {
      sort: [{ field: 'startedAt', direction: 'asc' }],
      limit,
    });
  }

  /** Agents holding a session on this session agent (only they carry an `instanceId`). */
  async placedOn(instanceId: string): Promise<AgentView[]> {
    const found = await this.read(eq('instanceId', instanceId));
    return found.filter((view) => PLACED.includes(view.status));
  }

  /** Every agent holding a session (the placement sweep). */
  async placed(): Promise<AgentView[]> {
    return (await Promise.all(PLACED.map((status) => this.read(eq('status', status))))).flat();
  }

  /** These agents' views, by id (those that exist). */
  async byIds(agentIds: Iterable<string>): Promise<AgentView[]> {
    const views = await Promise.all([...agentIds].map((id) => this.agents.get(id)));
    return views.filter((view) => view !== undefined) as unknown as AgentView[];
  }

  /**
   * Agents with a schedule: those with a start (which wakes them if they sleep) and those with a
   * stop (which stops them if awake). `runSchedules` looks at their status; asking the store
   * for each status instead would take eight queries a tick where two do.
   */
  async scheduled(): Promise<AgentView[]> {
    const [starts, stops] = await Promise.all([
      this.read(present('schedule.start')),
      this.read(present('schedule.stop')),
    ]);
    const byId = new Map([...starts, ...stops].map((view) => [view.agentId, view]));
    return [...byId.values()];
  }

  private async read(
    filter: Filter,
    options: Parameters<ReturnType<Store['documents']['collection']>['find']>[1] = {},
  ) {
    return (await this.agents.find(filter, options)) as unknown as AgentView[];
  }
}
