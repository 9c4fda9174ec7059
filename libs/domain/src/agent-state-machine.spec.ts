import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import type { AgentEvent } from '@drover/contracts';
import { decide, type Decision, type DomainMessage } from './decide';
import { fold } from './evolve';
import { DEFAULT_RECOVERY_POLICY, type RecoveryPolicy } from './recovery-policy';
import type { AgentState } from './agent.state';
import { agentView, OPTIONAL_VIEW_FIELDS } from './agent-view';

const NOW = new Date('2026-01-01T00:00:00.000Z');
const AGENT = 'a-1';

function when(state: AgentState, message: DomainMessage, policy: RecoveryPolicy = DEFAULT_RECOVERY_POLICY) {
  const decision = decide(state, message, { now: NOW, policy });
  const after = decision.kind === 'accept' ? fold(AGENT, [...replay(state), commitOf(state, decision)]) : state;
  return { decision, after };
}

// States are built from events, so the state after a decision is a fold of history plus the commit.
let history: AgentEvent[] = [];
function replay(state: AgentState) {
  return history.slice(0, state.version).map((event, index) => ({
    version: index + 1,
    events: [event],
    committedAt: NOW.toISOString(),
  }));
}
function commitOf(state: AgentState, decision: Extract<Decision, { kind: 'accept' }>) {
  return { version: state.version + 1, events: decision.events, committedAt: NOW.toISOString() };
}
/** Given these past events (one commit each)... */
function agentWith(...events: AgentEvent[]): AgentState {
  history = events;
  return fold(AGENT, replay({ version: events.length } as AgentState));
}

const envelope = { messageId: 'm-1', agentId: AGENT };
const start: DomainMessage = {
  ...envelope,
  type: 'agent.start',
  payload: { behavior: 'http-monitor', config: { url: 'http://x/' }, proxy: 'http://u:p@proxy:8080' },
};
const stop: DomainMessage = { ...envelope, type: 'agent.stop', payload: { reason: 'done' } };
const report = <T extends 'session.started' | 'session.stopped' | 'session.failed' | 'session.deferred'>(
  type: T,
  payload: Record<string, string>,
  attempt = 1,
  instanceId = 'sa-1',
) => ({ ...envelope, type, instanceId, attempt, payload, occurredAt: NOW.toISOString() }) as DomainMessage;

const requested: AgentEvent = {
  type: 'agent.start-requested',
  data: { behavior: 'http-monitor', config: {}, attempt: 1 },
};
const started: AgentEvent = { type: 'agent.started', data: { instanceId: 'sa-1', attempt: 1 } };
const stopRequested: AgentEvent = { type: 'agent.stop-requested', data: {} };
const stopped: AgentEvent = { type: 'agent.stopped', data: {} };
const failed: AgentEvent = { type: 'agent.failed', data: { error: 'boom' } };
const queued: AgentEvent = { type: 'agent.queued', data: { reason: 'no free slot' } };
const interrupted = (retryAt?: string): AgentEvent => ({
  type: 'agent.interrupted',
  data: { reason: 'lease lapsed', ...(retryAt ? { retryAt } : {}) },
});

const STATES: Record<string, AgentEvent[]> = {
  idle: [],
  queued: [requested, queued],
  starting: [requested],
  running: [requested, started],
  stopping: [requested, started, stopRequested],
  stopped: [requested, started, stopRequested, stopped],
  interrupted: [requested, started, interrupted('2026-01-01T00:00:01.000Z')],
  failed: [requested, failed],
};

const types = (decision: Decision) => (decision.kind === 'accept' ? decision.events.map((e) => e.type) : []);

describe('agent state machine: start', () => {
  for (const status of ['idle', 'stopped', 'failed']) {
    it(`given ${status}, a start is accepted: starting with attempt 1 and the proxy kept for the session`, () => {
      const { decision, after } = when(agentWith(...STATES[status]!), start);
      expect(types(decision)).toEqual(['agent.start-requested']);
      expect(after.status).toBe('starting');
      expect(after.attempts).toBe(1);
      expect(after.proxy).toBe('http://u:p@proxy:8080');
      expect(after.lastError).toBe(undefined);
    });
  }
  for (const status of ['queued', 'starting', 'running', 'stopping', 'interrupted']) {
    it(`given ${status}, a start is rejected as a conflict (agent_active)`, () => {
      const { decision } = when(agentWith(...STATES[status]!), start);
      expect(decision.kind).toBe('reject');
      expect(decision.kind === 'reject' && decision.code).toBe('agent_active');
    });
  }
});

