import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { Exchanges, RoutingKeys } from '@drover/contracts';
import { DEATH_REASON_HEADER, MessageTooLargeError, Queues } from '@drover/messaging';
import { silentLogger } from '@drover/runtime';
import { startStandalone, type RunningSystem } from '../src/standalone-system';
import { eventually, http, standaloneConfig, writeFastProfile } from './standalone-process';

/** The agent no hostile message may change: those that name it are all invalid. */
const KEEPER = 'keeper';
/** The queues the hostile messages reach, and their dead-letter queues. */
const INPUTS = [Queues.engineCommands, Queues.persistenceCommands, Queues.persistenceTasks];

const anyJson = fc.jsonValue({ maxDepth: 5 }).filter((v) => !JSON.stringify(v)?.includes(`"${KEEPER}"`));

/** Command envelopes with hostile payloads; the ones naming the keeper are never valid. */
const hostileCommand = fc.oneof(
  anyJson,
  fc.record({
    messageId: fc.oneof(fc.string({ maxLength: 300 }), fc.integer(), fc.constant(null)),
    type: fc.constantFrom('agent.start', 'agent.stop', 'agent.interrupt', 'agent.recover', 'agent.nope', '__proto__'),
    agentId: fc.constantFrom(KEEPER),
    payload: fc.oneof(
      fc.constant({ behavior: 42 }),
      fc.constant({ behavior: 'http-monitor', config: { url: 'file:///etc/passwd', intervalMs: 1 } }),
      fc.constant({ reason: 'x'.repeat(10_000) }),
      fc.constant(JSON.parse('{"__proto__":{"x":1},"behavior":"http-monitor"}') as unknown),
      fc.constant({ reason: 7, instanceId: {} }),
      fc.constant({ behavior: 'http-monitor', config: { pad: 'x'.repeat(70_000) } }),
      fc.constant({ behavior: 'http-monitor', config: [] }),
    ),
    extra: fc.constant('field'),
  }),
  fc.record({
    messageId: fc.uuid(),
    type: fc.constant('agent.start'),
    agentId: fc.constantFrom(
      '..',
      '../keeper',
      '__proto__',
      'keeper/../x',
      '',
      ' keeper',
      'ke\u0000eper',
      'k'.repeat(65),
    ),
    payload: fc.constant({ behavior: 'http-monitor', config: { url: 'http://127.0.0.1:1/', intervalMs: 1000 } }),
  }),
);

/** Generic persistence tasks that aim at prototypes, Drover's own collections and the store's limits. */
const deepFilter = fc.integer({ min: 17, max: 1_000 }).map((depth) => {
  let filter: unknown = { field: 'a', op: 'eq', value: 1 };
  for (let i = 0; i < depth; i++) filter = { not: filter };
  return filter;
});
const hostileTask = fc.oneof(
  anyJson,
  fc.constantFrom(
    { op: 'find', collection: 'notes', filter: { field: 'constructor.prototype', op: 'eq', value: 1 } },
    { op: 'find', collection: 'notes', filter: { field: '__proto__.x', op: 'exists', value: true } },
    {
      op: 'update',
      collection: 'notes',
      filter: { field: 'a', op: 'eq', value: 1 },
      update: { set: { '__proto__.x': 1 } },
    },
    {
      op: 'update',
      collection: 'notes',
      filter: { field: 'a', op: 'eq', value: 1 },
      update: { set: { 'constructor.prototype.x': 1 } },
    },
    { op: 'insert', collection: 'notes', document: JSON.parse('{"__proto__":{"x":1},"a":1}') as unknown },
    { op: 'upsert', collection: 'notes', id: '../../x', document: { a: 1 } },
    {
      op: 'update',
      collection: 'agents',
      filter: { field: '_id', op: 'eq', value: KEEPER },
      update: { set: { status: 'running' } },
    },
    { op: 'delete', collection: 'agents', filter: { field: '_id', op: 'eq', value: KEEPER } },
    { op: 'delete', collection: 'activities', filter: { field: 'agentId', op: 'eq', value: KEEPER } },
    { op: 'insert', collection: 'notes', document: { pad: 'x'.repeat(300_000) } },
    { op: 'find', collection: 'notes', filter: { field: 'a', op: 'in', value: 'not-a-list' } },
    { op: 'find', collection: 'Notes; DROP TABLE agents', filter: { field: 'a', op: 'eq', value: 1 } },
  ),
  deepFilter.map((filter) => ({ op: 'count', collection: 'notes', filter })),
);

