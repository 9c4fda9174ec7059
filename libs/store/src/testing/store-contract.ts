import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentEvent, Filter } from '@drover/contracts';
import type { NewCommit } from '../agent-streams.port';
import { type Collection, type Doc, DuplicateKeyError } from '../documents.port';
import type { Store } from '../store.port';

const STOPPED: AgentEvent = { type: 'agent.stopped', data: {} };

/** A fresh identifier so tests sharing one store never see each other's data. */
function unique(prefix: string): string {
  return `${prefix}-${randomUUID()}`;
}

/** A fresh collection name (collection names are lower-case identifiers). */
function uniqueCollection(): string {
  return `c_${randomUUID().replace(/-/g, '')}`;
}

function commit(agentId: string, version: number, overrides: Partial<NewCommit> = {}): NewCommit {
  return {
    agentId,
    version,
    commandId: unique('cmd'),
    events: [STOPPED],
    outbox: [{ exchange: 'drover.events', routingKey: 'agent.stopped', messageId: unique('msg'), body: {} }],
    committedAt: new Date().toISOString(),
    ...overrides,
  };
}

const PEOPLE: Doc[] = [
  { _id: 'a', name: 'ann', age: 30, born: '1994-01-01T00:00:00.000Z', active: true, address: { city: 'oslo' } },
  { _id: 'b', name: 'bob', age: 25, born: '1999-06-01T00:00:00.000Z', active: false, address: { city: 'rome' } },
  { _id: 'c', name: 'cid', age: 40, born: '1984-03-01T00:00:00.000Z', active: true, nick: null },
  { _id: 'd', name: 'dan', age: '40', address: { city: 'oslo' } },
];

async function seeded(store: Store): Promise<Collection> {
  const people = store.documents.collection(uniqueCollection());
  for (const person of PEOPLE) await people.insert(person);
  return people;
}

async function idsOf(collection: Collection, filter?: Filter): Promise<string[]> {
  const docs = await collection.find(filter);
  return docs.map((doc) => doc._id).sort();
}

/**
 * The behaviour every Store adapter must show. Registers node:test suites; `open` is called
 * once for the suite and the store is closed (or passed to `teardown`) afterwards.
 */
export function storeContract(name: string, open: () => Promise<Store>, teardown?: (s: Store) => Promise<void>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    before(async () => {
      store = await open();
    });
    after(async () => {
      await (teardown ? teardown(store) : store.close());
    });

    it('answers ping', async () => {
      await store.ping();
    });

    describeStreams(() => store);
    describeOutbox(() => store);
    describeLocks(() => store);
    describeDocuments(() => store);
  });
}

function describeStreams(store: () => Store): void {
  describe('streams', () => {
    it('appends optimistically by version', async () => {
      const agentId = unique('agent');
      const first = await store().streams.append(commit(agentId, 1));
      assert.equal(first.status, 'appended');
      assert.deepEqual(await store().streams.append(commit(agentId, 1)), { status: 'conflict' });
      assert.deepEqual(await store().streams.append(commit(agentId, 3)), { status: 'conflict' });
      assert.equal((await store().streams.append(commit(agentId, 2))).status, 'appended');
    });

    it('answers a repeated commandId with the first commit', async () => {
      const agentId = unique('agent');
      const original = commit(agentId, 1);
      await store().streams.append(original);
      const again = await store().streams.append({ ...original, version: 2, events: [] });
      assert.equal(again.status, 'duplicate');
      assert.ok(again.status === 'duplicate');
      assert.equal(again.commit.version, 1);
      assert.deepEqual(again.commit.events, original.events);
      assert.deepEqual(await store().streams.load(agentId), [original]);
    });

    it('loads in version order from a version on', async () => {
      const agentId = unique('agent');
      for (const version of [1, 2, 3]) await store().streams.append(commit(agentId, version));
      const all = await store().streams.load(agentId);
      assert.deepEqual(
        all.map((c) => c.version),
        [1, 2, 3],
      );
      const tail = await store().streams.load(agentId, 2);
      assert.deepEqual(
        tail.map((c) => c.version),
        [2, 3],
      );
      assert.deepEqual(await store().streams.load(unique('agent')), []);
    });

    it('finds a commit by commandId', async () => {
      const original = commit(unique('agent'), 1);
      await store().streams.append(original);
      assert.deepEqual(await store().streams.findByCommandId(original.commandId), original);
      assert.equal(await store().streams.findByCommandId(unique('cmd')), undefined);
    });
  });
}