describe('agent state machine: stop', () => {
  it('given an agent that never existed, a stop is rejected (agent_not_found)', () => {
    const { decision } = when(agentWith(), stop);
    expect(decision.kind === 'reject' && decision.code).toBe('agent_not_found');
  });
  for (const status of ['starting', 'running']) {
    it(`given ${status}, a stop asks the session to stop`, () => {
      const { decision, after } = when(agentWith(...STATES[status]!), stop);
      expect(types(decision)).toEqual(['agent.stop-requested']);
      expect(after.status).toBe('stopping');
    });
  }
  for (const status of ['queued', 'interrupted']) {
    it(`given ${status} (no session), a stop stops the agent at once`, () => {
      const { decision, after } = when(agentWith(...STATES[status]!), stop);
      expect(types(decision)).toEqual(['agent.stopped']);
      expect(after.status).toBe('stopped');
      expect(after.retryAt).toBe(undefined);
    });
  }
  it('given stopping, a second stop is a no-op answer, not an error', () => {
    const { decision } = when(agentWith(...STATES.stopping!), stop);
    expect(decision.kind === 'noop' && decision.code).toEqual('already_stopping');
  });
  for (const status of ['stopped', 'failed']) {
    it(`given ${status}, a stop is a no-op answer (not_running)`, () => {
      const { decision } = when(agentWith(...STATES[status]!), stop);
      expect(decision.kind === 'noop' && decision.code).toBe('not_running');
    });
  }
});

describe('agent state machine: session reports', () => {
  it('given starting, session.started makes it running on that instance', () => {
    const { decision, after } = when(agentWith(requested), report('session.started', {}));
    expect(types(decision)).toEqual(['agent.started']);
    expect(after.status).toBe('running');
    expect(after.instanceId).toBe('sa-1');
  });
  it('given a stop requested while starting, session.started records the instance and stays stopping', () => {
    const { after } = when(agentWith(requested, stopRequested), report('session.started', {}));
    expect(after.status).toBe('stopping');
    expect(after.instanceId).toBe('sa-1');
  });
  for (const status of ['stopped', 'failed', 'idle']) {
    it(`given ${status}, session.started is an orphaned session (the engine stops it)`, () => {
      const { decision } = when(agentWith(...STATES[status]!), report('session.started', {}));
      expect(decision.kind === 'noop' && decision.code).toBe('orphaned_session');
    });
  }
  it('a report of an earlier attempt changes nothing', () => {
    const restarted: AgentEvent = { type: 'agent.restarted', data: { attempt: 2 } };
    const state = agentWith(requested, started, interrupted('2026-01-01T00:00:00.000Z'), restarted);
    expect(when(state, report('session.started', {}, 1)).decision.kind).toBe('noop');
    expect(when(state, report('session.failed', { error: 'x' }, 1)).decision.kind).toBe('noop');
    expect(types(when(state, report('session.started', {}, 2)).decision)).toEqual(['agent.started']);
  });
  it('after a partition, every report of the stale session changes nothing while its successor runs', () => {
    // sa-1 lost its lease: the scheduler interrupted the agent, recovery restarted it on sa-2.
    const restarted: AgentEvent = { type: 'agent.restarted', data: { attempt: 2 } };
    const onSa2: AgentEvent = { type: 'agent.started', data: { instanceId: 'sa-2', attempt: 2 } };
    const state = agentWith(requested, started, interrupted('2026-01-01T00:00:00.000Z'), restarted, onSa2);
    for (const stale of [
      report('session.started', {}, 1, 'sa-1'),
      report('session.stopped', { reason: 'behaviour finished' }, 1, 'sa-1'),
      report('session.failed', { error: 'x' }, 1, 'sa-1'),
      report('session.deferred', { reason: 'no free slot' }, 1, 'sa-1'),
      // Even one claiming the current attempt: the agent is placed on sa-2.
      report('session.stopped', {}, 2, 'sa-1'),
      report('session.failed', { error: 'x' }, 2, 'sa-1'),
    ]) {
      expect(when(state, stale).decision.kind).toBe('noop');
    }
    expect(types(when(state, report('session.stopped', {}, 2, 'sa-2')).decision)).toEqual(['agent.stopped']);
  });
  it('a stopped report from another instance than the host changes nothing', () => {
    const { decision } = when(agentWith(...STATES.running!), report('session.stopped', {}, 1, 'sa-2'));
    expect(decision.kind === 'noop' && decision.code).toBe('stale_report');
  });
  for (const status of ['starting', 'running', 'stopping']) {
    it(`given ${status}, session.stopped stops the agent and clears its instance`, () => {
      const { after } = when(agentWith(...STATES[status]!), report('session.stopped', {}));
      expect(after.status).toBe('stopped');
      expect(after.instanceId).toBe(undefined);
      expect(after.stoppedAt).toBeTruthy();
    });
  }
  it('given running with attempts left, session.failed evicts the session and schedules a retry', () => {
    const { after } = when(agentWith(...STATES.running!), report('session.failed', { error: 'bad page' }));
    expect(after.status).toBe('interrupted');
    expect(after.lastError ?? '').toMatch(/bad page/);
    expect(after.retryAt).toBeTruthy();
  });
  it('given running on the last attempt, session.failed fails the agent with the error', () => {
    const policy = { ...DEFAULT_RECOVERY_POLICY, maxAttempts: 1 };
    const { after } = when(agentWith(...STATES.running!), report('session.failed', { error: 'bad page' }), policy);
    expect(after.status).toBe('failed');
    expect(after.lastError ?? '').toMatch(/session failed: bad page \(gave up after 1 attempts\)/);
  });
  it('given stopping, session.failed counts as stopped', () => {
    const { after } = when(agentWith(...STATES.stopping!), report('session.failed', { error: 'closed' }));
    expect(after.status).toBe('stopped');
  });
  it('given starting, session.deferred queues the agent', () => {
    const { after } = when(agentWith(requested), report('session.deferred', { reason: 'full' }));
    expect(after.status).toBe('queued');
    expect(after.queuedAt).toBeTruthy();
  });
  it('given a stop requested while starting, session.deferred stops it', () => {
    const { after } = when(agentWith(requested, stopRequested), report('session.deferred', { reason: 'full' }));
    expect(after.status).toBe('stopped');
  });
  for (const status of ['idle', 'stopped', 'failed', 'queued']) {
    it(`given ${status}, session.stopped and session.failed change nothing`, () => {
      const state = agentWith(...STATES[status]!);
      expect(when(state, report('session.stopped', {})).decision.kind).toBe('noop');
      expect(when(state, report('session.failed', { error: 'x' })).decision.kind).toBe('noop');
    });
  }
});