describe('standalone system: hostile bus messages (in-memory bus)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-fuzz-bus-'));
  const profilesDir = writeFastProfile();
  let system: RunningSystem;
  const view = async (agentId: string) => (await http(`${system.url}/api/agents/${agentId}`)).body;
  const activityCount = async () =>
    ((await http(`${system.url}/api/agents/${KEEPER}/activities?limit=1000`)).body.items as unknown[]).length;
  let keeperBefore: Record<string, unknown>;
  let keeperActivities: number;

  beforeAll(async () => {
    const config = standaloneConfig(dataDir, profilesDir, {
      // This test reads the .dead queues itself: the dead-letter keeper would empty them.
      DROVER_DEAD_LETTER_KEEPER: 'false',
    });
    system = await startStandalone(config, silentLogger());
    const started = await http(`${system.url}/api/agents`, {
      method: 'POST',
      body: { agentId: KEEPER, behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs: 3_600_000 } },
    });
    assert.equal(started.status, 202, JSON.stringify(started.body));
    await eventually('the keeper running', async () => ((await view(KEEPER)).status === 'running' ? true : undefined));
    await http(`${system.url}/api/agents/${KEEPER}`, { method: 'DELETE' });
    await eventually('the keeper stopped', async () => ((await view(KEEPER)).status === 'stopped' ? true : undefined));
    keeperBefore = await view(KEEPER);
    keeperActivities = await activityCount();
  });

  afterAll(async () => {
    await system?.stop();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  });

  it('settles every command and persistence task without changing the keeper or any prototype', async () => {
    const { bus } = system;
    const deadBefore = await Promise.all(INPUTS.map(async (q) => (await bus.queueStats(`${q}.dead`)).messages));
    let published = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.tuple(
            fc.constant(Exchanges.commands),
            fc.constantFrom('agent.start', 'agent.stop', 'agent.interrupt', 'x.y'),
            hostileCommand,
          ),
          fc.tuple(fc.constant(Exchanges.persistence), fc.constant(RoutingKeys.persistenceTask), hostileTask),
        ),
        async ([exchange, routingKey, body]) => {
          await bus.publish(exchange, routingKey, body);
          published += 1;
        },
      ),
      { numRuns: Number(process.env.FUZZ_RUNS ?? 300), seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31) },
    );
    // A message too large for the bus is refused at the publisher with an error naming it.
    await expect(bus.publish(Exchanges.commands, 'agent.start', { pad: 'x'.repeat(2 ** 20) })).rejects.toThrow(
      MessageTooLargeError,
    );

    await eventually(
      'every hostile message settled',
      async () => {
        const stats = await Promise.all(INPUTS.map((q) => bus.queueStats(q)));
        return stats.every((s) => s.messages === 0) ? true : undefined;
      },
      60_000,
    );
    const deadAfter = await Promise.all(INPUTS.map(async (q) => (await bus.queueStats(`${q}.dead`)).messages));
    expect(deadAfter.reduce((a, b) => a + b, 0)).toBeGreaterThan(deadBefore.reduce((a, b) => a + b, 0));
    expect(published).toBeGreaterThan(0);

    // Each dead letter says why.
    const reasons: unknown[] = [];
    await bus.subscribe(
      `${Queues.engineCommands}.dead`,
      async (delivery) => void reasons.push(delivery.headers[DEATH_REASON_HEADER]),
    );
    await eventually('the dead letters read', async () => (reasons.length >= deadAfter[0]! ? true : undefined));
    expect(reasons.every((reason) => typeof reason === 'string' && reason.length > 0)).toBe(true);

    expect(({} as Record<string, unknown>).x).toBe(undefined);
    expect(Object.prototype).not.toHaveProperty('x');
    expect(await view(KEEPER)).toEqual(keeperBefore);
    expect(await activityCount()).toBe(keeperActivities);
    expect((await http(`${system.opsUrl}/ready`)).status).toBe(200);
  });
});
