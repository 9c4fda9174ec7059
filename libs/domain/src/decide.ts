import type { AgentCommand, AgentEvent, SessionReport } from '@drover/contracts';
import type { AgentState } from './agent.state';
import { backoffMs, type RecoveryPolicy } from './recovery-policy';

/** Everything the engine feeds the state machine: user and scheduler commands, session reports. */
export type DomainMessage = AgentCommand | SessionReport;

/**
 * The answer to one message. `accept` carries the events to commit; `noop` is a valid message
 * that changes nothing (answered, not an error); `reject` is a command the agent's state forbids.
 */
export type Decision =
  | { kind: 'accept'; events: AgentEvent[] }
  | { kind: 'noop'; code: string; message: string }
  | { kind: 'reject'; code: string; message: string };

export interface DecideContext {
  now: Date;
  policy: RecoveryPolicy;
}

const ACTIVE = new Set(['queued', 'starting', 'running', 'paused', 'stopping', 'interrupted']);

const accept = (...events: AgentEvent[]): Decision => ({ kind: 'accept', events });
const noop = (code: string, message: string): Decision => ({ kind: 'noop', code, message });
const reject = (code: string, message: string): Decision => ({ kind: 'reject', code, message });

/** The agent state machine: pure, total over every (status, message) pair. */
export function decide(state: AgentState, message: DomainMessage, context: DecideContext): Decision {
  switch (message.type) {
    case 'agent.start':
      return decideStart(state, message.payload);
    case 'agent.stop':
      return decideStop(state, message.payload.reason);
    case 'agent.restart':
      return decideRestart(state, message.payload.reason);
    case 'agent.pause':
      return decidePause(state, message.payload.reason);
    case 'agent.resume':
      return decideResume(state);
    case 'agent.label':
      return decideLabel(state, message.payload.labels);
    case 'agent.interrupt':
      return decideInterrupt(state, message.payload, context);
    case 'agent.start-timeout':
      return state.status === 'starting'
        ? recover(state, `session did not report ready within ${message.payload.afterMs} ms`, context)
        : noop('not_starting', `agent ${state.agentId} is ${state.status}`);
    case 'agent.recover':
      return decideRecover(state, context.now);
    case 'agent.wake':
      return decideWake(state, message.payload.occurrence);
    case 'agent.yield':
      return state.status === 'running'
        ? accept({ type: 'agent.stop-requested', data: { reason: 'rotation: time slice used', requeue: true } })
        : noop('not_running', `agent ${state.agentId} is ${state.status}`);
    case 'agent.dequeue':
      return state.status === 'queued'
        ? accept({ type: 'agent.dequeued', data: { attempt: Math.max(1, state.attempts) } })
        : noop('not_queued', `agent ${state.agentId} is ${state.status}`);
    case 'session.started':
    case 'session.stopped':
    case 'session.failed':
    case 'session.deferred':
      return decideReport(state, message, context);
  }
}

function decideStart(state: AgentState, payload: Extract<AgentCommand, { type: 'agent.start' }>['payload']): Decision {
  if (ACTIVE.has(state.status)) {
    return reject('agent_active', `agent ${state.agentId} is ${state.status}; stop it first`);
  }
  return accept({
    type: 'agent.start-requested',
    data: {
      behavior: payload.behavior,
      config: payload.config ?? {},
      ...(payload.proxy ? { proxy: payload.proxy } : {}),
      attempt: 1,
      ...(payload.schedule ? { schedule: payload.schedule } : {}),
      ...(payload.secrets ? { secrets: payload.secrets } : {}),
      ...(payload.egress ? { egress: payload.egress } : {}),
      ...(payload.labels && Object.keys(payload.labels).length ? { labels: payload.labels } : {}),
    },
  });
}

/** The agent's last start again, attempt 1: what a wake and a restart request. Nothing is sent again. */
function lastStart(state: AgentState & { behavior: string }): AgentEvent {
  return {
    type: 'agent.start-requested',
    data: {
      behavior: state.behavior,
      config: state.config ?? {},
      ...(state.proxy ? { proxy: state.proxy } : {}),
      attempt: 1,
      ...(state.schedule ? { schedule: state.schedule } : {}),
      ...(state.secrets ? { secrets: state.secrets } : {}),
      ...(state.egress ? { egress: state.egress } : {}),
      ...(state.labels ? { labels: state.labels } : {}),
    },
  };
}

