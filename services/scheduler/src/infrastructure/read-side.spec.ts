import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Collections, READ_SIDE_INDEXES, type AgentView } from '@drover/contracts';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { SchedulerReadSide } from './read-side';

const NOW = new Date('2026-01-01T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();
const agent = (agentId: string, fields: Partial<AgentView>): AgentView => ({
  agentId,
  status: 'running',
  attempts: 1,
  version: 3,
  ...fields,
});
const ids = (views: AgentView[]) => views.map((view) => view.agentId);
const schedule = { start: '0 8 * * *', stop: '0 18 * * *' };

describe('scheduler read side: each query finds exactly what may need a command', () => {
  let store: Store;
  let readSide: SchedulerReadSide;

  beforeAll(async () => {
    store = openSqliteStore({ filename: ':memory:' });
    const agents = store.documents.collection(Collections.agents);
    for (const index of READ_SIDE_INDEXES) {
      await store.documents.collection(index.collection).ensureIndex(index.fields);
    }
    const views = [
      agent('due', { status: 'interrupted', retryAt: ago(1) }),
      agent('later', { status: 'interrupted', retryAt: ago(-5_000) }),
      agent('slow', { status: 'starting', updatedAt: ago(61_000) }),
      agent('fresh', { status: 'starting', updatedAt: ago(1_000) }),
      agent('q-new', { status: 'queued', queuedAt: ago(1_000) }),
      agent('q-old', { status: 'queued', queuedAt: ago(9_000) }),
      agent('q-mid', { status: 'queued', queuedAt: ago(5_000) }),
      agent('r-old', { instanceId: 'sa-1', startedAt: ago(3_600_000) }),
      agent('r-young', { instanceId: 'sa-1', startedAt: ago(60_000) }),
      agent('r-other', { instanceId: 'sa-2', startedAt: ago(7_200_000) }),
      agent('yield', { status: 'stopping', instanceId: 'sa-1', requeue: true }),
      agent('stop', { status: 'stopping', instanceId: 'sa-2' }),
      agent('sleeper', { status: 'stopped', schedule }),
      agent('stop-only', { status: 'stopped', schedule: { stop: '0 18 * * *' } }),
      agent('worker', { status: 'running', instanceId: 'sa-3', startedAt: ago(1), schedule }),
      agent('plain', { status: 'failed' }),
    ];
    for (const view of views) await agents.insert({ _id: view.agentId, ...view });
    readSide = new SchedulerReadSide(store);
  });
  afterAll(async () => {
    await store.close();
  });

  it('finds due back-offs and starts older than the timeout', async () => {
    expect(ids(await readSide.dueRecoveries(NOW))).toEqual(['due']);
    expect(ids(await readSide.startingSince(new Date(NOW.getTime() - 60_000)))).toEqual(['slow']);
  });

  it('finds the longest queued first, only as many as asked, and counts by status', async () => {
    expect(ids(await readSide.longestQueued(2))).toEqual(['q-old', 'q-mid']);
    expect(await readSide.longestQueued(0)).toEqual([]);
    expect(await readSide.countByStatus('queued')).toBe(3);
    expect(await readSide.countByStatus('starting')).toBe(2);
  });

  it('finds the rotation candidates, longest running first, and counts the agents yielding', async () => {
    expect(ids(await readSide.longestRunning(new Date(NOW.getTime() - 600_000), 5))).toEqual(['r-other', 'r-old']);
    expect(ids(await readSide.longestRunning(new Date(NOW.getTime() - 600_000), 1))).toEqual(['r-other']);
    expect(await readSide.countYielding()).toBe(1);
  });

  it('finds the agents placed on one session agent, every placed agent, and agents by id', async () => {
    expect(ids(await readSide.placedOn('sa-1')).sort()).toEqual(['r-old', 'r-young', 'yield']);
    expect(ids(await readSide.placedOn('sa-9'))).toEqual([]);
    expect(ids(await readSide.placed()).sort()).toEqual(['r-old', 'r-other', 'r-young', 'stop', 'worker', 'yield']);
    expect(ids(await readSide.byIds(['due', 'missing', 'plain'])).sort()).toEqual(['due', 'plain']);
  });

  it('finds the agents with a schedule, once each', async () => {
    expect(ids(await readSide.scheduled()).sort()).toEqual(['sleeper', 'stop-only', 'worker']);
  });
});