function describeOutbox(store: () => Store): void {
  describe('outbox', () => {
    it('lists pending commits oldest first until dispatched', async () => {
      const [a, b] = [unique('agent-a'), unique('agent-b')];
      const old = '2001-01-01T00:00:0';
      await store().streams.append(commit(b, 1, { committedAt: `${old}2.000Z` }));
      await store().streams.append(commit(a, 1, { committedAt: `${old}1.000Z` }));
      await store().streams.append(commit(a, 2, { committedAt: `${old}3.000Z` }));
      const mine = async (limit: number, before?: string) =>
        (await store().outbox.pending(limit, before))
          .filter((c) => c.agentId === a || c.agentId === b)
          .map((c) => `${c.agentId === a ? 'a' : 'b'}${c.version}`);

      assert.deepEqual(await mine(100, '2001-01-02T00:00:00.000Z'), ['a1', 'b1', 'a2']);
      assert.deepEqual(await mine(100, `${old}3.000Z`), ['a1', 'b1']);
      assert.deepEqual(await mine(2, '2001-01-02T00:00:00.000Z'), ['a1', 'b1']);
      assert.ok((await mine(1000)).includes('a2'));

      await store().outbox.markDispatched(a, 1, new Date().toISOString());
      assert.deepEqual(await mine(100, '2001-01-02T00:00:00.000Z'), ['b1', 'a2']);
      const [loaded] = await store().streams.load(a, 1);
      assert.ok(loaded?.dispatchedAt);
    });
  });
}

function describeLocks(store: () => Store): void {
  describe('locks', () => {
    it('grants a free key and blocks other owners', async () => {
      const key = unique('lock');
      const lease = await store().locks.acquire(key, 'one', 10_000);
      assert.ok(lease);
      assert.equal(lease.owner, 'one');
      assert.ok(lease.expiresAt > Date.now());
      assert.equal(await store().locks.acquire(key, 'two', 10_000), undefined);
      const renewed = await store().locks.renew(lease, 20_000);
      assert.ok(renewed && renewed.expiresAt >= lease.expiresAt);
    });

    it('lets another owner take an expired lease with a larger token', async () => {
      const key = unique('lock');
      const stale = await store().locks.acquire(key, 'one', 20);
      assert.ok(stale);
      await sleep(40);
      const taken = await store().locks.acquire(key, 'two', 10_000);
      assert.ok(taken);
      assert.ok(taken.token > stale.token);
      assert.equal(await store().locks.renew(stale, 10_000), undefined);
      await store().locks.release(stale);
      assert.equal(await store().locks.acquire(key, 'three', 10_000), undefined);
    });

    it('frees a released key and keeps the token growing', async () => {
      const key = unique('lock');
      const first = await store().locks.acquire(key, 'one', 10_000);
      assert.ok(first);
      await store().locks.release(first);
      const second = await store().locks.acquire(key, 'two', 10_000);
      assert.ok(second);
      assert.ok(second.token > first.token);
    });
  });
}

