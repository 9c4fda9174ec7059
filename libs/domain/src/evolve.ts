import type { AgentEvent } from '@drover/contracts';
import { initialState, type AgentState } from './agent.state';

/** Applies one committed event. Pure; `at` is the commit time. Version is the caller's job. */
export function evolve(state: AgentState, event: AgentEvent, at: string): AgentState {
  const next: AgentState = { ...state, updatedAt: at, createdAt: state.createdAt ?? at };
  switch (event.type) {
    case 'agent.start-requested': {
      const { behavior, config, proxy, attempt, schedule, secrets, egress } = event.data;
      const fresh: AgentState = { ...next, status: 'starting', behavior, config, attempts: attempt };
      // A start replaces the schedule, or removes it when it carries none.
      delete fresh.schedule;
      if (schedule) fresh.schedule = schedule;
      // Likewise the agent's own egress rules.
      delete fresh.egress;
      if (egress) fresh.egress = egress;
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
      return without({ ...next, status: 'starting', attempts: event.data.attempt }, 'queuedAt');
    case 'agent.started':
      return {
        ...next,
        // A stop requested while starting stays pending; the engine routes it to this instance.
        status: state.status === 'stopping' ? 'stopping' : 'running',
        instanceId: event.data.instanceId,
        startedAt: at,
      };
    case 'agent.stop-requested':
      return event.data.requeue
        ? { ...next, status: 'stopping', requeue: true }
        : withoutRequeue({ ...next, status: 'stopping' });
    case 'agent.stopped':
      return withoutRequeue(
        without({ ...next, status: 'stopped', stoppedAt: at }, 'instanceId', 'retryAt', 'queuedAt'),
      );
    case 'agent.failed':
      return without(
        { ...next, status: 'failed', stoppedAt: at, lastError: event.data.error },
        'instanceId',
        'retryAt',
        'queuedAt',
      );
    case 'agent.interrupted':
      return without({ ...next, status: 'interrupted', lastError: event.data.reason }, 'instanceId', 'retryAt', {
        retryAt: event.data.retryAt,
      });
    case 'agent.restarted':
      return without({ ...next, status: 'starting', attempts: event.data.attempt }, 'retryAt');
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
  const { requeue, ...rest } = state;
  void requeue;
  return rest;
}
