import { describe, expect, it } from '@jest/globals';
import type { AgentView, SessionAgentRecord } from '@drover/contracts';
import { dequeueAgents } from './dequeue-agents/dequeue-agents';
import { expireSessionAgents } from './expire-session-agents/expire-session-agents';
import { expiryMarginMs, HeartbeatWatch } from './expire-session-agents/heartbeat-watch';
import { recoverAgents } from './recover-agents/recover-agents';
import { timeOutStarts } from './time-out-starts/time-out-starts';

const now = new Date('2026-01-01T12:00:00.000Z');
const ago = (ms: number) => new Date(now.getTime() - ms).toISOString();
const agent = (agentId: string, fields: Partial<AgentView>): AgentView => ({
  agentId,
  status: 'running',
  attempts: 1,
  version: 3,
  ...fields,
});
const host = (id: string, fields: Partial<SessionAgentRecord> = {}): SessionAgentRecord => ({
  _id: id,
  capacity: 2,
  agentIds: [],
  leaseMs: 10_000,
  alive: true,
  lastSeenAt: ago(1_000),
  expiresAt: ago(-9_000),
  ...fields,
});

describe('scheduler: lost sessions', () => {
  /** The scheduler's monotonic clock, moved by the test. */
  let clock = 0;
  const watching = (...hosts: SessionAgentRecord[]) => {
    const watch = new HeartbeatWatch(1_000, () => clock);
    watch.observe(hosts);
    return watch;
  };
  // lease 10 s, heartbeat 1 s: margin max(2 s, 2.5 s) = 2.5 s, so expiry after 12.5 s of silence.
  const LAPSE_MS = 12_500;

  it('interrupts agents of a session agent silent for its lease plus the margin, with a stable command id', () => {
    clock = 0;
    const snapshot = {
      agents: [agent('a', { instanceId: 'sa-1' }), agent('b', { instanceId: 'sa-2' })],
      sessionAgents: [host('sa-1', { agentIds: ['a'] }), host('sa-2', { agentIds: ['b'] })],
    };
    const watch = watching(...snapshot.sessionAgents);
    clock = LAPSE_MS; // not yet: strictly after
    expect(expireSessionAgents(snapshot, now, watch)).toEqual([]);
    // sa-2 beat meanwhile; sa-1 stayed silent.
    const renewed = {
      ...snapshot,
      sessionAgents: [snapshot.sessionAgents[0]!, host('sa-2', { agentIds: ['b'], lastSeenAt: ago(0) })],
    };
    watch.observe(renewed.sessionAgents);
    clock = LAPSE_MS + 1;
    const commands = expireSessionAgents(renewed, now, watch);
    expect(commands.map((c) => [c.type, c.agentId, c.messageId])).toEqual([
      ['agent.interrupt', 'a', 'scheduler:agent.interrupt:a:3'],
    ]);
    expect(commands[0]!.payload).toMatchObject({ reason: expect.stringMatching(/lease 10000 ms \+ margin 2500 ms/) });
    expect(expireSessionAgents(renewed, now, watch)).toEqual(commands);
  });

  it("ignores the record's own timestamps: a record first read now gets a full lease plus margin", () => {
    clock = 50_000;
    // Written by another machine whose clock may be off: expired an hour ago by its own numbers.
    const stale = host('sa-1', { agentIds: ['a'], lastSeenAt: ago(3_600_000), expiresAt: ago(3_590_000) });
    const snapshot = { agents: [agent('a', { instanceId: 'sa-1' })], sessionAgents: [stale] };
    const watch = watching(stale);
    expect(expireSessionAgents(snapshot, now, watch)).toEqual([]);
    clock += LAPSE_MS + 1;
    expect(expireSessionAgents(snapshot, now, watch).map((c) => c.agentId)).toEqual(['a']);
  });

  it("after the scheduler's own outage (distrust), every host gets a full lease plus margin again", () => {
    clock = 0;
    const sa1 = host('sa-1', { agentIds: ['a'] });
    const sa2 = host('sa-2', { lastSeenAt: ago(0) });
    const snapshot = { agents: [agent('a', { instanceId: 'sa-1' })], sessionAgents: [sa1, sa2] };
    const watch = watching(sa1, sa2);
    clock = 20_000; // the broker was down: no heartbeat recorded all that time
    watch.distrust();
    watch.observe([sa1, sa2]);
    expect(expireSessionAgents(snapshot, now, watch)).toEqual([]);
    // sa-2's next heartbeat is recorded: the read side is current again.
    clock = 21_000;
    watch.observe([sa1, { ...sa2, lastSeenAt: ago(-1_000) }]);
    clock = 20_000 + LAPSE_MS + 1;
    expect(expireSessionAgents(snapshot, now, watch).map((c) => c.agentId)).toEqual(['a']);
  });

  it('after its own outage, while no record changes, waits twice the lease plus margin', () => {
    clock = 0;
    const sa1 = host('sa-1', { agentIds: ['a'] });
    const snapshot = { agents: [agent('a', { instanceId: 'sa-1' })], sessionAgents: [sa1] };
    const watch = watching(sa1);
    clock = 20_000;
    watch.distrust();
    watch.observe([sa1]);
    clock = 20_000 + 2 * LAPSE_MS;
    expect(expireSessionAgents(snapshot, now, watch)).toEqual([]);
    clock = 20_000 + 2 * LAPSE_MS + 1;
    expect(expireSessionAgents(snapshot, now, watch).map((c) => c.agentId)).toEqual(['a']);
  });

  it('interrupts at once when the session agent said goodbye', () => {
    const snapshot = {
      agents: [agent('a', { instanceId: 'sa-1' })],
      sessionAgents: [host('sa-1', { alive: false, agentIds: ['a'] })],
    };
    expect(expireSessionAgents(snapshot, now, watching(...snapshot.sessionAgents)).length).toBe(1);
  });

  it('interrupts a paused agent whose session agent said goodbye (it recovers paused)', () => {
    const snapshot = {
      agents: [agent('p', { status: 'paused', paused: true, instanceId: 'sa-1' })],
      sessionAgents: [host('sa-1', { alive: false, agentIds: ['p'] })],
    };
    const commands = expireSessionAgents(snapshot, now, watching(...snapshot.sessionAgents));
    expect(commands.map((c) => [c.type, c.agentId])).toEqual([['agent.interrupt', 'p']]);
  });

  it('interrupts an agent its live host no longer lists, but only well after it started', () => {
    const sessionAgents = [host('sa-1', { agentIds: [], lastSeenAt: ago(100) })];
    const old = agent('old', { instanceId: 'sa-1', startedAt: ago(60_000) });
    const fresh = agent('fresh', { instanceId: 'sa-1', startedAt: ago(1_000) });
    const commands = expireSessionAgents({ agents: [old, fresh], sessionAgents }, now, watching(...sessionAgents));
    expect(commands.map((c) => c.agentId)).toEqual(['old']);
  });

  it('waits when no heartbeat was ever recorded for the host', () => {
    const snapshot = { agents: [agent('a', { instanceId: 'sa-9' })], sessionAgents: [] };
    expect(expireSessionAgents(snapshot, now, watching()).length).toBe(0);
  });

  it('sizes the margin as max(2 heartbeats, a quarter of the lease)', () => {
    expect(expiryMarginMs(8_000, 2_000)).toBe(4_000); // dev profile
    expect(expiryMarginMs(30_000, 2_000)).toBe(7_500);
    expect(expiryMarginMs(4_000, 500)).toBe(1_000);
  });
});

