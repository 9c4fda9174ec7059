import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentEvent, Filter } from '@drover/contracts';
import type { Fence, NewCommit } from '../agent-streams.port';
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

/** Takes the agent's lease for an append (every append states the lease it is made under). */
async function fenceOf(store: Store, agentId: string, owner = 'contract', ttlMs = 60_000): Promise<Fence> {
  const lease = await store.locks.acquire(`agent:${agentId}`, owner, ttlMs);
  assert.ok(lease, `lease of ${agentId} is free`);
  return lease;
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
 * The behaviour every Store adapter must show. Registers jest suites; `open` is called
 * once for the suite and the store is closed (or passed to `teardown`) afterwards.
 */
const ref = (c: NewCommit) => ({ agentId: c.agentId, version: c.version, commandId: c.commandId });

export function storeContract(name: string, open: () => Promise<Store>, teardown?: (s: Store) => Promise<void>): void {
  describe(`store contract: ${name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await open();
    });
    afterAll(async () => {
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
    const append = async (c: NewCommit) => store().streams.append(c, await fenceOf(store(), c.agentId));

    it('appends optimistically by version', async () => {
      const agentId = unique('agent');
      const first = await append(commit(agentId, 1));
      expect(first.status).toBe('appended');
      expect(await append(commit(agentId, 1))).toEqual({ status: 'conflict' });
      expect(await append(commit(agentId, 3))).toEqual({ status: 'conflict' });
      expect((await append(commit(agentId, 2))).status).toBe('appended');
    });

    it('answers a repeated commandId with the first commit', async () => {
      const agentId = unique('agent');
      const original = commit(agentId, 1);
      await append(original);
      const again = await append({ ...original, version: 2, events: [] });
      expect(again.status).toBe('duplicate');
      assert.ok(again.status === 'duplicate');
      expect(again.commit).toEqual({ agentId, version: 1, commandId: original.commandId });
      expect(await store().streams.load(agentId)).toEqual([original]);
    });

    it('commits a command id once across streams', async () => {
      const original = commit(unique('agent'), 1);
      await append(original);
      const elsewhere = await append({ ...original, agentId: unique('agent') });
      expect(elsewhere.status).toBe('duplicate');
      expect(await store().streams.findByCommandId(original.commandId)).toEqual(ref(original));
    });

    it('loads in version order from a version on', async () => {
      const agentId = unique('agent');
      for (const version of [1, 2, 3]) await append(commit(agentId, version));
      const all = await store().streams.load(agentId);
      expect(all.map((c) => c.version)).toEqual([1, 2, 3]);
      const tail = await store().streams.load(agentId, 2);
      expect(tail.map((c) => c.version)).toEqual([2, 3]);
      expect(await store().streams.load(unique('agent'))).toEqual([]);
    });

    describe('snapshots', () => {
      /** Commits 1..n, the first `relayed` of them marked dispatched. */
      const history = async (agentId: string, n: number, relayed = n) => {
        const commits = [];
        for (let version = 1; version <= n; version += 1) {
          const c = commit(agentId, version);
          await append(c);
          if (version <= relayed) await store().outbox.markDispatched(agentId, version, new Date().toISOString());
          commits.push(c);
        }
        return commits;
      };
      const snapshot = (version: number) => ({
        version,
        state: { folded: version },
        takenAt: new Date().toISOString(),
      });

      it('loads the head from the latest snapshot: the commits after it only', async () => {
        const agentId = unique('agent');
        expect(await store().streams.loadHead(agentId)).toEqual({ commits: [] });
        await history(agentId, 3);
        const fourth = commit(agentId, 4);
        const third = snapshot(3);
        expect((await store().streams.append(fourth, await fenceOf(store(), agentId), third)).status).toBe('appended');
        expect(await store().streams.loadHead(agentId)).toEqual({ snapshot: third, commits: [fourth] });
        // The commits the snapshot covers may be dropped; what is kept stays contiguous up to the head.
        const kept = (await store().streams.load(agentId)).map((c) => c.version);
        expect(kept).toEqual(Array.from({ length: kept.length }, (_, i) => 5 - kept.length + i));
        const fifth = commit(agentId, 5);
        expect((await append(fifth)).status).toBe('appended');
        expect((await store().streams.loadHead(agentId)).commits).toEqual([fourth, fifth]);
      });

      it('still answers a command the snapshot covers as a duplicate', async () => {
        const agentId = unique('agent');
        const [first] = await history(agentId, 3);
        await store().streams.append(commit(agentId, 4), await fenceOf(store(), agentId), snapshot(3));
        expect(await store().streams.findByCommandId(first!.commandId)).toEqual(ref(first!));
        const again = await append({ ...first!, version: 5 });
        expect(again).toEqual({ status: 'duplicate', commit: ref(first!) });
        const elsewhere = await append({ ...first!, agentId: unique('agent') });
        expect(elsewhere.status).toBe('duplicate');
      });

      it('keeps a commit not relayed yet in the outbox when a snapshot covers it', async () => {
        const agentId = unique('agent');
        const [, second] = await history(agentId, 2, 1);
        const third = commit(agentId, 3);
        await store().streams.append(third, await fenceOf(store(), agentId), snapshot(2));
        const pending = (await store().outbox.pending(1_000)).filter((c) => c.agentId === agentId);
        expect(pending).toEqual([second, third]);
      });

      it('refuses a snapshot that is not of the version just before the commit', async () => {
        const agentId = unique('agent');
        await history(agentId, 2);
        const fence = await fenceOf(store(), agentId);
        await expect(store().streams.append(commit(agentId, 3), fence, snapshot(1))).rejects.toThrow(
          /must be of version 2/,
        );
        expect((await store().streams.loadHead(agentId)).snapshot).toBe(undefined);
      });
    });

    it('finds a commit by commandId', async () => {
      const original = commit(unique('agent'), 1);
      await append(original);
      expect(await store().streams.findByCommandId(original.commandId)).toEqual(ref(original));
      expect(await store().streams.findByCommandId(unique('cmd'))).toBe(undefined);
    });

    it('keeps the type of the message that made a commit, also once a snapshot covers it', async () => {
      const agentId = unique('agent');
      const typed = commit(agentId, 1, { commandType: 'agent.start' });
      await append(typed);
      const typedRef = { ...ref(typed), commandType: 'agent.start' };
      expect(await store().streams.findByCommandId(typed.commandId)).toStrictEqual(typedRef);
      expect((await store().streams.load(agentId))[0]?.commandType).toBe('agent.start');
      await store().outbox.markDispatched(agentId, 1, new Date().toISOString());
      const covered = { version: 1, state: {}, takenAt: new Date().toISOString() };
      await store().streams.append(commit(agentId, 2), await fenceOf(store(), agentId), covered);
      expect(await store().streams.findByCommandId(typed.commandId)).toStrictEqual(typedRef);
      expect(await append({ ...typed, version: 3 })).toStrictEqual({ status: 'duplicate', commit: typedRef });
    });
  });

  describe('fencing', () => {
    /** The first holder's lease, already expired, and a second holder that took it over. */
    const takenOver = async (agentId: string) => {
      const stale = await fenceOf(store(), agentId, 'engine-a', 1);
      await sleep(5);
      const current = await fenceOf(store(), agentId, 'engine-b');
      expect(current.token).toBeGreaterThan(stale.token);
      return { stale, current };
    };

    it('refuses an append under a lease that was taken over, before and after the new holder appends', async () => {
      const agentId = unique('agent');
      const { stale, current } = await takenOver(agentId);
      expect(await store().streams.append(commit(agentId, 1), stale)).toEqual({ status: 'fenced' });
      expect((await store().streams.append(commit(agentId, 1), current)).status).toBe('appended');
      expect(await store().streams.append(commit(agentId, 2), stale)).toEqual({ status: 'fenced' });
      expect((await store().streams.append(commit(agentId, 2), current)).status).toBe('appended');
      expect((await store().streams.load(agentId)).map((c) => c.version)).toEqual([1, 2]);
    });

    it('keeps a refused command uncommitted, so its next holder can commit it', async () => {
      const agentId = unique('agent');
      const { stale, current } = await takenOver(agentId);
      const refused = commit(agentId, 1);
      expect(await store().streams.append(refused, stale)).toEqual({ status: 'fenced' });
      expect(await store().streams.findByCommandId(refused.commandId)).toBe(undefined);
      expect((await store().streams.append(refused, current)).status).toBe('appended');
    });

    it('answers a stale holder that repeats a committed command with the commit', async () => {
      const agentId = unique('agent');
      const first = await fenceOf(store(), agentId, 'engine-a', 1);
      const original = commit(agentId, 1);
      await store().streams.append(original, first);
      await sleep(5);
      await fenceOf(store(), agentId, 'engine-b');
      const again = await store().streams.append({ ...original, version: 2 }, first);
      expect(again.status).toBe('duplicate');
    });
  });
}

function describeOutbox(store: () => Store): void {
  describe('outbox', () => {
    it('lists pending commits oldest first until dispatched', async () => {
      const [a, b] = [unique('agent-a'), unique('agent-b')];
      const old = '2001-01-01T00:00:0';
      const append = async (c: NewCommit) => store().streams.append(c, await fenceOf(store(), c.agentId));
      await append(commit(b, 1, { committedAt: `${old}2.000Z` }));
      await append(commit(a, 1, { committedAt: `${old}1.000Z` }));
      await append(commit(a, 2, { committedAt: `${old}3.000Z` }));
      const mine = async (limit: number, before?: string) =>
        (await store().outbox.pending(limit, before))
          .filter((c) => c.agentId === a || c.agentId === b)
          .map((c) => `${c.agentId === a ? 'a' : 'b'}${c.version}`);

      expect(await mine(100, '2001-01-02T00:00:00.000Z')).toEqual(['a1', 'b1', 'a2']);
      expect(await mine(100, `${old}3.000Z`)).toEqual(['a1', 'b1']);
      expect(await mine(2, '2001-01-02T00:00:00.000Z')).toEqual(['a1', 'b1']);
      expect((await mine(1000)).includes('a2')).toBeTruthy();

      await store().outbox.markDispatched(a, 1, new Date().toISOString());
      expect(await mine(100, '2001-01-02T00:00:00.000Z')).toEqual(['b1', 'a2']);
      const [loaded] = await store().streams.load(a, 1);
      expect(loaded?.dispatchedAt).toBeTruthy();
    });
  });
}

function describeLocks(store: () => Store): void {
  describe('locks', () => {
    it('grants a free key and blocks other owners', async () => {
      const key = unique('lock');
      const lease = await store().locks.acquire(key, 'one', 10_000);
      assert.ok(lease);
      expect(lease.owner).toBe('one');
      assert.ok(lease.expiresAt > Date.now());
      expect(await store().locks.acquire(key, 'two', 10_000)).toBe(undefined);
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
      expect(await store().locks.renew(stale, 10_000)).toBe(undefined);
      await store().locks.release(stale);
      expect(await store().locks.acquire(key, 'three', 10_000)).toBe(undefined);
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
      expect(await people.get('x')).toEqual(doc);
      expect(await people.get('y')).toBe(undefined);
      await assert.rejects(people.insert({ _id: 'x' }), DuplicateKeyError);
    });

    describeFilters(store);

    it('sorts, limits and skips', async () => {
      const people = await seeded(store());
      const asc = await people.find(undefined, { sort: [{ field: 'name', direction: 'asc' }] });
      expect(asc.map((d) => d._id)).toEqual(['a', 'b', 'c', 'd']);
      const page = await people.find(
        { field: 'age', op: 'gte', value: 0 },
        { sort: [{ field: 'age', direction: 'desc' }], skip: 1, limit: 1 },
      );
      expect(page.map((d) => d._id)).toEqual(['a']);
      const nested = await people.find(
        { field: 'address.city', op: 'exists', value: true },
        {
          sort: [
            { field: 'address.city', direction: 'desc' },
            { field: 'name', direction: 'desc' },
          ],
        },
      );
      expect(nested.map((d) => d._id)).toEqual(['b', 'd', 'a']);
      expect((await people.findOne({ field: 'name', op: 'eq', value: 'bob' }))?._id).toBe('b');
      expect(await people.findOne({ field: 'name', op: 'eq', value: 'zed' })).toBe(undefined);
    });

    it('updates with set, unset and inc over dot paths', async () => {
      const people = await seeded(store());
      const oslo: Filter = { field: 'address.city', op: 'eq', value: 'oslo' };
      const changed = await people.update(oslo, {
        set: { 'address.zip': '0150', 'meta.tag': 'x' },
        unset: ['active'],
        inc: { visits: 2, 'meta.count': 1 },
      });
      expect(changed).toBe(2);
      expect(await people.get('a')).toEqual({
        _id: 'a',
        name: 'ann',
        age: 30,
        born: '1994-01-01T00:00:00.000Z',
        address: { city: 'oslo', zip: '0150' },
        meta: { tag: 'x', count: 1 },
        visits: 2,
      });
      expect(await people.update({ field: 'name', op: 'eq', value: 'ann' }, { inc: { visits: 3 } })).toBe(1);
      expect((await people.get('a'))?.visits).toBe(5);
      expect(await people.update({ field: 'name', op: 'eq', value: 'zed' }, { set: { x: 1 } })).toBe(0);
      expect((await people.get('b'))?.visits).toBe(undefined);
    });

    it('upserts by replacing the whole document', async () => {
      const people = await seeded(store());
      await people.upsert({ _id: 'a', replaced: true });
      expect(await people.get('a')).toEqual({ _id: 'a', replaced: true });
      await people.upsert({ _id: 'z', fresh: 1 });
      expect(await people.get('z')).toEqual({ _id: 'z', fresh: 1 });
    });

    it('deletes and counts', async () => {
      const people = await seeded(store());
      expect(await people.count()).toBe(4);
      expect(await people.count({ field: 'active', op: 'eq', value: true })).toBe(2);
      expect(await people.delete({ field: 'active', op: 'eq', value: true })).toBe(2);
      expect(await people.count()).toBe(2);
      expect(await people.delete({ field: 'name', op: 'eq', value: 'zed' })).toBe(0);
    });

    it('sorts by _id, alone or after an indexed field', async () => {
      const people = await seeded(store());
      await people.ensureIndex(['active', '_id']);
      const desc = await people.find(undefined, { sort: [{ field: '_id', direction: 'desc' }] });
      expect(desc.map((d) => d._id)).toEqual(['d', 'c', 'b', 'a']);
      const active = await people.find(
        { field: 'active', op: 'eq', value: true },
        { sort: [{ field: '_id', direction: 'desc' }], skip: 1 },
      );
      expect(active.map((d) => d._id)).toEqual(['a']);
    });

    it('deletes by a list of _id exactly those that exist', async () => {
      const people = await seeded(store());
      expect(await people.delete({ field: '_id', op: 'in', value: ['a', 'c', 'zed'] })).toBe(2);
      expect(await idsOf(people)).toEqual(['b', 'd']);
      expect(await people.delete({ field: '_id', op: 'in', value: ['a', 'c'] })).toBe(0);
    });

    // What retention does to an agent's activity log while someone pages it (docs/operations.md, "Retention").
    it('keeps keyed pages exact while older entries are deleted in batches between them', async () => {
      const log = store().documents.collection(uniqueCollection());
      await log.ensureIndex(['agentId', '_id']);
      const idOf = (i: number) => `2026-01-01T00:00:${String(i).padStart(2, '0')}.000Z|m-${i}`;
      for (let i = 0; i < 30; i += 1) {
        await log.insert({ _id: idOf(i), agentId: 'x', n: i });
        await log.insert({ _id: `${idOf(i)}-other`, agentId: 'y', n: i });
      }
      const newestFirst = { sort: [{ field: '_id', direction: 'desc' as const }] };
      const pageAfter = async (cursor: string | undefined, limit: number) => {
        const filters: Filter[] = [{ field: 'agentId', op: 'eq', value: 'x' }];
        if (cursor) filters.push({ field: '_id', op: 'lt', value: cursor });
        return (await log.find({ and: filters }, { ...newestFirst, limit })).map((doc) => doc.n);
      };
      /** Keeps the agent's newest `keep`, deleting the rest two at a time, as retention does. */
      const keepNewest = async (keep: number) => {
        for (;;) {
          const excess = await log.find(
            { field: 'agentId', op: 'eq', value: 'x' },
            { ...newestFirst, skip: keep, limit: 2 },
          );
          if (excess.length === 0) return;
          await log.delete({ field: '_id', op: 'in', value: excess.map((doc) => doc._id) });
        }
      };
      const first = await pageAfter(undefined, 10);
      expect(first).toEqual([29, 28, 27, 26, 25, 24, 23, 22, 21, 20]);
      await keepNewest(15);
      expect(await pageAfter(idOf(20), 10)).toEqual([19, 18, 17, 16, 15]);
      // The cursor's own entry may be gone by the next read: the page goes on after it.
      await keepNewest(8);
      expect(await pageAfter(idOf(20), 10)).toEqual([]);
      expect(await pageAfter(idOf(25), 10)).toEqual([24, 23, 22]);
      expect(await log.count({ field: 'agentId', op: 'eq', value: 'y' })).toBe(30);
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
      expect(await people.count()).toBe(5);
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
    ['gt _id', { field: '_id', op: 'gt', value: 'b' }, ['c', 'd']],
    ['lte _id', { field: '_id', op: 'lte', value: 'b' }, ['a', 'b']],
    ['lt _id with a number matches nothing (ids are strings)', { field: '_id', op: 'lt', value: 100 }, []],
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
    beforeAll(async () => {
      people = await seeded(store());
    });

    it('returns everything without a filter', async () => {
      expect(await idsOf(people)).toEqual(['a', 'b', 'c', 'd']);
    });

    for (const [title, filter, expected] of cases) {
      it(title, async () => {
        expect(await idsOf(people, filter)).toEqual(expected);
      });
    }

    it('rejects invalid field paths', async () => {
      await assert.rejects(people.find({ field: "x') OR 1=1 --", op: 'eq', value: 1 }));
    });

    it('refuses field paths through __proto__, constructor or prototype, and pollutes nothing', async () => {
      const id = unique('proto');
      await people.insert({ _id: id, name: 'p' });
      const byId = { field: '_id', op: 'eq', value: id } as const;
      for (const path of ['__proto__.isAdmin', 'constructor.prototype.isAdmin', 'a.prototype']) {
        await assert.rejects(people.update(byId, { set: { [path]: true } }), /invalid field path/);
        await assert.rejects(people.update(byId, { inc: { [path]: 1 } }), /invalid field path/);
        await assert.rejects(people.update(byId, { unset: [path] }), /invalid field path/);
        await assert.rejects(people.find({ field: path, op: 'eq', value: true }), /invalid field path/);
      }
      expect(({} as Record<string, unknown>).isAdmin).toBe(undefined);
      expect(await people.get(id)).toEqual({ _id: id, name: 'p' });
    });
  });
}
