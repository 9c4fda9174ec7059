import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  http,
  startStandaloneProcess,
  writeFastProfile,
  type StandaloneProcess,
} from './standalone-process';

type Item = Record<string, unknown>;
const AGENTS = ['rot-1', 'rot-2', 'rot-3'];
const SLOTS = 2;

/**
 * Rotation (`scheduler.rotation`) on a full fleet: three agents share two slots. Agents that ran
 * their slice yield to the waiting one and queue again, so every agent keeps getting turns, and
 * a user's stop ends the rotation for that agent.
 */
describe('standalone system: rotation when agents wait for a slot', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-rotation-'));
  const profilesDir = writeFastProfile({
    sessionAgent: { maxConcurrentAgents: SLOTS, heartbeatMs: 200, leaseMs: 3_000 },
    scheduler: { tickMs: 200, startTimeoutMs: 10_000, rotation: { enabled: true, sliceMs: 1_000 } },
  });
  let system: StandaloneProcess;
  let api: string;
  /** Statuses seen by the sampler, per agent, in order (consecutive repeats folded). */
  const seen = new Map<string, string[]>(AGENTS.map((id) => [id, []]));
  let mostRunning = 0;
  let sampling = true;
  let sampler: Promise<void> = Promise.resolve();

  const view = async (agentId: string) => (await http(`${api}/agents/${agentId}`)).body;
  const statusOf = (agent: Item) => (typeof agent.status === 'string' ? agent.status : 'none');
  const transitions = async (agentId: string) =>
    ((await http(`${api}/agents/${agentId}/activities?limit=100`)).body as { items: Item[] }).items.filter((a) =>
      String(a.kind).startsWith('agent.'),
    );

  beforeAll(async () => {
    system = await startStandaloneProcess(dataDir, profilesDir);
    api = `${system.url}/api`;
    sampler = (async () => {
      while (sampling) {
        const statuses = await Promise.all(AGENTS.map(async (id) => statusOf(await view(id))));
        mostRunning = Math.max(mostRunning, statuses.filter((s) => s === 'running').length);
        AGENTS.forEach((id, i) => {
          const list = seen.get(id)!;
          if (list[list.length - 1] !== statuses[i]) list.push(statuses[i]!);
        });
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
  });

  afterAll(async () => {
    sampling = false;
    await sampler.catch(() => undefined);
    system?.child.kill('SIGKILL');
    await system?.exited;
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
    expect((await view('rot-3')).status).toBe('queued');
  });

  it('gives every agent turns: the longest-running yields its slot and queues again', async () => {
    // Each agent must run, wait in the queue, and run again.
    await eventually(
      'every agent to run twice with a wait between',
      async () =>
        AGENTS.every((id) => {
          const list = seen.get(id)!;
          const firstRun = list.indexOf('running');
          const waited = list.indexOf('queued', firstRun + 1);
          return firstRun >= 0 && waited > firstRun && list.indexOf('running', waited + 1) > waited;
        }) || undefined,
      30_000,
    );
    assert.ok(mostRunning <= SLOTS, `${mostRunning} agents ran at once on ${SLOTS} slots`);
    // A yield is a stop that ends in `queued`, with the rotation as its reason; never `stopped`.
    const log = await transitions('rot-1');
    const yielded = log.find((a) => a.kind === 'agent.stop-requested');
    expect(String(yielded?.message)).toMatch(/rotation/);
    expect(!log.some((a) => a.kind === 'agent.stopped')).toBeTruthy();
    for (const id of AGENTS) assert.ok(!seen.get(id)!.includes('stopped'), `${id}: ${seen.get(id)!.join(' > ')}`);
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
    // Several rotation ticks later, nothing runs or waits again.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    for (const agentId of AGENTS) assert.equal((await view(agentId)).status, 'stopped', agentId);
  });
});