/** A session ended: a restart's stop starts the agent again, anything else leaves it stopped. */
function sessionEnded(state: AgentState, reason: string | undefined): Decision {
  const stopped: AgentEvent = { type: 'agent.stopped', data: reason ? { reason } : {} };
  if (state.restart && state.behavior) return accept(stopped, lastStart({ ...state, behavior: state.behavior }));
  return accept(stopped);
}

/**
 * Start again with the last start: at once when nothing runs (stopped, failed), after the session
 * stopped when one runs (a stop-requested carrying `restart`), stopped and requested again when
 * the agent waits (queued, interrupted).
 */
function decideRestart(state: AgentState, reason: string | undefined): Decision {
  if (state.version === 0 || !state.behavior) {
    return reject('agent_not_found', `agent ${state.agentId} does not exist`);
  }
  const withBehavior = { ...state, behavior: state.behavior };
  const why = reason ?? 'restart';
  switch (state.status) {
    case 'stopped':
    case 'failed':
    case 'idle':
      return accept(lastStart(withBehavior));
    case 'queued':
    case 'interrupted':
      return accept({ type: 'agent.stopped', data: { reason: why } }, lastStart(withBehavior));
    case 'starting':
    case 'running':
    case 'paused':
      return accept({ type: 'agent.stop-requested', data: { reason: why, restart: true } });
    case 'stopping':
      if (state.restart) return noop('already_restarting', `agent ${state.agentId} is already restarting`);
      // A stop (or a rotation) runs: once it ends, the agent starts again instead.
      return accept({ type: 'agent.stop-requested', data: { reason: why, restart: true } });
  }
}

/**
 * Pause a running agent: its behaviour is aborted, its session keeps the slot, browser context
 * and cookies. A starting agent is paused once its session runs (the flag waits in the state).
 */
function decidePause(state: AgentState, reason: string | undefined): Decision {
  if (state.version === 0) return reject('agent_not_found', `agent ${state.agentId} does not exist`);
  if (state.paused && ['paused', 'starting'].includes(state.status)) {
    return noop('already_paused', `agent ${state.agentId} is already paused`);
  }
  if (state.status === 'running' || state.status === 'starting') {
    return accept({ type: 'agent.paused', data: reason ? { reason } : {} });
  }
  return noop('not_running', `agent ${state.agentId} is ${state.status}`);
}

/** Resume a paused agent; one paused while its session is being (re)started just loses the flag. */
function decideResume(state: AgentState): Decision {
  if (state.version === 0) return reject('agent_not_found', `agent ${state.agentId} does not exist`);
  if (!state.paused || state.status === 'stopping') {
    return noop('not_paused', `agent ${state.agentId} is ${state.status}`);
  }
  return accept({ type: 'agent.resumed', data: {} });
}

function decideLabel(state: AgentState, labels: Record<string, string>): Decision {
  if (state.version === 0) return reject('agent_not_found', `agent ${state.agentId} does not exist`);
  const current = state.labels ?? {};
  const same =
    Object.keys(current).length === Object.keys(labels).length &&
    Object.entries(labels).every(([key, value]) => current[key] === value);
  if (same) return noop('labels_unchanged', `agent ${state.agentId} already has these labels`);
  return accept({ type: 'agent.labeled', data: { labels } });
}

/**
 * A `start` occurrence of the agent's schedule: a stopped or failed agent starts again with
 * the behaviour, config, proxy and schedule of its last start. An agent stopped after the
 * occurrence (a late or replayed wake) stays stopped.
 */
function decideWake(state: AgentState, occurrence: string): Decision {
  if (state.status !== 'stopped' && state.status !== 'failed') {
    return noop('not_sleeping', `agent ${state.agentId} is ${state.status}`);
  }
  if (!state.schedule?.start || !state.behavior) {
    return noop('not_scheduled', `agent ${state.agentId} has no start schedule`);
  }
  if (state.stoppedAt && Date.parse(state.stoppedAt) > Date.parse(occurrence)) {
    return noop(
      'stopped_after_occurrence',
      `agent ${state.agentId} stopped at ${state.stoppedAt}, after ${occurrence}`,
    );
  }
  return accept(lastStart({ ...state, behavior: state.behavior }));
}

