import type { AgentEgress, AgentLabels, AgentSchedule, AgentStatus } from '@drover/contracts';

/** Everything `decide` needs to know about one agent; folded from its events by `evolve`. */
export interface AgentState {
  agentId: string;
  status: AgentStatus;
  /** Number of commits folded so far (0 for an agent that never existed). */
  version: number;
  behavior?: string;
  config?: Record<string, unknown>;
  proxy?: string;
  /** The sealed secrets of the current run's start; never in a view. */
  secrets?: string;
  /** Cron schedule of the current run record, set (or removed) by every start. */
  schedule?: AgentSchedule;
  /** The agent's own egress allow rules of the current run record, set (or removed) by every start. */
  egress?: AgentEgress;
  /** The agent's labels of the current run record, set by every start and by `agent.label`. */
  labels?: AgentLabels;
  /**
   * Paused by an operator. The status says `paused` while a session hosts the agent; the flag
   * survives the session's loss (interrupted, queued, starting again), so a recovered agent
   * comes back paused. A stop, a failure and a new start clear it.
   */
  paused?: boolean;
  /**
   * The `session.start` of the current attempt asked for a paused session: when it reports
   * started, an agent resumed meanwhile must be told to resume. Never in a view.
   */
  startedPaused?: boolean;
  /** Start attempts of the current run: 1 on start, +1 on every automatic restart. */
  attempts: number;
  instanceId?: string;
  startedAt?: string;
  stoppedAt?: string;
  queuedAt?: string;
  retryAt?: string;
  lastError?: string;
  /** Set while a rotation stop runs: when the session stops, the agent is queued again. */
  requeue?: boolean;
  /** Set while a restart's stop runs: when the session stops, the agent starts again with its last start. */
  restart?: boolean;
  createdAt?: string;
  updatedAt?: string;
}

export const initialState = (agentId: string): AgentState => ({
  agentId,
  status: 'idle',
  version: 0,
  attempts: 0,
});
