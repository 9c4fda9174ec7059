import { describe, expect, it } from '@jest/globals';
import type { AgentView, SessionAgentRecord } from '@drover/contracts';
import { dequeueAgents } from './dequeue-agents/dequeue-agents';
import { expireSessionAgents } from './expire-session-agents/expire-session-agents';
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
  it('interrupts agents of a session agent whose lease lapsed, with a stable command id', () => {
    const snapshot = {
      agents: [agent('a', { instanceId: 'sa-1' }), agent('b', { instanceId: 'sa-2' })],
      sessionAgents: [host('sa-1', { agentIds: ['a'], expiresAt: ago(1) }), host('sa-2', { agentIds: ['b'] })],
    };
    const commands = expireSessionAgents(snapshot, now);
    expect(commands.map((c) => [c.type, c.agentId, c.messageId])).toEqual([
      ['agent.interrupt', 'a', 'scheduler:agent.interrupt:a:3'],
    ]);
    expect(expireSessionAgents(snapshot, now)).toEqual(commands);
  });

  it('interrupts at once when the session agent said goodbye', () => {
    const snapshot = {
      agents: [agent('a', { instanceId: 'sa-1' })],
      sessionAgents: [host('sa-1', { alive: false, agentIds: ['a'] })],
    };
    expect(expireSessionAgents(snapshot, now).length).toBe(1);
  });

  it('interrupts an agent its live host no longer lists, but only well after it started', () => {
    const sessionAgents = [host('sa-1', { agentIds: [], lastSeenAt: ago(100) })];
    const old = agent('old', { instanceId: 'sa-1', startedAt: ago(60_000) });
    const fresh = agent('fresh', { instanceId: 'sa-1', startedAt: ago(1_000) });
    expect(expireSessionAgents({ agents: [old, fresh], sessionAgents }, now).map((c) => c.agentId)).toEqual(['old']);
  });

  it('waits when no heartbeat was ever recorded for the host', () => {
    expect(expireSessionAgents({ agents: [agent('a', { instanceId: 'sa-9' })], sessionAgents: [] }, now).length).toBe(
      0,
    );
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