function decideStop(state: AgentState, reason: string | undefined): Decision {
  if (state.version === 0) return reject('agent_not_found', `agent ${state.agentId} does not exist`);
  const data = reason ? { reason } : {};
  switch (state.status) {
    case 'queued':
    case 'interrupted':
      // No session runs: the agent is stopped at once.
      return accept({ type: 'agent.stopped', data });
    case 'starting':
    case 'running':
    case 'paused':
      return accept({ type: 'agent.stop-requested', data });
    case 'stopping':
      // A user stop during a rotation or a restart wins: the agent stays stopped.
      if (state.requeue || state.restart) return accept({ type: 'agent.stop-requested', data });
      return noop('already_stopping', `agent ${state.agentId} is already stopping`);
    default:
      return noop('not_running', `agent ${state.agentId} is ${state.status}`);
  }
}

function decideInterrupt(
  state: AgentState,
  payload: { reason: string; instanceId?: string },
  context: DecideContext,
): Decision {
  if (payload.instanceId && state.instanceId !== payload.instanceId) {
    return noop('stale_interrupt', `agent ${state.agentId} no longer runs on ${payload.instanceId}`);
  }
  if (state.status === 'stopping') return sessionEnded(state, payload.reason);
  // A paused agent is recovered like a running one, and comes back paused.
  if (['starting', 'running', 'paused'].includes(state.status)) return recover(state, payload.reason, context);
  return noop('not_running', `agent ${state.agentId} is ${state.status}`);
}

/** The recovery policy: interrupted with a retry time while attempts remain, else failed. */
function recover(state: AgentState, reason: string, { now, policy }: DecideContext): Decision {
  if (policy.onInterrupt === 'restart' && state.attempts < policy.maxAttempts) {
    const retryAt = new Date(now.getTime() + backoffMs(policy, state.attempts)).toISOString();
    return accept({ type: 'agent.interrupted', data: { reason, retryAt } });
  }
  const error = policy.onInterrupt === 'restart' ? `${reason} (gave up after ${state.attempts} attempts)` : reason;
  return accept({ type: 'agent.interrupted', data: { reason } }, { type: 'agent.failed', data: { error } });
}

function decideRecover(state: AgentState, now: Date): Decision {
  if (state.status !== 'interrupted' || !state.retryAt) {
    return noop('not_interrupted', `agent ${state.agentId} is ${state.status}`);
  }
  if (Date.parse(state.retryAt) > now.getTime()) {
    return noop('not_due', `agent ${state.agentId} restarts at ${state.retryAt}`);
  }
  return accept({ type: 'agent.restarted', data: { attempt: state.attempts + 1 } });
}

function decideReport(state: AgentState, report: SessionReport, context: DecideContext): Decision {
  const stale = report.attempt !== state.attempts;
  if (report.type === 'session.started') {
    if (stale) return noop('orphaned_session', `attempt ${report.attempt} of ${state.agentId} is not current`);
    if (state.status === 'starting' || (state.status === 'stopping' && !state.instanceId)) {
      return accept({ type: 'agent.started', data: { instanceId: report.instanceId, attempt: report.attempt } });
    }
    if (state.instanceId === report.instanceId) return noop('already_started', `agent ${state.agentId} runs`);
    return noop('orphaned_session', `agent ${state.agentId} is ${state.status}`);
  }
  const foreign = state.instanceId !== undefined && state.instanceId !== report.instanceId;
  if (stale || foreign) return noop('stale_report', `report of a session ${state.agentId} no longer has`);
  const live = ['starting', 'running', 'paused', 'stopping'].includes(state.status);
  if (!live) return noop('not_running', `agent ${state.agentId} is ${state.status}`);

  switch (report.type) {
    case 'session.stopped':
      if (state.status === 'stopping' && state.requeue) {
        return accept({ type: 'agent.queued', data: { reason: 'rotation: waiting for a slot again' } });
      }
      return sessionEnded(state, report.payload.reason);
    case 'session.failed':
      // A failing session is evicted and retried with back-off like a lost one, then failed.
      return state.status === 'stopping'
        ? sessionEnded(state, `stopped with error: ${report.payload.error}`)
        : recover(state, `session failed: ${report.payload.error}`, context);
    case 'session.deferred':
      if (state.status === 'starting') return accept({ type: 'agent.queued', data: { reason: report.payload.reason } });
      if (state.status === 'stopping') return sessionEnded(state, 'stopped while queued');
      return noop('not_starting', `agent ${state.agentId} is ${state.status}`);
  }
}
