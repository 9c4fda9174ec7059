import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import Database from 'better-sqlite3';
import {
  Collections,
  Exchanges,
  READ_SIDE_INDEXES,
  type AgentView,
  type Filter,
  type SessionAgentRecord,
  type Sort,
} from '@drover/contracts';
import type { Bus } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { DroverMetrics } from '@drover/platform';
import { silentLogger } from '@drover/runtime';
import type { Collection, Documents, FindOptions, Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
// The standalone service composes the others; so does this test of what they ask the store.
import { ReadQueries } from '../../persistence-agent/src/answer-queries/read-queries';
import { AgentViewsProjector } from '../../persistence-agent/src/project-events/agent-views.projector';
import { CommandLog } from '../../persistence-agent/src/record-commands/command-log';
import { FeedWriter } from '../../persistence-agent/src/record-feed/feed-writer';
import { ReportsRecorder } from '../../persistence-agent/src/record-reports/reports.recorder';
import { PersistenceTasks } from '../../persistence-agent/src/run-tasks/persistence-tasks';
import { observeFleet } from '../../scheduler/src/observe-fleet/observe-fleet';
import { Scheduler } from '../../scheduler/src/scheduler';

/**
 * Every query and update the services run in steady state, run against a populated store, with
 * the plan each gets checked: on SQLite the plan SQLite picks for the very statements the
 * adapter ran (`EXPLAIN QUERY PLAN`); for MongoDB 7, that a declared index (`READ_SIDE_INDEXES`,
 * or `_id`'s own) serves each query's filter and, for a page, its sort. The MongoDB half is a
 * rule check, not a server's plan: the CI server, FerretDB 1.24, serves only `_id` equality from
 * an index and scans for anything else whatever the indexes (ARCHITECTURE.md, "MongoDB 7 vs
 * FerretDB 1.24"), so its `explain()` could not tell a good index from a missing one.
 */

const AGENTS = 5_000;
const NOW = new Date('2026-03-02T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW.getTime() - ms).toISOString();

/** One call a service made on a collection, in the store-neutral language. */
interface Call {
  collection: string;
  method: 'find' | 'findOne' | 'get' | 'update' | 'count' | 'delete' | 'insert' | 'upsert';
  filter?: Filter;
  options?: FindOptions;
}

/** One statement the SQLite adapter ran, with its parameters. */
interface Statement {
  sql: string;
  params: unknown[];
}

/** A `Documents` that records every call before passing it on. */
function recording(documents: Documents, calls: Call[]): Documents {
  return {
    collection(name: string): Collection {
      const inner = documents.collection(name);
      const log = (call: Omit<Call, 'collection'>) => calls.push({ collection: name, ...call });
      return {
        find: (filter, options) => (log({ method: 'find', filter, options }), inner.find(filter, options)),
        findOne: (filter) => (log({ method: 'findOne', filter }), inner.findOne(filter)),
        get: (id) => (log({ method: 'get', filter: { field: '_id', op: 'eq', value: id } }), inner.get(id)),
        insert: (doc) => (log({ method: 'insert' }), inner.insert(doc)),
        update: (filter, update) => (log({ method: 'update', filter }), inner.update(filter, update)),
        upsert: (doc) => (log({ method: 'upsert' }), inner.upsert(doc)),
        delete: (filter) => (log({ method: 'delete', filter }), inner.delete(filter)),
        count: (filter) => (log({ method: 'count', filter }), inner.count(filter)),
        ensureIndex: (fields, options) => inner.ensureIndex(fields, options),
      };
    },
  };
}

/** Records every statement better-sqlite3 runs in this process, until `stop`. */
function recordStatements(into: Statement[]): { stop(): void } {
  const probe = new Database(':memory:');
  const proto = Object.getPrototypeOf(probe.prepare('SELECT 1')) as Record<string, (...args: unknown[]) => unknown>;
  probe.close();
  const originals = (['all', 'get', 'run', 'iterate'] as const).map((name) => [name, proto[name]!] as const);
  for (const [name, original] of originals) {
    proto[name] = function (this: { source: string }, ...params: unknown[]) {
      into.push({ sql: this.source, params });
      return original.apply(this, params);
    };
  }
  return {
    stop: () => {
      for (const [name, original] of originals) proto[name] = original;
    },
  };
}

/**
 * The operations whose cost may grow with a collection, and why each is acceptable: the session
 * agents' records are read whole on every scheduler tick by design (one per session-agent process).
 */
const READ_WHOLE = new Set([Collections.sessionAgents]);

describe('read side: every steady-state query and update is served by an index', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-read-plans-'));
  let base: Store;
  let store: Store;
  const calls: Call[] = [];
  const statements: Statement[] = [];
  let monotonic = 0;

  beforeAll(async () => {
    base = openSqliteStore({ dataDir: dir });
    for (const index of READ_SIDE_INDEXES) {
      await base.documents.collection(index.collection).ensureIndex(index.fields, { unique: index.unique ?? false });
    }
    await populate(base);
    store = { ...base, documents: recording(base.documents, calls) };
    const recorder = recordStatements(statements);
    try {
      await runServices(store);
    } finally {
      recorder.stop();
    }
  }, 120_000);
  afterAll(async () => {
    await base.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fleet of AGENTS agents, mostly running, with every status the rules look for. */
  async function populate(target: Store): Promise<void> {
    const agents = target.documents.collection(Collections.agents);
    const schedule = { start: '0 8 * * *', stop: '0 18 * * *' };
    const shapes: Partial<AgentView>[] = [
      { status: 'interrupted', retryAt: ago(1_000), lastError: 'lost' },
      { status: 'starting', updatedAt: ago(120_000) },
      { status: 'queued', queuedAt: ago(30_000) },
      { status: 'stopping', instanceId: 'sa-live' },
      { status: 'stopped', stoppedAt: ago(3_600_000), schedule },
      { status: 'failed', stoppedAt: ago(3_600_000) },
    ];
    for (let i = 0; i < AGENTS; i += 1) {
      const agentId = `agent-${String(i).padStart(5, '0')}`;
      const shape = i % 10 === 0 ? shapes[(i / 10) % shapes.length]! : {};
      const host = i % 3 === 0 ? 'sa-gone' : 'sa-live';
      await agents.insert({
        _id: agentId,
        agentId,
        status: 'running',
        attempts: 1,
        version: 3,
        behavior: 'http-monitor',
        config: { url: 'http://127.0.0.1:8080/live', intervalMs: 3_600_000 },
        instanceId: host,
        startedAt: ago(7_200_000 - i),
        createdAt: ago(7_300_000),
        updatedAt: ago(7_200_000 - i),
        ...shape,
      });
      for (let n = 0; n < 4; n += 1) {
        const id = `${ago(60_000 * n)}|${agentId}:${n}`;
        await target.documents
          .collection(Collections.activities)
          .insert({ _id: id, id, agentId, kind: 'http.check', ok: true, at: ago(60_000 * n) });
      }
      await target.documents.collection(Collections.commands).insert({
        _id: `cmd-${agentId}`,
        commandId: `cmd-${agentId}`,
        agentId,
        type: 'agent.start',
        state: 'accepted',
      });
    }
  }

  const delivery = (body: unknown): BusContext =>
    new BusContext({
      body,
      exchange: Exchanges.events,
      routingKey: 'x',
      messageId: 'm',
      headers: {},
      attempt: 1,
    });

  /** What the services do in steady state, each path at least once. */
  async function runServices(target: Store): Promise<void> {
    // Scheduler: two ticks (the first sweeps), then a host that stopped listing an agent, then
    // its silence lapses; rotation on, slots free, agents waiting, due and overdue agents.
    const hosts = target.documents.collection(Collections.sessionAgents);
    const listed = (
      await base.documents.collection(Collections.agents).find({ field: 'instanceId', op: 'eq', value: 'sa-live' })
    ).map((doc) => doc._id);
    const record = (id: string, fields: Partial<SessionAgentRecord>) =>
      hosts.upsert({
        _id: id,
        capacity: 10_000,
        agentIds: [],
        leaseMs: 10_000,
        alive: true,
        lastSeenAt: ago(1_000),
        expiresAt: ago(-9_000),
        ...fields,
      });
    await record('sa-live', { agentIds: listed, capacity: listed.length + 2 });
    await record('sa-gone', { alive: false });
    await record('sa-quiet', { agentIds: [], capacity: 0 });
    const bus = {
      publish: async () => undefined,
      ping: async () => undefined,
      queueStats: async () => ({ messages: 0 }),
    } as unknown as Bus;
    const scheduler = new Scheduler(
      { bus, store: target, clock: { now: () => NOW }, logger: silentLogger(), metrics: new DroverMetrics('plans') },
      {
        tickMs: 1_000,
        startTimeoutMs: 60_000,
        rotation: { enabled: true, sliceMs: 600_000 },
        sessionHeartbeatMs: 1_000,
        monotonic: () => monotonic,
      },
    );
    await scheduler.tick();
    await record('sa-live', { agentIds: listed.slice(1), capacity: listed.length + 2, lastSeenAt: ago(500) });
    monotonic = 1_000;
    await scheduler.tick();
    monotonic = 60_000; // sa-quiet lapsed; the sweep is due again
    await scheduler.tick();
    await scheduler.stop();
    await observeFleet(bus, target, new DroverMetrics('plans'));

    // Persistence agent: events applied, rebuilt, outcomes; commands; heartbeats and activities.
    const feed = new FeedWriter(target, bus, silentLogger());
    const projector = new AgentViewsProjector(target, feed);
    const lease = await target.locks.acquire('agent:new-1', 'plans', 60_000);
    const start = { behavior: 'http-monitor', config: { url: 'http://x/' }, attempt: 1 };
    for (const version of [1, 2]) {
      const events = [
        version === 1
          ? { type: 'agent.start-requested', data: start }
          : { type: 'agent.queued', data: { reason: 'full' } },
      ];
      await target.streams.append(
        {
          agentId: 'new-1',
          version,
          commandId: `new-1-${version}`,
          events: events as never,
          outbox: [],
          committedAt: ago(0),
        },
        lease!,
      );
    }
    const event = (version: number, type: string, data: Record<string, unknown>) => ({
      messageId: `new-1:${version}:0`,
      type,
      agentId: 'new-1',
      version,
      commandId: `new-1-${version}`,
      occurredAt: ago(0),
      data,
      eventsInCommit: 1,
    });
    await projector.onEvent(delivery(event(1, 'agent.start-requested', start)));
    await projector.onEvent(delivery({ ...event(2, 'agent.queued', { reason: 'full' }), eventsInCommit: undefined }));
    await projector.onEvent(
      delivery({
        messageId: 'o',
        type: 'command.rejected',
        commandId: 'c-x',
        agentId: 'agent-00001',
        code: 'agent_active',
        message: 'm',
        occurredAt: ago(0),
      }),
    );
    await new CommandLog(target).onCommand(
      delivery({ messageId: 'c-y', type: 'agent.stop', agentId: 'agent-00001', payload: {} }),
    );
    const recorder = new ReportsRecorder(target, silentLogger(), feed);
    const report = { instanceId: 'sa-live', occurredAt: ago(0) };
    await recorder.onReport(
      delivery({
        messageId: 'h',
        type: 'session.heartbeat',
        ...report,
        capacity: 10,
        agentIds: ['agent-00001'],
        leaseMs: 10_000,
        alive: true,
      }),
    );
    await recorder.onReport(
      delivery({
        messageId: 'act',
        type: 'session.activity',
        agentId: 'agent-00001',
        attempt: 1,
        ...report,
        payload: { kind: 'http.check', ok: true },
      }),
    );

    // Gateway queries and the session agents' tasks (cookies, behaviour state: by id).
    const queries = new ReadQueries(target);
    await queries.answer({ query: 'agent.get', agentId: 'agent-00001' });
    await queries.answer({ query: 'command.get', commandId: 'cmd-agent-00001' });
    await queries.answer({ query: 'agent.list', limit: 50 });
    await queries.answer({ query: 'agent.list', limit: 50, cursor: 'agent-02000' });
    await queries.answer({ query: 'agent.list', status: 'running', limit: 50 });
    await queries.answer({ query: 'agent.list', status: 'running', limit: 50, cursor: 'agent-02000' });
    await queries.answer({ query: 'activity.list', agentId: 'agent-00001', limit: 20 });
    await queries.answer({ query: 'activity.list', agentId: 'agent-00001', limit: 20, cursor: ago(60_000) });
    await queries.answer({ query: 'feed.list', limit: 500 });
    await queries.answer({ query: 'feed.list', after: '1', limit: 500 });
    await queries.answer({ query: 'feed.list', agentId: 'agent-00001', after: '1', limit: 500 });
    const tasks = new PersistenceTasks(target);
    const session = { agentId: 'agent-00001', attempt: 1, instanceId: 'sa-live' };
    await tasks.run({
      op: 'findOne',
      collection: 'agent_cookies',
      filter: { field: '_id', op: 'eq', value: 'agent-00001' },
    });
    await tasks.run({
      op: 'upsert',
      collection: 'agent_cookies',
      id: 'agent-00001',
      document: { cookies: [] },
      session,
    });
  }

  it('ran every kind of operation the services use', () => {
    const kinds = new Set(calls.map((call) => `${call.collection}.${call.method}`));
    for (const kind of [
      'agents.find',
      'agents.get',
      'agents.count',
      'agents.update',
      'activities.find',
      'activities.insert',
      'commands.update',
      'commands.get',
      'session_agents.find',
      'session_agents.update',
      'agent_cookies.findOne',
    ]) {
      expect(kinds).toContain(kind);
    }
    // Each scheduler rule asked for its candidates (the filters name the fields each index serves).
    const fields = new Set(calls.flatMap((call) => fieldsOf(call.filter).map((f) => `${call.collection}.${f.field}`)));
    for (const field of [
      'retryAt',
      'updatedAt',
      'startedAt',
      'instanceId',
      'schedule.start',
      'schedule.stop',
      'requeue',
    ]) {
      expect(fields).toContain(`agents.${field}`);
    }
    expect(calls.some((call) => call.options?.sort?.[0]?.field === 'queuedAt')).toBe(true);
  });

  it('SQLite: no statement scans a table, or sorts every match of a page', () => {
    const plans = new Database(join(dir, 'drover.sqlite'), { readonly: true });
    try {
      const checked = statements.filter((s) => /^\s*(SELECT|UPDATE|DELETE|INSERT)\b/i.test(s.sql));
      expect(checked.length).toBeGreaterThan(50);
      const failures: string[] = [];
      for (const { sql, params } of checked) {
        if (READ_WHOLE_SQL.test(sql)) continue;
        const plan = (plans.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(params as never[])) as { detail: string }[])
          .map((row) => row.detail)
          .join('; ');
        const verdict = sqliteVerdict(sql, params, plan);
        if (process.env.SHOW_PLANS) console.log(`${plan}\n  ${sql.slice(0, 300)}`);
        if (verdict) failures.push(`${verdict}\n  ${sql}\n  plan: ${plan}`);
      }
      expect(failures).toEqual([]);
    } finally {
      plans.close();
    }
  });

  it('the checks fail on what they guard against', () => {
    const plans = new Database(join(dir, 'drover.sqlite'), { readonly: true });
    try {
      const verdict = (where: string, params: unknown[]) => {
        const sql = `SELECT id, doc FROM documents WHERE collection = 'agents' AND (${where}) ORDER BY json_extract(doc, '$.agentId') ASC, +id ASC LIMIT ? OFFSET ?`;
        const plan = (plans.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...(params as never[])) as { detail: string }[])
          .map((row) => row.detail)
          .join('; ');
        return sqliteVerdict(sql, params, plan);
      };
      expect(verdict(`json_extract(doc, '$.behavior') = ?`, ['http-monitor', 10, 0])).toMatch(/scans/);
      expect(verdict(`json_extract(doc, '$.status') = ?`, ['running', 10, 0])).toBe('sorts every match of a page');
      expect(verdict(`json_extract(doc, '$.status') = ?`, ['running', -1, 0])).toBeUndefined();
    } finally {
      plans.close();
    }
    const find = (filter: Filter, options: FindOptions = {}): Call => ({
      collection: 'agents',
      method: 'find',
      filter,
      options,
    });
    expect(mongoVerdict(find({ field: 'behavior', op: 'eq', value: 'x' }))).toBe('no index serves it');
    expect(
      mongoVerdict(
        find(
          { field: 'status', op: 'eq', value: 'queued' },
          { sort: [{ field: 'agentId', direction: 'asc' }], limit: 5 },
        ),
      ),
    ).toBe('no index serves it');
    expect(
      mongoVerdict(
        find(
          { field: 'status', op: 'eq', value: 'queued' },
          { sort: [{ field: 'queuedAt', direction: 'asc' }], limit: 5 },
        ),
      ),
    ).toBeUndefined();
    expect(mongoVerdict({ collection: 'agents', method: 'count' })).toBe('reads the whole collection');
  });

  it('MongoDB 7: a declared index (or _id) serves every filter, and every page in its sort order', () => {
    const failures = calls
      .filter((call) => call.filter !== undefined || call.method === 'find')
      .filter((call) => !READ_WHOLE.has(call.collection as never))
      .map((call) => ({ call, verdict: mongoVerdict(call) }))
      .filter(({ verdict }) => verdict !== undefined)
      .map(
        ({ call, verdict }) =>
          `${verdict}: ${call.collection}.${call.method} ${JSON.stringify(call.filter)} ${JSON.stringify(call.options ?? {})}`,
      );
    expect(failures).toEqual([]);
  });
});

/** The scheduler's read of every session-agent record (`READ_WHOLE`). */
const READ_WHOLE_SQL = /WHERE collection = 'session_agents' AND \(1\)/;

/**
 * Why a SQLite plan fails, or undefined: a table scan; a walk of a whole index without a limit;
 * a page (a positive LIMIT) that sorts every match instead of reading them in index order.
 */
function sqliteVerdict(sql: string, params: unknown[], plan: string): string | undefined {
  if (/\bSCAN (documents|commits|leases)\b(?! USING)/.test(plan)) return 'scans a table';
  // The primary key (collection, id) searched by collection alone reads the whole collection.
  if (/USING (INDEX sqlite_autoindex_documents_1|PRIMARY KEY) \(collection=\?\)/.test(plan))
    return 'scans a collection';
  const limit = /LIMIT \? OFFSET \?\s*$/.test(sql) ? Number(params.at(-2)) : -1;
  const page = limit > 0;
  const wholeIndex =
    /\bSCAN (documents|commits|leases) USING/.test(plan) || /USING INDEX \S+ \(collection=\?\)/.test(plan);
  if (wholeIndex && (!page || /USE TEMP B-TREE FOR ORDER BY/.test(plan))) return 'scans a whole index';
  if (page && /USE TEMP B-TREE FOR ORDER BY/.test(plan)) return 'sorts every match of a page';
  return undefined;
}

interface Leaf {
  field: string;
  op: string;
}

/** The leaves of a filter that is a conjunction (the only shape the services use besides a leaf). */
function fieldsOf(filter: Filter | undefined): Leaf[] {
  if (!filter) return [];
  if ('and' in filter) return filter.and.flatMap(fieldsOf);
  if ('or' in filter || 'not' in filter) return [{ field: '$complex', op: 'complex' }];
  return [{ field: filter.field, op: filter.op }];
}

const EQUALITY = new Set(['eq', 'in']);
const RANGE = new Set(['gt', 'gte', 'lt', 'lte']);

/**
 * Why MongoDB 7 would scan for this call, or sort every match of a page, or undefined when an
 * index serves it. The rule is MongoDB's for a compound index: its leading fields must be the
 * query's equality fields (any order), then, for a page, the sort fields in order (the adapter
 * appends `_id` to every sort), and a range field must come right after the equality fields
 * when nothing is sorted. An equality on `_id` is served by `_id`'s own index.
 */
function mongoVerdict(call: Call): string | undefined {
  const leaves = fieldsOf(call.filter);
  if (leaves.some((leaf) => leaf.field === '$complex')) return 'or/not filter';
  if (leaves.some((leaf) => leaf.field === '_id' && leaf.op === 'eq')) return undefined;
  const equal = new Set(leaves.filter((leaf) => EQUALITY.has(leaf.op)).map((leaf) => leaf.field));
  const ranged = leaves.filter((leaf) => RANGE.has(leaf.op)).map((leaf) => leaf.field);
  const page = call.method === 'find' && (call.options?.limit ?? 0) > 0;
  const sort = page ? sortFields(call.options?.sort) : [];
  const indexes = [
    ['_id'],
    ...READ_SIDE_INDEXES.filter((index) => index.collection === call.collection).map((index) => index.fields),
  ];
  const serves = (fields: string[]) => {
    // The index's leading fields the query fixes by equality; any other condition is a filter
    // on what the index found.
    let fixed = 0;
    while (fixed < fields.length && equal.has(fields[fixed]!)) fixed += 1;
    const rest = fields.slice(fixed);
    if (fixed === 0 && !(ranged.length > 0 && ranged.includes(rest[0]!)) && !(page && sort[0] === rest[0]))
      return false;
    const order = sort.filter((field) => !fields.slice(0, fixed).includes(field));
    return order.every((field, i) => rest[i] === field);
  };
  if (!equal.size && !ranged.length && !page) return 'reads the whole collection';
  return indexes.some(serves) ? undefined : 'no index serves it';
}

function sortFields(sort: Sort | undefined): string[] {
  const fields = (sort ?? []).map((key) => key.field);
  return fields.includes('_id') ? fields : [...fields, '_id'];
}
