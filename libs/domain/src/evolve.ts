import type { AgentEvent } from '@drover/contracts';
import { initialState, type AgentState } from './agent.state';

/** Applies one committed event. Pure; `at` is the commit time. Version is the caller's job. */
export function evolve(state: AgentState, event: AgentEvent, at: string): AgentState {
  const next: AgentState = { ...state, updatedAt: at, createdAt: state.createdAt ?? at };
  switch (event.type) {
    case 'agent.start-requested': {
      const { behavior, config, proxy, attempt, schedule, secrets, egress, labels } = event.data;
      const fresh: AgentState = withoutIntents({ ...next, status: 'starting', behavior, config, attempts: attempt });
      // A start replaces the schedule, or removes it when it carries none.
      delete fresh.schedule;
      if (schedule) fresh.schedule = schedule;
      // Likewise the agent's own egress rules.
      delete fresh.egress;
      if (egress) fresh.egress = egress;
      // And its labels.
      delete fresh.labels;
      if (labels && Object.keys(labels).length) fresh.labels = labels;
      return without(
        fresh,
        'proxy',
        'secrets',
        'instanceId',
        'startedAt',
        'stoppedAt',
        'queuedAt',
        'retryAt',
        'lastError',
        { proxy, secrets },
      );
    }
    case 'agent.queued':
      return withoutRequeue(without({ ...next, status: 'queued', queuedAt: at }, 'instanceId'));
    case 'agent.dequeued':
      return startsSession(without({ ...next, status: 'starting', attempts: event.data.attempt }, 'queuedAt'));
    case 'agent.started':
      return {
        ...next,
        // A stop requested while starting stays pending; the engine routes it to this instance.
        status: state.status === 'stopping' ? 'stopping' : state.paused ? 'paused' : 'running',
        instanceId: event.data.instanceId,
        startedAt: at,
      };
    case 'agent.stop-requested': {
      const stopping = withoutRequeue({ ...next, status: 'stopping' });
      if (event.data.requeue) stopping.requeue = true;
      if (event.data.restart) stopping.restart = true;
      return stopping;
    }
    case 'agent.stopped':
      return withoutIntents(
        without({ ...next, status: 'stopped', stoppedAt: at }, 'instanceId', 'retryAt', 'queuedAt'),
      );
    case 'agent.failed':
      return without(
        withoutIntents({ ...next, status: 'failed', stoppedAt: at, lastError: event.data.error }),
        'instanceId',
        'retryAt',
        'queuedAt',
      );
    case 'agent.interrupted':
      return without({ ...next, status: 'interrupted', lastError: event.data.reason }, 'instanceId', 'retryAt', {
        retryAt: event.data.retryAt,
      });
    case 'agent.restarted':
      return startsSession(without({ ...next, status: 'starting', attempts: event.data.attempt }, 'retryAt'));
    case 'agent.paused':
      return { ...next, paused: true, status: state.status === 'running' ? 'paused' : state.status };
    case 'agent.resumed': {
      const { paused, ...resumed } = next;
      void paused;
      return { ...resumed, status: state.status === 'paused' ? 'running' : state.status };
    }
    case 'agent.labeled': {
      const { labels, ...rest } = next;
      void labels;
      return Object.keys(event.data.labels).length ? { ...rest, labels: event.data.labels } : rest;
    }
  }
}

/** A stored commit as `fold` needs it. */
export interface FoldableCommit {
  version: number;
  events: AgentEvent[];
  committedAt: string;
}

/** The state after the given commits (in version order), from the start or from a snapshot's state. */
export function fold(
  agentId: string,
  commits: readonly FoldableCommit[],
  from: AgentState = initialState(agentId),
): AgentState {
  return commits.reduce(
    (state, commit) => ({
      ...commit.events.reduce((s, event) => evolve(s, event, commit.committedAt), state),
      version: commit.version,
    }),
    from,
  );
}

/** A stream as a writer loads it: the latest snapshot of the state, and the commits after it. */
export interface FoldableHead {
  snapshot?: { state: Record<string, unknown> };
  commits: readonly FoldableCommit[];
}

/** The agent's state: its latest snapshot with the commits after it folded in. */
export function foldHead(agentId: string, head: FoldableHead): AgentState {
  return fold(agentId, head.commits, head.snapshot?.state as AgentState | undefined);
}

type OptionalKey =
  'proxy' | 'secrets' | 'instanceId' | 'startedAt' | 'stoppedAt' | 'queuedAt' | 'retryAt' | 'lastError';

/** Drops optional fields (no `undefined` values in views), then sets the given ones if defined. */
function without(
  state: AgentState,
  ...keys: (OptionalKey | Partial<Record<OptionalKey, string | undefined>>)[]
): AgentState {
  const result: AgentState = { ...state };
  for (const key of keys) {
    if (typeof key === 'string') {
      delete result[key];
    } else {
      for (const [name, value] of Object.entries(key)) {
        if (value !== undefined) result[name as OptionalKey] = value;
      }
    }
  }
  return result;
}

function withoutRequeue(state: AgentState): AgentState {
  const { requeue, restart, ...rest } = state;
  void requeue;
  void restart;
  return rest;
}

/** The end of a run (or a new one): no pending rotation or restart, not paused. */
function withoutIntents(state: AgentState): AgentState {
  const { paused, startedPaused, ...rest } = withoutRequeue(state);
  void paused;
  void startedPaused;
  return rest;
}

/** A `session.start` is dispatched: remember whether it asked for a paused session. */
function startsSession(state: AgentState): AgentState {
  const { startedPaused, ...rest } = state;
  void startedPaused;
  return state.paused ? { ...rest, startedPaused: true } : rest;
}