describe('agent state machine: scheduler commands', () => {
  const interrupt: DomainMessage = {
    ...envelope,
    type: 'agent.interrupt',
    payload: { reason: 'lease lapsed', instanceId: 'sa-1' },
  };
  const recoverCmd: DomainMessage = { ...envelope, type: 'agent.recover', payload: {} };
  const timeout: DomainMessage = { ...envelope, type: 'agent.start-timeout', payload: { afterMs: 60_000 } };

  it('given running, an interrupt with attempts left schedules a restart after the back-off', () => {
    const { decision, after } = when(agentWith(...STATES.running!), interrupt);
    expect(types(decision)).toEqual(['agent.interrupted']);
    expect(after.status).toBe('interrupted');
    expect(after.retryAt).toBe(new Date(NOW.getTime() + 1_000).toISOString());
    expect(after.instanceId).toBe(undefined);
  });
  it('given running on the last attempt, an interrupt fails the agent with the reason', () => {
    const policy = { ...DEFAULT_RECOVERY_POLICY, maxAttempts: 1 };
    const { decision, after } = when(agentWith(...STATES.running!), interrupt, policy);
    expect(types(decision)).toEqual(['agent.interrupted', 'agent.failed']);
    expect(after.status).toBe('failed');
    expect(after.lastError ?? '').toMatch(/lease lapsed/);
  });
  it('with onInterrupt "stop", an interrupt fails the agent at once', () => {
    const policy = { ...DEFAULT_RECOVERY_POLICY, onInterrupt: 'stop' as const };
    expect(when(agentWith(...STATES.running!), interrupt, policy).after.status).toBe('failed');
  });
  it('given stopping, an interrupt means the session is gone: stopped', () => {
    expect(when(agentWith(...STATES.stopping!), interrupt).after.status).toBe('stopped');
  });
  it('an interrupt naming an instance the agent no longer runs on changes nothing', () => {
    const state = agentWith(requested, { type: 'agent.started', data: { instanceId: 'sa-2', attempt: 1 } });
    expect(when(state, interrupt).decision.kind).toBe('noop');
  });
  for (const status of ['idle', 'stopped', 'failed', 'queued', 'interrupted']) {
    it(`given ${status}, an interrupt changes nothing`, () => {
      expect(when(agentWith(...STATES[status]!), { ...interrupt, payload: { reason: 'x' } }).decision.kind).toBe(
        'noop',
      );
    });
  }
  it('given interrupted and due, recover restarts it with the next attempt', () => {
    const { decision, after } = when(agentWith(requested, started, interrupted(NOW.toISOString())), recoverCmd);
    expect(types(decision)).toEqual(['agent.restarted']);
    expect(after.status).toBe('starting');
    expect(after.attempts).toBe(2);
    expect(after.retryAt).toBe(undefined);
  });
  it('given interrupted but not due yet, recover changes nothing', () => {
    const later = new Date(NOW.getTime() + 5_000).toISOString();
    const { decision } = when(agentWith(requested, started, interrupted(later)), recoverCmd);
    expect(decision.kind === 'noop' && decision.code).toBe('not_due');
  });
  it('given anything but interrupted, recover changes nothing', () => {
    expect(when(agentWith(...STATES.running!), recoverCmd).decision.kind).toBe('noop');
  });
  it('given starting, a start timeout applies the recovery policy', () => {
    const { after } = when(agentWith(requested), timeout);
    expect(after.status).toBe('interrupted');
    expect(after.lastError ?? '').toMatch(/60000 ms/);
  });
  it('given running, a start timeout changes nothing', () => {
    expect(when(agentWith(...STATES.running!), timeout).decision.kind).toBe('noop');
  });
  it('given queued, dequeue starts it again; otherwise dequeue changes nothing', () => {
    const dequeue: DomainMessage = { ...envelope, type: 'agent.dequeue', payload: {} };
    const { after } = when(agentWith(...STATES.queued!), dequeue);
    expect(after.status).toBe('starting');
    expect(after.queuedAt).toBe(undefined);
    expect(when(agentWith(...STATES.running!), dequeue).decision.kind).toBe('noop');
  });
});