function describeDocuments(store: () => Store): void {
  describe('documents', () => {
    it('inserts, gets and refuses a duplicate _id', async () => {
      const people = store().documents.collection(uniqueCollection());
      const doc: Doc = { _id: 'x', n: 1, nested: { list: [1, 2] } };
      await people.insert(doc);
      assert.deepEqual(await people.get('x'), doc);
      assert.equal(await people.get('y'), undefined);
      await assert.rejects(people.insert({ _id: 'x' }), DuplicateKeyError);
    });

    describeFilters(store);

    it('sorts, limits and skips', async () => {
      const people = await seeded(store());
      const asc = await people.find(undefined, { sort: [{ field: 'name', direction: 'asc' }] });
      assert.deepEqual(
        asc.map((d) => d._id),
        ['a', 'b', 'c', 'd'],
      );
      const page = await people.find(
        { field: 'age', op: 'gte', value: 0 },
        { sort: [{ field: 'age', direction: 'desc' }], skip: 1, limit: 1 },
      );
      assert.deepEqual(
        page.map((d) => d._id),
        ['a'],
      );
      const nested = await people.find(
        { field: 'address.city', op: 'exists', value: true },
        {
          sort: [
            { field: 'address.city', direction: 'desc' },
            { field: 'name', direction: 'desc' },
          ],
        },
      );
      assert.deepEqual(
        nested.map((d) => d._id),
        ['b', 'd', 'a'],
      );
      assert.equal((await people.findOne({ field: 'name', op: 'eq', value: 'bob' }))?._id, 'b');
      assert.equal(await people.findOne({ field: 'name', op: 'eq', value: 'zed' }), undefined);
    });

    it('updates with set, unset and inc over dot paths', async () => {
      const people = await seeded(store());
      const oslo: Filter = { field: 'address.city', op: 'eq', value: 'oslo' };
      const changed = await people.update(oslo, {
        set: { 'address.zip': '0150', 'meta.tag': 'x' },
        unset: ['active'],
        inc: { visits: 2, 'meta.count': 1 },
      });
      assert.equal(changed, 2);
      assert.deepEqual(await people.get('a'), {
        _id: 'a',
        name: 'ann',
        age: 30,
        born: '1994-01-01T00:00:00.000Z',
        address: { city: 'oslo', zip: '0150' },
        meta: { tag: 'x', count: 1 },
        visits: 2,
      });
      assert.equal(await people.update({ field: 'name', op: 'eq', value: 'ann' }, { inc: { visits: 3 } }), 1);
      assert.equal((await people.get('a'))?.visits, 5);
      assert.equal(await people.update({ field: 'name', op: 'eq', value: 'zed' }, { set: { x: 1 } }), 0);
      assert.equal((await people.get('b'))?.visits, undefined);
    });

    it('upserts by replacing the whole document', async () => {
      const people = await seeded(store());
      await people.upsert({ _id: 'a', replaced: true });
      assert.deepEqual(await people.get('a'), { _id: 'a', replaced: true });
      await people.upsert({ _id: 'z', fresh: 1 });
      assert.deepEqual(await people.get('z'), { _id: 'z', fresh: 1 });
    });

    it('deletes and counts', async () => {
      const people = await seeded(store());
      assert.equal(await people.count(), 4);
      assert.equal(await people.count({ field: 'active', op: 'eq', value: true }), 2);
      assert.equal(await people.delete({ field: 'active', op: 'eq', value: true }), 2);
      assert.equal(await people.count(), 2);
      assert.equal(await people.delete({ field: 'name', op: 'eq', value: 'zed' }), 0);
    });

    it('enforces unique indexes idempotently', async () => {
      const people = await seeded(store());
      await people.ensureIndex(['name'], { unique: true });
      await people.ensureIndex(['name'], { unique: true });
      await people.ensureIndex(['address.city', 'age']);
      await assert.rejects(people.insert({ _id: 'e', name: 'ann' }), DuplicateKeyError);
      await assert.rejects(people.upsert({ _id: 'b', name: 'ann' }), DuplicateKeyError);
      await people.insert({ _id: 'e', name: 'eve' });
      const other = store().documents.collection(uniqueCollection());
      await other.insert({ _id: 'a', name: 'ann' });
      assert.equal(await people.count(), 5);
    });
  });
}