describe('scheduler: recovery, start timeouts and the queue', () => {
  it('recovers interrupted agents once their back-off has elapsed', () => {
    const agents = [
      agent('due', { status: 'interrupted', retryAt: ago(1) }),
      agent('later', { status: 'interrupted', retryAt: ago(-5_000) }),
      agent('failed', { status: 'failed' }),
    ];
    expect(recoverAgents({ agents, sessionAgents: [] }, now).map((c) => c.agentId)).toEqual(['due']);
  });

  it('times out agents starting for longer than the limit', () => {
    const agents = [
      agent('slow', { status: 'starting', updatedAt: ago(61_000) }),
      agent('ok', { status: 'starting', updatedAt: ago(5_000) }),
    ];
    const commands = timeOutStarts({ agents, sessionAgents: [] }, now, 60_000);
    expect(commands.map((c) => [c.type, c.agentId])).toEqual([['agent.start-timeout', 'slow']]);
  });

  it('dequeues the oldest queued agents up to the free slots, counting agents already starting', () => {
    const agents = [
      agent('q2', { status: 'queued', queuedAt: ago(1_000) }),
      agent('q1', { status: 'queued', queuedAt: ago(2_000) }),
      agent('q3', { status: 'queued', queuedAt: ago(500) }),
      agent('s', { status: 'starting' }),
    ];
    // 2 + 1 free slots on live hosts, one dead host ignored, one slot taken by the starting agent.
    const sessionAgents = [
      host('sa-1', { capacity: 2 }),
      host('sa-2', { capacity: 2, agentIds: ['x'] }),
      host('dead', { expiresAt: ago(1), capacity: 10 }),
    ];
    expect(dequeueAgents({ agents, sessionAgents }, now).map((c) => c.agentId)).toEqual(['q1', 'q2']);
  });
});