describe('fold', () => {
  it('takes the version of the last commit and keeps createdAt from the first', () => {
    const state = fold(AGENT, [
      { version: 1, events: [requested], committedAt: '2026-01-01T00:00:00.000Z' },
      { version: 2, events: [started], committedAt: '2026-01-01T00:00:05.000Z' },
    ]);
    expect(state.version).toBe(2);
    expect(state.createdAt).toBe('2026-01-01T00:00:00.000Z');
    expect(state.updatedAt).toBe('2026-01-01T00:00:05.000Z');
    expect(state.startedAt).toBe('2026-01-01T00:00:05.000Z');
  });
});

describe('agent state machine: schedules', () => {
  const schedule = { start: '0 8 * * *', stop: '0 18 * * *', timezone: 'Europe/Paris' };
  const scheduledStart: DomainMessage = { ...start, payload: { ...start.payload, schedule } };
  const scheduledRequest: AgentEvent = {
    type: 'agent.start-requested',
    data: {
      behavior: 'http-monitor',
      config: { url: 'http://x/' },
      proxy: 'http://u:p@proxy:8080',
      attempt: 1,
      schedule,
    },
  };
  const wake = (occurrence = NOW.toISOString()): DomainMessage => ({
    ...envelope,
    type: 'agent.wake',
    payload: { occurrence },
  });

  it('a start carries its schedule into the event, the state and the view', () => {
    const { decision, after } = when(agentWith(), scheduledStart);
    expect(decision.kind === 'accept' && decision.events[0]?.type).toBe('agent.start-requested');
    expect(decision.kind === 'accept' && decision.events[0]?.data).toEqual(scheduledRequest.data);
    expect(after.schedule).toEqual(schedule);
    expect(agentView(after).schedule).toEqual(schedule);
    expect(OPTIONAL_VIEW_FIELDS.includes('schedule')).toBeTruthy();
  });
  it('the schedule survives stops and failures', () => {
    expect(agentWith(scheduledRequest, started, stopRequested, stopped).schedule).toEqual(schedule);
    expect(agentWith(scheduledRequest, failed).schedule).toEqual(schedule);
  });
  it('a new start without a schedule removes it; with one, replaces it', () => {
    const { after } = when(agentWith(scheduledRequest, failed), start);
    expect(after.schedule).toBe(undefined);
    expect('schedule' in after).toBe(false);
    const other = { stop: '30 17 * * 1-5' };
    const replaced = when(agentWith(scheduledRequest, failed), {
      ...start,
      payload: { ...start.payload, schedule: other },
    }).after;
    expect(replaced.schedule).toEqual(other);
  });

  for (const [status, events] of [
    ['stopped', [scheduledRequest, started, stopRequested, stopped]],
    ['failed', [scheduledRequest, started, failed]],
  ] as const) {
    it(`given ${status} with a schedule, a wake starts it again with its config, proxy and schedule`, () => {
      const { decision, after } = when(agentWith(...events), wake());
      expect(types(decision)).toEqual(['agent.start-requested']);
      expect(decision.kind === 'accept' && decision.events[0]?.data).toEqual(scheduledRequest.data);
      expect(after.status).toBe('starting');
      expect(after.attempts).toBe(1);
      expect(after.config).toEqual({ url: 'http://x/' });
      expect(after.proxy).toBe('http://u:p@proxy:8080');
      expect(after.lastError).toBe(undefined);
      expect(after.schedule).toEqual(schedule);
    });
  }
  for (const status of ['queued', 'starting', 'running', 'stopping', 'interrupted', 'idle']) {
    it(`given ${status}, a wake changes nothing (not_sleeping)`, () => {
      const events = status === 'idle' ? [] : [scheduledRequest, ...STATES[status]!.slice(1)];
      const { decision } = when(agentWith(...events), wake());
      expect(decision.kind === 'noop' && decision.code).toBe('not_sleeping');
    });
  }
  it('given stopped without a schedule (or with only a stop), a wake changes nothing (not_scheduled)', () => {
    const { decision } = when(agentWith(...STATES.stopped!), wake());
    expect(decision.kind === 'noop' && decision.code).toBe('not_scheduled');
    const stopOnly: AgentEvent = {
      type: 'agent.start-requested',
      data: { behavior: 'http-monitor', config: {}, attempt: 1, schedule: { stop: '0 18 * * *' } },
    };
    expect(when(agentWith(stopOnly, failed), wake()).decision.kind).toBe('noop');
  });
  it('given an agent stopped after the occurrence (a late wake), a wake changes nothing', () => {
    const earlier = new Date(NOW.getTime() - 60_000).toISOString();
    const { decision } = when(agentWith(scheduledRequest, failed), wake(earlier));
    expect(decision.kind === 'noop' && decision.code).toBe('stopped_after_occurrence');
  });
});

