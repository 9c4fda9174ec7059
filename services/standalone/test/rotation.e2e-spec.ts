import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Exchanges, RoutingKeys, SessionHeartbeat } from '@drover/contracts';
import { silentLogger } from '@drover/runtime';
import { startStandalone, type RunningSystem } from '../src/standalone-system';
import { eventually, http, standaloneConfig, writeFastProfile } from './standalone-process';

const AGENTS = ['rot-1', 'rot-2', 'rot-3'];
const SLOTS = 2;

/**
 * Rotation (`scheduler.rotation`) on a full fleet: three agents share two slots. Agents that ran
 * their slice yield to the waiting one and queue again, so every agent keeps getting turns, and
 * a user's stop ends the rotation for that agent. The system runs in this process so the test
 * can watch its bus: the session agent's own heartbeats say what it hosts at every beat, and
 * the agents' events say what happened to each, in order.
 */
describe('standalone system: rotation when agents wait for a slot', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-rotation-'));
  const profilesDir = writeFastProfile({
    sessionAgent: { maxConcurrentAgents: SLOTS, heartbeatMs: 200, leaseMs: 3_000 },
    engine: { leaseMs: 5_000 },
    scheduler: { tickMs: 200, startTimeoutMs: 10_000, rotation: { enabled: true, sliceMs: 1_000 } },
  });
  let system: RunningSystem;
  let api: string;
  /** Every heartbeat of the session agent, in order. */
  const beats: SessionHeartbeat[] = [];
  /** Each agent's events (`agent.*`), in the order published. */
  const events = new Map<string, string[]>(AGENTS.map((id) => [id, []]));

  const view = async (agentId: string) => (await http(`${api}/agents/${agentId}`)).body;
  const transitions = async (agentId: string) =>
    (
      (await http(`${api}/agents/${agentId}/activities?limit=100`)).body as { items: Record<string, unknown>[] }
    ).items.filter((a) => String(a.kind).startsWith('agent.'));
  const eventsOf = (agentId: string): string[] => events.get(agentId) ?? [];

  beforeAll(async () => {
    const config = standaloneConfig(dataDir, profilesDir, {
      LOG_LEVEL: 'warn',
    });
    system = await startStandalone(config, silentLogger());
    api = `${system.url}/api`;
    const { bus } = system;
    await bus.declareQueue({
      name: 'test.heartbeats',
      bindings: [{ exchange: Exchanges.reports, pattern: RoutingKeys.heartbeat }],
    });
    await bus.subscribe('test.heartbeats', async (delivery) => void beats.push(SessionHeartbeat.parse(delivery.body)));
    await bus.declareQueue({
      name: 'test.agent-events',
      bindings: [{ exchange: Exchanges.events, pattern: 'agent.*' }],
    });
    await bus.subscribe('test.agent-events', async (delivery) => {
      const { agentId, type } = delivery.body as { agentId: string; type: string };
      events.get(agentId)?.push(type);
    });
  });

  afterAll(async () => {
    await system?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  });

  it('queues the agent that finds no free slot', async () => {
    for (const agentId of AGENTS) {
      const started = await http(`${api}/agents`, {
        method: 'POST',
        body: { agentId, behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs: 500 } },
      });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      // One at a time, so the last one is the one that waits.
      await eventually(`${agentId} placed`, async () =>
        ['running', 'queued'].includes(String((await view(agentId)).status)) ? true : undefined,
      );
    }
    expect(eventsOf('rot-3').slice(0, 2)).toEqual(['agent.start-requested', 'agent.queued']);
  });

  it('gives every agent turns: the longest-running yields its slot and queues again', async () => {
    // Each agent must run, wait in the queue, and run again.
    await eventually(
      'every agent to run twice with a wait between',
      async () =>
        AGENTS.every((id) => {
          const list = eventsOf(id);
          const firstRun = list.indexOf('agent.started');
          const waited = list.indexOf('agent.queued', firstRun + 1);
          return firstRun >= 0 && waited > firstRun && list.indexOf('agent.started', waited + 1) > waited;
        }) || undefined,
      30_000,
    );
    // The session agent never hosted more agents than its slots, at any beat.
    expect(beats.length).toBeGreaterThan(10);
    expect(new Set(beats.map((beat) => beat.capacity))).toEqual(new Set([SLOTS]));
    expect(beats.filter((beat) => beat.agentIds.length > beat.capacity)).toEqual([]);
    // And the fleet was full at times, so the bound was tested.
    expect(beats.some((beat) => beat.agentIds.length === SLOTS)).toBe(true);
    console.info(
      `rotation: ${beats.length} heartbeats, hosted per beat: ${beats.map((b) => b.agentIds.length).join('')}`,
    );

    // A yield is a stop that ends in `queued`, with the rotation as its reason; never `stopped`.
    const log = await transitions('rot-1');
    const yielded = log.find((a) => a.kind === 'agent.stop-requested');
    expect(String(yielded?.message)).toMatch(/rotation/);
    expect(log.some((a) => a.kind === 'agent.stopped')).toBe(false);
    for (const id of AGENTS) expect(eventsOf(id)).not.toContain('agent.stopped');
  });

  it('takes an agent out of the rotation when the user stops it', async () => {
    for (const agentId of AGENTS) {
      const stopped = await http(`${api}/agents/${agentId}`, { method: 'DELETE' });
      assert.ok([200, 202].includes(stopped.status), `${agentId}: ${JSON.stringify(stopped.body)}`);
    }
    for (const agentId of AGENTS) {
      await eventually(`${agentId} stopped`, async () =>
        (await view(agentId)).status === 'stopped' ? true : undefined,
      );
    }
    // Ten more heartbeats (several scheduler ticks): the session agent hosts nothing, and no
    // agent was started or queued again.
    const from = beats.length;
    await eventually('ten more heartbeats', async () => (beats.length >= from + 10 ? true : undefined), 30_000);
    expect(beats.slice(from).filter((beat) => beat.agentIds.length > 0)).toEqual([]);
    for (const agentId of AGENTS) {
      const list = eventsOf(agentId);
      expect(list.at(-1)).toBe('agent.stopped');
      expect(list.filter((type) => type === 'agent.stopped').length).toBe(1);
      expect((await view(agentId)).status).toBe('stopped');
    }
  });
});
