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

const ACTIVE = new Set(['queued', 'starting', 'running', 'stopping', 'interrupted']);

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
    },
  });
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
  return accept({
    type: 'agent.start-requested',
    data: {
      behavior: state.behavior,
      config: state.config ?? {},
      ...(state.proxy ? { proxy: state.proxy } : {}),
      attempt: 1,
      schedule: state.schedule,
      ...(state.secrets ? { secrets: state.secrets } : {}),
      ...(state.egress ? { egress: state.egress } : {}),
    },
  });
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
      return accept({ type: 'agent.stop-requested', data });
    case 'stopping':
      // A user stop during a rotation wins: the agent stays stopped instead of queueing again.
      if (state.requeue) return accept({ type: 'agent.stop-requested', data });
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
  if (state.status === 'stopping') return accept({ type: 'agent.stopped', data: { reason: payload.reason } });
  if (state.status === 'starting' || state.status === 'running') return recover(state, payload.reason, context);
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
  const live = ['starting', 'running', 'stopping'].includes(state.status);
  if (!live) return noop('not_running', `agent ${state.agentId} is ${state.status}`);

  switch (report.type) {
    case 'session.stopped':
      if (state.status === 'stopping' && state.requeue) {
        return accept({ type: 'agent.queued', data: { reason: 'rotation: waiting for a slot again' } });
      }
      return accept({ type: 'agent.stopped', data: report.payload.reason ? { reason: report.payload.reason } : {} });
    case 'session.failed':
      // A failing session is evicted and retried with back-off like a lost one, then failed.
      return state.status === 'stopping'
        ? accept({ type: 'agent.stopped', data: { reason: `stopped with error: ${report.payload.error}` } })
        : recover(state, `session failed: ${report.payload.error}`, context);
    case 'session.deferred':
      if (state.status === 'starting') return accept({ type: 'agent.queued', data: { reason: report.payload.reason } });
      if (state.status === 'stopping')
        return accept({ type: 'agent.stopped', data: { reason: 'stopped while queued' } });
      return noop('not_starting', `agent ${state.agentId} is ${state.status}`);
  }
}