describe('agent state machine: rotation', () => {
  const yieldCmd: DomainMessage = { ...envelope, type: 'agent.yield', payload: { ranForMs: 600_000 } };
  const rotating: AgentEvent = {
    type: 'agent.stop-requested',
    data: { reason: 'rotation: time slice used', requeue: true },
  };

  it('given running, a yield stops the session for a requeue', () => {
    const { decision, after } = when(agentWith(...STATES.running!), yieldCmd);
    expect(types(decision)).toEqual(['agent.stop-requested']);
    expect(after.status).toBe('stopping');
    expect(after.requeue).toBe(true);
  });
  it('given a rotation stop, session.stopped queues the agent again instead of stopping it', () => {
    const { decision, after } = when(agentWith(requested, started, rotating), report('session.stopped', {}));
    expect(types(decision)).toEqual(['agent.queued']);
    expect(after.status).toBe('queued');
    expect(after.requeue).toBe(undefined);
    expect(after.queuedAt).toBeTruthy();
  });
  it('a user stop during a rotation wins: the agent ends stopped', () => {
    const state = agentWith(requested, started, rotating);
    const { decision, after } = when(state, stop);
    expect(types(decision)).toEqual(['agent.stop-requested']);
    expect(after.requeue).toBe(undefined);
    expect(
      when(
        agentWith(requested, started, rotating, ...(decision.kind === 'accept' ? decision.events : [])),
        report('session.stopped', {}),
      ).after.status,
    ).toBe('stopped');
  });
  for (const status of ['starting', 'stopping', 'queued', 'stopped']) {
    it(`given ${status}, a yield changes nothing`, () => {
      expect(when(agentWith(...STATES[status]!), yieldCmd).decision.kind).toBe('noop');
    });
  }
});

describe('agent state machine: the agent’s own egress rules', () => {
  const egress = { allow: ['10.20.0.0/16'] };
  const egressStart: DomainMessage = {
    ...envelope,
    type: 'agent.start',
    payload: {
      ...start.payload,
      egress,
      schedule: { start: '0 8 * * *' },
    },
  };

  it('a start carries them into the event, the state and the view; a start without them removes them', () => {
    const { decision, after } = when(agentWith(), egressStart);
    expect(decision.kind === 'accept' && decision.events[0]?.data).toMatchObject({ egress });
    expect(after.egress).toEqual(egress);
    expect(agentView(after).egress).toEqual(egress);
    expect(OPTIONAL_VIEW_FIELDS.includes('egress')).toBeTruthy();
    const without = when(
      agentWith(
        { type: 'agent.start-requested', data: { behavior: 'http-monitor', config: {}, attempt: 1, egress } },
        failed,
      ),
      start,
    ).after;
    expect('egress' in without).toBe(false);
  });

  it('a scheduled wake starts the agent again with them', () => {
    const first = when(agentWith(), egressStart);
    assert(first.decision.kind === 'accept');
    const events = [...first.decision.events, started, stopRequested, stopped];
    const { decision } = when(agentWith(...events), {
      ...envelope,
      type: 'agent.wake',
      payload: { occurrence: NOW.toISOString() },
    });
    expect(decision.kind === 'accept' && decision.events[0]?.data).toMatchObject({ egress });
  });
});

