import { describe, expect, it } from '@jest/globals';
import type { AgentView, SessionAgentRecord } from '@drover/contracts';
import { rotateAgents } from './rotate-agents';

const NOW = new Date('2026-01-01T01:00:00.000Z');
const SLICE = 10 * 60_000;
const minutesAgo = (m: number) => new Date(NOW.getTime() - m * 60_000).toISOString();

const agent = (agentId: string, status: AgentView['status'], extra: Partial<AgentView> = {}): AgentView => ({
  agentId,
  status,
  attempts: 1,
  version: 3,
  ...extra,
});
const host = (capacity: number, agentIds: string[]): SessionAgentRecord => ({
  _id: 'sa-1',
  capacity,
  agentIds,
  leaseMs: 10_000,
  alive: true,
  lastSeenAt: NOW.toISOString(),
  expiresAt: new Date(NOW.getTime() + 10_000).toISOString(),
});

describe('rotation rule', () => {
  const full = host(2, ['old', 'young']);
  const running = [
    agent('old', 'running', { startedAt: minutesAgo(30) }),
    agent('young', 'running', { startedAt: minutesAgo(2) }),
  ];

  it('makes the longest-running agent past its slice yield, one per waiting agent', () => {
    const commands = rotateAgents({ agents: [...running, agent('w-1', 'queued')], sessionAgents: [full] }, NOW, SLICE);
    expect(commands.map((c) => [c.type, c.agentId, c.messageId])).toEqual([
      ['agent.yield', 'old', 'scheduler:agent.yield:old:3'],
    ]);
  });

  it('does nothing while a slot is free, nobody waits, or no agent used its slice', () => {
    expect(
      rotateAgents(
        { agents: [...running, agent('w-1', 'queued')], sessionAgents: [host(3, ['old', 'young'])] },
        NOW,
        SLICE,
      ),
    ).toEqual([]);
    expect(rotateAgents({ agents: running, sessionAgents: [full] }, NOW, SLICE)).toEqual([]);
    const fresh = [agent('a', 'running', { startedAt: minutesAgo(1) }), agent('w', 'queued')];
    expect(rotateAgents({ agents: fresh, sessionAgents: [host(1, ['a'])] }, NOW, SLICE)).toEqual([]);
  });

  it('skips paused agents: they keep their placement however long they have held it', () => {
    const agents = [
      agent('paused', 'paused', { startedAt: minutesAgo(60), paused: true }),
      agent('old', 'running', { startedAt: minutesAgo(30) }),
      agent('w-1', 'queued'),
    ];
    const commands = rotateAgents({ agents, sessionAgents: [host(2, ['paused', 'old'])] }, NOW, SLICE);
    expect(commands.map((c) => c.agentId)).toEqual(['old']);
  });

  it('counts agents already yielding, so a tick does not rotate twice for one waiting agent', () => {
    const agents = [
      agent('old', 'stopping', { startedAt: minutesAgo(30), requeue: true }),
      agent('older', 'running', { startedAt: minutesAgo(40) }),
      agent('w-1', 'queued'),
    ];
    expect(rotateAgents({ agents, sessionAgents: [host(2, ['old', 'older'])] }, NOW, SLICE)).toEqual([]);
  });
});