function describeFilters(store: () => Store): void {
  const cases: [string, Filter, string[]][] = [
    ['eq string', { field: 'name', op: 'eq', value: 'ann' }, ['a']],
    ['eq number (not the string "40")', { field: 'age', op: 'eq', value: 40 }, ['c']],
    ['eq string "40" (not the number)', { field: 'age', op: 'eq', value: '40' }, ['d']],
    ['eq true', { field: 'active', op: 'eq', value: true }, ['a', 'c']],
    ['eq false', { field: 'active', op: 'eq', value: false }, ['b']],
    ['eq null matches null and missing', { field: 'nick', op: 'eq', value: null }, ['a', 'b', 'c', 'd']],
    ['eq null on a set field', { field: 'name', op: 'eq', value: null }, []],
    ['ne includes missing fields', { field: 'active', op: 'ne', value: true }, ['b', 'd']],
    ['ne null means present and not null', { field: 'address', op: 'ne', value: null }, ['a', 'b', 'd']],
    ['gt number', { field: 'age', op: 'gt', value: 30 }, ['c']],
    ['gte number', { field: 'age', op: 'gte', value: 30 }, ['a', 'c']],
    ['lt number', { field: 'age', op: 'lt', value: 30 }, ['b']],
    ['lte number', { field: 'age', op: 'lte', value: 30 }, ['a', 'b']],
    ['gt ISO string', { field: 'born', op: 'gt', value: '1990-01-01T00:00:00.000Z' }, ['a', 'b']],
    ['gte ISO string', { field: 'born', op: 'gte', value: '1994-01-01T00:00:00.000Z' }, ['a', 'b']],
    ['lt ISO string', { field: 'born', op: 'lt', value: '1994-01-01T00:00:00.000Z' }, ['c']],
    ['lte ISO string', { field: 'born', op: 'lte', value: '1994-01-01T00:00:00.000Z' }, ['a', 'c']],
    ['in', { field: 'name', op: 'in', value: ['ann', 'dan', 'zed'] }, ['a', 'd']],
    ['in with null', { field: 'active', op: 'in', value: [false, null] }, ['b', 'd']],
    ['in empty', { field: 'name', op: 'in', value: [] }, []],
    ['nin', { field: 'name', op: 'nin', value: ['ann', 'dan'] }, ['b', 'c']],
    ['nin includes missing fields', { field: 'active', op: 'nin', value: [true] }, ['b', 'd']],
    ['exists true', { field: 'nick', op: 'exists', value: true }, ['c']],
    ['exists false', { field: 'active', op: 'exists', value: false }, ['d']],
    ['nested dot path', { field: 'address.city', op: 'eq', value: 'oslo' }, ['a', 'd']],
    [
      'and',
      {
        and: [
          { field: 'address.city', op: 'eq', value: 'oslo' },
          { field: 'age', op: 'lt', value: 35 },
        ],
      },
      ['a'],
    ],
    [
      'or',
      {
        or: [
          { field: 'name', op: 'eq', value: 'bob' },
          { field: 'age', op: 'gte', value: 40 },
        ],
      },
      ['b', 'c'],
    ],
    ['not', { not: { field: 'address.city', op: 'eq', value: 'oslo' } }, ['b', 'c']],
  ];

  describe('find filters', () => {
    let people: Collection;
    before(async () => {
      people = await seeded(store());
    });

    it('returns everything without a filter', async () => {
      assert.deepEqual(await idsOf(people), ['a', 'b', 'c', 'd']);
    });

    for (const [title, filter, expected] of cases) {
      it(title, async () => {
        assert.deepEqual(await idsOf(people, filter), expected);
      });
    }

    it('rejects invalid field paths', async () => {
      await assert.rejects(people.find({ field: "x') OR 1=1 --", op: 'eq', value: 1 }));
    });
  });
}