describe('agent state machine: restart', () => {
  const restart: DomainMessage = { ...envelope, type: 'agent.restart', payload: {} };
  const labels = { team: 'growth', 'app-kubernetes-io/name': 'feed' };
  const full: AgentEvent = {
    type: 'agent.start-requested',
    data: {
      behavior: 'http-monitor',
      config: { url: 'http://x/' },
      proxy: 'http://***@proxy:8080',
      attempt: 1,
      schedule: { start: '0 8 * * *' },
      secrets: 'sealed.v1.k1.aaaa.bbbb.cccc',
      egress: { allow: ['10.20.0.0/16'] },
      labels,
    },
  };
  const sameStart = (decision: Decision) =>
    decision.kind === 'accept' ? decision.events.find((e) => e.type === 'agent.start-requested')?.data : undefined;

  it('given an agent that never existed, a restart is rejected (agent_not_found)', () => {
    const { decision } = when(agentWith(), restart);
    expect(decision.kind === 'reject' && decision.code).toBe('agent_not_found');
  });
  for (const end of ['stopped', 'failed'] as const) {
    it(`given ${end}, a restart starts it again at once with its last start, secrets and labels included`, () => {
      const tail = end === 'stopped' ? [started, stopRequested, stopped] : [failed];
      const { decision, after } = when(agentWith(full, ...tail), restart);
      expect(types(decision)).toEqual(['agent.start-requested']);
      expect(sameStart(decision)).toEqual(full.data);
      expect(after.status).toBe('starting');
      expect(after.attempts).toBe(1);
      expect(after.secrets).toBe('sealed.v1.k1.aaaa.bbbb.cccc');
      expect(agentView(after).labels).toEqual(labels);
    });
  }
  for (const status of ['queued', 'interrupted']) {
    it(`given ${status}, a restart stops it and requests it again (attempt 1)`, () => {
      const history = status === 'queued' ? [full, queued] : [full, started, interrupted('2026-01-01T00:00:01.000Z')];
      const { decision, after } = when(agentWith(...history), restart);
      expect(types(decision)).toEqual(['agent.stopped', 'agent.start-requested']);
      expect(sameStart(decision)).toEqual(full.data);
      expect(after.status).toBe('starting');
      expect(after.retryAt).toBe(undefined);
    });
  }
  for (const status of ['starting', 'running', 'paused']) {
    it(`given ${status}, a restart stops the session, then session.stopped starts it again with the same`, () => {
      const history =
        status === 'starting' ? [full] : status === 'running' ? [full, started] : [full, started, pausedEvent];
      const first = when(agentWith(...history), restart);
      expect(types(first.decision)).toEqual(['agent.stop-requested']);
      expect(first.after.status).toBe('stopping');
      expect(first.after.restart).toBe(true);
      assert(first.decision.kind === 'accept');
      const stoppingNow = [...history, ...first.decision.events];
      const reported = status === 'starting' ? [started] : [];
      const { decision, after } = when(agentWith(...stoppingNow, ...reported), report('session.stopped', {}));
      expect(types(decision)).toEqual(['agent.stopped', 'agent.start-requested']);
      expect(sameStart(decision)).toEqual(full.data);
      expect(after.status).toBe('starting');
      expect(after.restart).toBe(undefined);
      expect(after.paused).toBe(undefined);
    });
  }
  it('a restart stop ends the same way when the session fails, is deferred or its host is lost', () => {
    const stopping: AgentEvent[] = [full, started, { type: 'agent.stop-requested', data: { restart: true } }];
    const interrupt: DomainMessage = { ...envelope, type: 'agent.interrupt', payload: { reason: 'lost' } };
    for (const message of [
      report('session.failed', { error: 'x' }),
      report('session.deferred', { reason: 'full' }),
      interrupt,
    ]) {
      expect(types(when(agentWith(...stopping), message).decision)).toEqual(['agent.stopped', 'agent.start-requested']);
    }
  });
  it('given stopping (a user stop or a rotation), a restart starts it again once stopped; twice is a no-op', () => {
    const first = when(agentWith(full, started, stopRequested), restart);
    expect(types(first.decision)).toEqual(['agent.stop-requested']);
    expect(first.after.restart).toBe(true);
    assert(first.decision.kind === 'accept');
    const again = when(agentWith(full, started, stopRequested, ...first.decision.events), restart);
    expect(again.decision.kind === 'noop' && again.decision.code).toBe('already_restarting');
  });
  it('a user stop during a restart wins: the agent ends stopped', () => {
    const restarting: AgentEvent = { type: 'agent.stop-requested', data: { restart: true } };
    const { decision, after } = when(agentWith(full, started, restarting), stop);
    expect(types(decision)).toEqual(['agent.stop-requested']);
    expect(after.restart).toBe(undefined);
    assert(decision.kind === 'accept');
    const end = when(agentWith(full, started, restarting, ...decision.events), report('session.stopped', {}));
    expect(types(end.decision)).toEqual(['agent.stopped']);
  });
});

