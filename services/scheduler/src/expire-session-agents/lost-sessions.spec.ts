import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Collections, READ_SIDE_INDEXES, type AgentView, type SessionAgentRecord } from '@drover/contracts';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { SchedulerReadSide } from '../infrastructure/read-side';
import { HeartbeatWatch } from './heartbeat-watch';
import { LostSessions } from './lost-sessions';

const NOW = new Date('2026-01-01T12:00:00.000Z');
const at = (ms: number) => new Date(NOW.getTime() + ms).toISOString();
const SWEEP_MS = 60_000;
// lease 10 s, heartbeat 1 s: margin 2.5 s, so a silent host lapses after 12.5 s.
const LAPSE_MS = 12_500;

describe('lost sessions, read in proportion to what changed', () => {
  let store: Store;
  let readSide: SchedulerReadSide;
  let lost: LostSessions;
  let watch: HeartbeatWatch;
  /** The scheduler's monotonic clock, moved by the test. */
  let clock: number;
  let reads: { placed: number; placedOn: number; byIds: number };

  const host = (id: string, agentIds: string[], fields: Partial<SessionAgentRecord> = {}): SessionAgentRecord => ({
    _id: id,
    capacity: 5_000,
    agentIds,
    leaseMs: 10_000,
    alive: true,
    lastSeenAt: at(clock),
    expiresAt: at(clock + 10_000),
    ...fields,
  });
  const place = async (agentId: string, instanceId: string, fields: Partial<AgentView> = {}) => {
    const view: AgentView = { agentId, status: 'running', attempts: 1, version: 2, instanceId, startedAt: at(0) };
    await store.documents.collection(Collections.agents).upsert({ _id: agentId, ...view, ...fields });
  };
  const tick = async (hosts: SessionAgentRecord[]) => {
    watch.observe(hosts);
    const commands = await lost.find(hosts, new Date(NOW.getTime() + clock), watch);
    return commands.map((command) => command.agentId).sort();
  };

  beforeEach(async () => {
    clock = 0;
    store = openSqliteStore({ filename: ':memory:' });
    for (const index of READ_SIDE_INDEXES) await store.documents.collection(index.collection).ensureIndex(index.fields);
    readSide = new SchedulerReadSide(store);
    reads = { placed: 0, placedOn: 0, byIds: 0 };
    for (const method of Object.keys(reads) as (keyof typeof reads)[]) {
      const original = readSide[method].bind(readSide) as (...args: never[]) => Promise<AgentView[]>;
      jest.spyOn(readSide, method).mockImplementation(async (...args: never[]) => {
        reads[method] += 1;
        return original(...args);
      });
    }
    watch = new HeartbeatWatch(1_000, () => clock);
    lost = new LostSessions(readSide, () => clock, SWEEP_MS);
  });
  afterEach(async () => {
    await store.close();
  });

  it('reads no agent on an idle tick: only the sweep, once per sweep period, reads them all', async () => {
    const fleet = Array.from({ length: 2_000 }, (_, i) => `a-${i}`);
    for (const agentId of fleet) await place(agentId, 'sa-1');
    expect(await tick([host('sa-1', fleet)])).toEqual([]);
    expect(reads).toEqual({ placed: 1, placedOn: 0, byIds: 0 });
    for (let i = 1; i <= 10; i += 1) {
      clock = i * 2_000; // a heartbeat every 2 s, listing the same agents
      expect(await tick([host('sa-1', fleet)])).toEqual([]);
    }
    expect(reads).toEqual({ placed: 1, placedOn: 0, byIds: 0 });
    clock = SWEEP_MS;
    await tick([host('sa-1', fleet)]);
    expect(reads.placed).toBe(2);
  });

  it('reads the agents of a session agent that said goodbye until none is left on it', async () => {
    await place('a', 'sa-1');
    await place('b', 'sa-2');
    await tick([host('sa-1', ['a']), host('sa-2', ['b'])]);
    clock = 1_000;
    const goodbye = host('sa-1', ['a'], { alive: false });
    expect(await tick([goodbye, host('sa-2', ['b'])])).toEqual(['a']);
    expect(reads.placedOn).toBe(1);
    // The engine interrupted it: the next tick finds nobody left there, and the one after reads nothing.
    await place('a', 'sa-1', { status: 'interrupted', version: 3 });
    expect(await tick([goodbye, host('sa-2', ['b'])])).toEqual([]);
    expect(await tick([goodbye, host('sa-2', ['b'])])).toEqual([]);
    expect(reads.placedOn).toBe(2);
  });

  it('reads the agents of a session agent whose lease lapsed', async () => {
    await place('a', 'sa-1');
    const silent = host('sa-1', ['a']);
    expect(await tick([silent])).toEqual([]);
    clock = LAPSE_MS + 1;
    expect(await tick([silent])).toEqual(['a']);
  });

  it('checks an agent its live host stopped listing, by id, until the grace has passed', async () => {
    await place('a', 'sa-1');
    await place('b', 'sa-1');
    await tick([host('sa-1', ['a', 'b'])]);
    clock = 2_000; // sa-1 restarted: it lists only b... within 5 s of a's start, so not yet
    await place('a', 'sa-1', { startedAt: at(0) });
    expect(await tick([host('sa-1', ['b'], { lastSeenAt: at(-1_000) })])).toEqual([]);
    expect(reads.byIds).toBe(1);
    clock = 8_000; // well after a started: a is lost
    expect(await tick([host('sa-1', ['b'])])).toEqual(['a']);
    // Interrupted by the engine: settled, and never read again.
    await place('a', 'sa-1', { status: 'interrupted', version: 3 });
    clock = 10_000;
    expect(await tick([host('sa-1', ['b'])])).toEqual([]);
    clock = 12_000;
    expect(await tick([host('sa-1', ['b'])])).toEqual([]);
    expect(reads.byIds).toBe(3);
  });

  it('drops an agent listed again', async () => {
    await place('a', 'sa-1');
    await tick([host('sa-1', ['a'])]);
    clock = 6_000;
    expect(await tick([host('sa-1', [])])).toEqual(['a']);
    clock = 8_000;
    expect(await tick([host('sa-1', ['a'])])).toEqual([]);
    clock = 10_000;
    expect(await tick([host('sa-1', ['a'])])).toEqual([]);
    expect(reads.byIds).toBe(1);
  });

  it('finds an agent a live host never listed at the next sweep', async () => {
    await tick([host('sa-1', [])]);
    await place('ghost', 'sa-1'); // placed after the first sweep; sa-1 never lists it
    clock = 20_000;
    expect(await tick([host('sa-1', [])])).toEqual([]);
    clock = SWEEP_MS;
    expect(await tick([host('sa-1', [])])).toEqual(['ghost']);
  });

  it('sweeps again on the first tick after leadership was lost', async () => {
    await place('ghost', 'sa-1');
    clock = 20_000;
    await tick([host('sa-1', ['ghost'])]);
    lost.forget();
    await tick([host('sa-1', ['ghost'])]);
    expect(reads.placed).toBe(2);
  });
});