const pausedEvent: AgentEvent = { type: 'agent.paused', data: {} };
const resumedEvent: AgentEvent = { type: 'agent.resumed', data: {} };

describe('agent state machine: pause and resume', () => {
  const pause: DomainMessage = { ...envelope, type: 'agent.pause', payload: {} };
  const resume: DomainMessage = { ...envelope, type: 'agent.resume', payload: {} };
  const interrupt: DomainMessage = { ...envelope, type: 'agent.interrupt', payload: { reason: 'host lost' } };
  const recoverCmd: DomainMessage = { ...envelope, type: 'agent.recover', payload: {} };

  it('given running, a pause makes it paused on the same instance', () => {
    const { decision, after } = when(agentWith(requested, started), pause);
    expect(types(decision)).toEqual(['agent.paused']);
    expect(after.status).toBe('paused');
    expect(after.instanceId).toBe('sa-1');
    expect(agentView(after).paused).toBe(true);
  });
  it('given starting, a pause is accepted and takes effect when the session reports started', () => {
    const { decision, after } = when(agentWith(requested), pause);
    expect(types(decision)).toEqual(['agent.paused']);
    expect(after.status).toBe('starting');
    expect(after.paused).toBe(true);
    expect(when(agentWith(requested, pausedEvent), report('session.started', {})).after.status).toBe('paused');
  });
  it('a second pause is a no-op (already_paused)', () => {
    for (const history of [
      [requested, started, pausedEvent],
      [requested, pausedEvent],
    ]) {
      const { decision } = when(agentWith(...history), pause);
      expect(decision.kind === 'noop' && decision.code).toBe('already_paused');
    }
  });
  it('given an agent that never existed, pause and resume are rejected (agent_not_found)', () => {
    for (const message of [pause, resume]) {
      const { decision } = when(agentWith(), message);
      expect(decision.kind === 'reject' && decision.code).toBe('agent_not_found');
    }
  });
  for (const status of ['queued', 'stopping', 'stopped', 'interrupted', 'failed']) {
    it(`given ${status}, a pause is a no-op (not_running)`, () => {
      const { decision } = when(agentWith(...STATES[status]!), pause);
      expect(decision.kind === 'noop' && decision.code).toBe('not_running');
    });
  }
  it('given paused, a resume makes it running again on the same instance', () => {
    const { decision, after } = when(agentWith(requested, started, pausedEvent), resume);
    expect(types(decision)).toEqual(['agent.resumed']);
    expect(after.status).toBe('running');
    expect(after.instanceId).toBe('sa-1');
    expect(after.paused).toBe(undefined);
  });
  for (const status of ['running', 'starting', 'stopped', 'queued']) {
    it(`given ${status} (not paused), a resume is a no-op (not_paused)`, () => {
      const { decision } = when(agentWith(...STATES[status]!), resume);
      expect(decision.kind === 'noop' && decision.code).toBe('not_paused');
    });
  }
  it('a stop of a paused agent stops its session; once stopped it is no longer paused', () => {
    const { decision, after } = when(agentWith(requested, started, pausedEvent), stop);
    expect(types(decision)).toEqual(['agent.stop-requested']);
    expect(after.status).toBe('stopping');
    assert(decision.kind === 'accept');
    const end = when(agentWith(requested, started, pausedEvent, ...decision.events), report('session.stopped', {}));
    expect(end.after.status).toBe('stopped');
    expect(end.after.paused).toBe(undefined);
  });
  it('a paused agent whose host is lost is interrupted and comes back paused', () => {
    const lost = when(agentWith(requested, started, pausedEvent), interrupt);
    expect(types(lost.decision)).toEqual(['agent.interrupted']);
    expect(lost.after.status).toBe('interrupted');
    expect(lost.after.paused).toBe(true);
    assert(lost.decision.kind === 'accept');
    const history = [requested, started, pausedEvent, ...lost.decision.events];
    const later = { ...DEFAULT_RECOVERY_POLICY };
    const back = decide(agentWith(...history), recoverCmd, { now: new Date('2030-01-01T00:00:00Z'), policy: later });
    expect(types(back)).toEqual(['agent.restarted']);
    assert(back.kind === 'accept');
    const restarting = agentWith(...history, ...back.events);
    expect(restarting.status).toBe('starting');
    expect(restarting.startedPaused).toBe(true);
    const up = when(restarting, report('session.started', {}, 2, 'sa-2'));
    expect(up.after.status).toBe('paused');
    expect(up.after.instanceId).toBe('sa-2');
  });
  it('a paused session that fails is recovered paused; a paused agent is interrupted by a start timeout only while starting', () => {
    const { after } = when(agentWith(requested, started, pausedEvent), report('session.failed', { error: 'crash' }));
    expect(after.status).toBe('interrupted');
    expect(after.paused).toBe(true);
    const timeout: DomainMessage = { ...envelope, type: 'agent.start-timeout', payload: { afterMs: 1 } };
    expect(when(agentWith(requested, started, pausedEvent), timeout).decision.kind).toBe('noop');
  });
  it('a resume while the paused agent waits for a new session clears the flag: it comes back running', () => {
    const waiting = [requested, started, pausedEvent, interrupted('2026-01-01T00:00:01.000Z')];
    const { decision, after } = when(agentWith(...waiting), resume);
    expect(types(decision)).toEqual(['agent.resumed']);
    expect(after.status).toBe('interrupted');
    expect(after.paused).toBe(undefined);
  });
  it('rotation leaves a paused agent alone (yield: not_running), and a start is rejected (agent_active)', () => {
    const paused = agentWith(requested, started, pausedEvent);
    const yieldCmd: DomainMessage = { ...envelope, type: 'agent.yield', payload: { ranForMs: 600_000 } };
    const y = when(paused, yieldCmd).decision;
    expect(y.kind === 'noop' && y.code).toBe('not_running');
    const s = when(paused, start).decision;
    expect(s.kind === 'reject' && s.code).toBe('agent_active');
  });
  it('stale reports change nothing for a paused agent: an older attempt, or another instance', () => {
    const paused = agentWith(requested, started, pausedEvent);
    expect(when(paused, report('session.stopped', {}, 0)).decision.kind).toBe('noop');
    expect(when(paused, report('session.failed', { error: 'x' }, 1, 'sa-9')).decision.kind).toBe('noop');
    const again = when(paused, report('session.started', {}));
    expect(again.decision.kind === 'noop' && again.decision.code).toBe('already_started');
    expect(when(agentWith(requested, started, pausedEvent, resumedEvent), pause).after.status).toBe('paused');
  });
});

describe('agent state machine: labels', () => {
  const labels = { team: 'growth', 'app-kubernetes-io/name': 'feed' };
  const label = (l: Record<string, string>): DomainMessage => ({
    ...envelope,
    type: 'agent.label',
    payload: { labels: l },
  });
  const labeledStart: DomainMessage = { ...envelope, type: 'agent.start', payload: { ...start.payload, labels } };

  it('a start carries them into the state and the view; a new start without them removes them', () => {
    const { after } = when(agentWith(), labeledStart);
    expect(agentView(after).labels).toEqual(labels);
    expect(OPTIONAL_VIEW_FIELDS.includes('labels')).toBe(true);
    const fresh = when(agentWith({ ...requested, data: { ...requested.data, labels } }, failed), start);
    expect('labels' in fresh.after).toBe(false);
  });
  it('agent.label replaces them in any status; the same labels are a no-op; an unknown agent is rejected', () => {
    for (const status of ['running', 'stopped', 'queued', 'failed']) {
      const { decision, after } = when(agentWith(...STATES[status]!), label({ owner: 'ops' }));
      expect(types(decision)).toEqual(['agent.labeled']);
      expect(after.labels).toEqual({ owner: 'ops' });
      expect(after.status).toBe(status);
    }
    const same = when(agentWith({ type: 'agent.labeled', data: { labels } }), label({ ...labels }));
    expect(same.decision.kind === 'noop' && same.decision.code).toBe('labels_unchanged');
    const cleared = when(agentWith(requested, { type: 'agent.labeled', data: { labels } }), label({}));
    expect('labels' in cleared.after).toBe(false);
    const none = when(agentWith(), label(labels)).decision;
    expect(none.kind === 'reject' && none.code).toBe('agent_not_found');
  });
  it('a scheduled wake keeps them', () => {
    const first = when(agentWith(), {
      ...labeledStart,
      payload: { ...labeledStart.payload, schedule: { start: '0 8 * * *' } },
    });
    assert(first.decision.kind === 'accept');
    const { after } = when(agentWith(...first.decision.events, failed), {
      ...envelope,
      type: 'agent.wake',
      payload: { occurrence: NOW.toISOString() },
    });
    expect(after.labels).toEqual(labels);
  });
});
