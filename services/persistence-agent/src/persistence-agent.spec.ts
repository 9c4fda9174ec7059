import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  Exchanges,
  RoutingKeys,
  type ActivityView,
  type AgentView,
  type CommandView,
  type Page,
  type PersistenceReply,
} from '@drover/contracts';
import { agentView, fold } from '@drover/domain';
import { DEATH_REASON_HEADER, DROVER_TOPOLOGY, Queues, type Delivery } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { SettlementWatch } from '@drover/testing';
import { PersistenceAgent } from './persistence-agent';
import { silentLogger, systemClock } from '@drover/runtime';

async function eventually<T>(check: () => Promise<T | undefined>, timeoutMs = 3_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(10);
  }
}

describe('persistence agent', () => {
  let bus: InMemoryBus;
  let store: Store;
  let agent: PersistenceAgent;
  /** The agent consumes through it: tells when the bus has settled a delivery. */
  let watch: SettlementWatch;

  beforeAll(async () => {
    bus = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [5] });
    store = openSqliteStore({ filename: ':memory:' });
    watch = new SettlementWatch(bus);
    agent = new PersistenceAgent({ bus: watch.bus, store, clock: systemClock, logger: silentLogger() });
    await agent.start();
  });
  afterAll(async () => {
    await agent.stop();
    await bus.close();
    await store.close();
  });

  const ask = <T>(body: Record<string, unknown>, key: string = RoutingKeys.readQuery) =>
    bus.request<PersistenceReply<T>>(Exchanges.persistence, key, body, { timeoutMs: 2_000 });
  const task = <T>(body: Record<string, unknown>) => ask<T>(body, RoutingKeys.persistenceTask);

  /** Commits like the engine does and publishes the commit's events. */
  async function commit(agentId: string, version: number, events: { type: string; data: Record<string, unknown> }[]) {
    const committedAt = new Date(Date.UTC(2026, 0, 1, 0, 0, version)).toISOString();
    const lease = await store.locks.acquire(`agent:${agentId}`, 'test-engine', 60_000);
    assert.ok(lease);
    await store.streams.append(
      {
        agentId,
        version,
        commandId: `cmd-${agentId}-${version}`,
        events: events as never,
        outbox: [],
        committedAt,
      },
      lease,
    );
    for (const [index, event] of events.entries()) {
      const messageId = `${agentId}:${version}:${index}`;
      const body = {
        messageId,
        ...event,
        agentId,
        version,
        commandId: `cmd-${agentId}-${version}`,
        occurredAt: committedAt,
      };
      await bus.publish(Exchanges.events, event.type, body, { messageId });
    }
  }

  const start = {
    type: 'agent.start-requested',
    data: {
      behavior: 'http-monitor',
      config: { url: 'http://x/', intervalMs: 100, password: 'pw' },
      proxy: 'http://bob:secret@proxy:8080',
      attempt: 1,
    },
  };
  const started = { type: 'agent.started', data: { instanceId: 'sa-1', attempt: 1 } };

  it('builds the redacted agent view from the events, equal to a fold of the stream', async () => {
    await commit('v-1', 1, [start]);
    await commit('v-1', 2, [started]);
    const reply = await eventually(async () => {
      const r = await ask<AgentView>({ query: 'agent.get', agentId: 'v-1' });
      return r.ok && r.result.version === 2 ? r : undefined;
    });
    expect(reply.ok).toBeTruthy();
    expect(reply.result).toEqual(agentView(fold('v-1', await store.streams.load('v-1'))));
    expect(reply.result.status).toBe('running');
    expect(!JSON.stringify(reply.result).includes('secret')).toBeTruthy();
    expect((reply.result.config as Record<string, unknown>).password).toBe('***');
  });

  it('never lets an older event roll a view back', async () => {
    // A relay that ran twice re-publishes version 1's event: the view stays at version 2.
    await bus.publish(
      Exchanges.events,
      'agent.start-requested',
      {
        messageId: 'v-1:1:0',
        ...start,
        agentId: 'v-1',
        version: 1,
        commandId: 'cmd-v-1-1',
        occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 0, 1)).toISOString(),
      },
      { messageId: 'v-1:1:0' },
    );
    await watch.settled(Queues.persistenceEvents, 'v-1:1:0');
    expect(watch.settlements(Queues.persistenceEvents)).not.toContain('retry');
    const reply = await ask<AgentView>({ query: 'agent.get', agentId: 'v-1' });
    expect(reply.ok && reply.result.status).toBe('running');
  });

  it('answers not_found for an unknown agent and command', async () => {
    const agentReply = await ask({ query: 'agent.get', agentId: 'nobody' });
    expect(!agentReply.ok && agentReply.error.code).toBe('not_found');
    const commandReply = await ask({ query: 'command.get', commandId: 'nope' });
    expect(!commandReply.ok && commandReply.error.code).toBe('not_found');
  });

  it('keeps an activity log of events and session activities, paged newest first', async () => {
    for (let i = 0; i < 5; i += 1) {
      const occurredAt = new Date(Date.UTC(2026, 0, 1, 0, 1, i)).toISOString();
      await bus.publish(Exchanges.reports, 'session.activity', {
        messageId: `act-${i}`,
        type: 'session.activity',
        agentId: 'v-1',
        instanceId: 'sa-1',
        attempt: 1,
        payload: { kind: 'http.check', ok: true, details: { status: 200, ms: i } },
        occurredAt,
      });
    }
    const all = await eventually(async () => {
      const r = await ask<Page<ActivityView>>({ query: 'activity.list', agentId: 'v-1', limit: 100 });
      return r.ok && r.result.items.length === 7 ? r.result : undefined;
    });
    expect(all.items.map((a) => a.kind)).toEqual([
      'http.check',
      'http.check',
      'http.check',
      'http.check',
      'http.check',
      'agent.started',
      'agent.start-requested',
    ]);
    assert.ok(!JSON.stringify(all).includes('secret'), 'event details are redacted');
    const seen: string[] = [];
    let cursor: string | undefined;
    do {
      const r = await ask<Page<ActivityView>>({
        query: 'activity.list',
        agentId: 'v-1',
        limit: 3,
        ...(cursor ? { cursor } : {}),
      });
      assert.ok(r.ok);
      seen.push(...r.result.items.map((a) => a.id));
      cursor = r.result.nextCursor ?? undefined;
    } while (cursor);
    expect(seen).toEqual(all.items.map((a) => a.id));
  });

  describe('a stale session (its host lost its lease; the agent was restarted on sa-2)', () => {
    const agentId = 'v-stale';
    beforeAll(async () => {
      await commit(agentId, 1, [start]);
      await commit(agentId, 2, [started]);
      await commit(agentId, 3, [
        { type: 'agent.interrupted', data: { reason: 'lease lapsed', retryAt: '2026-01-01T00:00:09.000Z' } },
      ]);
      await commit(agentId, 4, [{ type: 'agent.restarted', data: { attempt: 2 } }]);
      await commit(agentId, 5, [{ type: 'agent.started', data: { instanceId: 'sa-2', attempt: 2 } }]);
      await eventually(async () => {
        const r = await ask<AgentView>({ query: 'agent.get', agentId });
        return r.ok && r.result.version === 5 ? true : undefined;
      });
    });
    const session = (attempt: number, instanceId: string) => ({ agentId, attempt, instanceId });

    it("drops the stale session's activities and records its successor's", async () => {
      const activity = (messageId: string, attempt: number, instanceId: string) =>
        bus.publish(
          Exchanges.reports,
          'session.activity',
          {
            messageId,
            type: 'session.activity',
            agentId,
            instanceId,
            attempt,
            payload: { kind: 'feed.like', ok: true },
            occurredAt: new Date(Date.UTC(2026, 0, 1, 0, 2)).toISOString(),
          },
          { messageId },
        );
      await activity('stale-old-attempt', 1, 'sa-1');
      await activity('stale-other-host', 2, 'sa-1');
      await activity('current', 2, 'sa-2');
      for (const id of ['stale-old-attempt', 'stale-other-host', 'current']) {
        await watch.settled(Queues.persistenceReports, id);
      }
      const r = await ask<Page<ActivityView>>({ query: 'activity.list', agentId, limit: 100 });
      assert.ok(r.ok);
      const likes = r.result.items.filter((a) => a.kind === 'feed.like');
      expect(likes.map((a) => a.instanceId)).toEqual(['sa-2']);
    });

    it("refuses the stale session's cookie save and takes its successor's", async () => {
      const save = (attempt: number, instanceId: string, value: string) =>
        task({
          op: 'upsert',
          collection: 'agent_cookies',
          id: agentId,
          document: { cookies: [{ name: 'sid', value }] },
          session: session(attempt, instanceId),
        });
      const current = await save(2, 'sa-2', 'new');
      expect(current.ok).toBe(true);
      const stale = await save(1, 'sa-1', 'old');
      expect(!stale.ok && stale.error.code).toBe('stale_session');
      const staleHere = await save(2, 'sa-1', 'old');
      expect(!staleHere.ok && staleHere.error.code).toBe('stale_session');
      const doc = await store.documents.collection('agent_cookies').get(agentId);
      expect(doc?.cookies).toEqual([{ name: 'sid', value: 'new' }]);
    });

    it('refuses stale writes of a behaviour state too; writes without a session are unaffected', async () => {
      const write = (extra: Record<string, unknown>) =>
        task({ op: 'upsert', collection: 'agent_state', id: `${agentId}:likes`, document: { value: 3 }, ...extra });
      const stale = await write({ session: session(1, 'sa-1') });
      expect(!stale.ok && stale.error.code).toBe('stale_session');
      expect((await write({})).ok).toBe(true);
    });
  });

  it('records command outcomes: received, then accepted or rejected', async () => {
    await bus.publish(Exchanges.commands, 'agent.stop', {
      messageId: 'cmd-log-1',
      type: 'agent.stop',
      agentId: 'v-2',
      payload: {},
    });
    await bus.publish(Exchanges.events, 'command.rejected', {
      messageId: 'cmd-log-1:outcome',
      type: 'command.rejected',
      commandId: 'cmd-log-1',
      agentId: 'v-2',
      code: 'agent_not_found',
      message: 'agent v-2 does not exist',
      occurredAt: new Date().toISOString(),
    });
    const view = await eventually(async () => {
      const r = await ask<CommandView>({ query: 'command.get', commandId: 'cmd-log-1' });
      return r.ok && r.result.state === 'rejected' && r.result.type ? r.result : undefined;
    });
    expect(view.type).toBe('agent.stop');
    expect(view.error?.code).toBe('agent_not_found');
  });

  it("keeps the first command's log entry when its messageId is reused for another agent or type", async () => {
    const first = { messageId: 'cmd-log-reused', type: 'agent.start', agentId: 'v-3', payload: { behavior: 'x' } };
    await bus.publish(Exchanges.commands, first.type, first, { messageId: 'log-reused-0' });
    await watch.settled(Queues.persistenceCommands, 'log-reused-0');
    const reuses = [
      { ...first, agentId: 'v-4' },
      { messageId: first.messageId, type: 'agent.stop', agentId: 'v-3', payload: {} },
    ];
    for (const [n, reuse] of reuses.entries()) {
      await bus.publish(Exchanges.commands, reuse.type, reuse, { messageId: `log-reused-${n + 1}` });
      await watch.settled(Queues.persistenceCommands, `log-reused-${n + 1}`);
    }
    const r = await ask<CommandView>({ query: 'command.get', commandId: first.messageId });
    assert.ok(r.ok);
    expect(r.result).toMatchObject({ agentId: 'v-3', type: 'agent.start', state: 'received' });
  });

  it('renews a session-agent lease on every heartbeat, ignoring a late older one', async () => {
    const beat = (occurredAt: string, agentIds: string[]) => ({
      messageId: `hb-${occurredAt}`,
      type: 'session.heartbeat',
      instanceId: 'sa-9',
      capacity: 4,
      agentIds,
      leaseMs: 1_000,
      alive: true,
      occurredAt,
    });
    for (const [at, agentIds] of [
      ['2026-01-01T00:00:02.000Z', ['a']],
      ['2026-01-01T00:00:01.000Z', []],
    ] as const) {
      await bus.publish(Exchanges.reports, RoutingKeys.heartbeat, beat(at, [...agentIds]), { messageId: `hb-${at}` });
    }
    // Both beats handled and settled: the late older one had its chance to roll the lease back.
    await watch.settled(Queues.persistenceHeartbeats, 'hb-2026-01-01T00:00:02.000Z');
    await watch.settled(Queues.persistenceHeartbeats, 'hb-2026-01-01T00:00:01.000Z');
    const lease = await store.documents.collection('session_agents').get('sa-9');
    assert.ok(lease, 'the lease of sa-9 is recorded');
    expect(lease.agentIds).toEqual(['a']);
    expect(lease.expiresAt).toBe('2026-01-01T00:00:03.000Z');

    await bus.publish(Exchanges.reports, RoutingKeys.heartbeat, beat('2026-01-01T00:00:05.000Z', ['a', 'b']));
    const renewed = await eventually(async () => {
      const doc = await store.documents.collection('session_agents').get('sa-9');
      return doc?.lastSeenAt === '2026-01-01T00:00:05.000Z' ? doc : undefined;
    });
    expect(renewed.agentIds).toEqual(['a', 'b']);
    expect(renewed.expiresAt).toBe('2026-01-01T00:00:06.000Z');
  });

  describe('generic tasks', () => {
    it('inserts, finds with the filter language, updates, counts and deletes', async () => {
      for (const [id, score] of [
        ['p1', 1],
        ['p2', 5],
        ['p3', 9],
      ] as const) {
        const r = await task({
          op: 'insert',
          collection: 'profiles',
          document: { _id: id, score, tags: { vip: score > 4 } },
        });
        expect(r.ok).toBeTruthy();
      }
      const found = await task<{ _id: string }[]>({
        op: 'find',
        collection: 'profiles',
        filter: { and: [{ field: 'score', op: 'gte', value: 5 }, { not: { field: 'score', op: 'eq', value: 9 } }] },
      });
      expect(found.ok && found.result.map((d) => d._id)).toEqual(['p2']);
      const updated = await task<{ modified: number }>({
        op: 'update',
        collection: 'profiles',
        filter: { field: 'tags.vip', op: 'eq', value: true },
        update: { inc: { score: 1 } },
      });
      expect(updated.ok && updated.result.modified).toBe(2);
      const counted = await task<{ count: number }>({
        op: 'count',
        collection: 'profiles',
        filter: { field: 'score', op: 'in', value: [6, 10] },
      });
      expect(counted.ok && counted.result.count).toBe(2);
      const deleted = await task<{ deleted: number }>({
        op: 'delete',
        collection: 'profiles',
        filter: { field: '_id', op: 'nin', value: ['p1'] },
      });
      expect(deleted.ok && deleted.result.deleted).toBe(2);
    });

    it('answers a duplicate insert with conflict', async () => {
      await task({ op: 'insert', collection: 'dups', document: { _id: 'x' } });
      const again = await task({ op: 'insert', collection: 'dups', document: { _id: 'x' } });
      expect(!again.ok && again.error.code).toBe('conflict');
    });

    it('refuses writes to the read side but allows reads', async () => {
      const write = await task({
        op: 'delete',
        collection: 'agents',
        filter: { field: '_id', op: 'exists', value: true },
      });
      expect(!write.ok && write.error.code).toBe('forbidden');
      const read = await task<{ count: number }>({ op: 'count', collection: 'agents' });
      expect(read.ok && read.result.count >= 1).toBeTruthy();
    });

    it('answers an invalid task naming the field and dead-letters it with the reason', async () => {
      const dead: Delivery[] = [];
      await bus.subscribe('persistence.tasks.dead', async (d) => void dead.push(d));
      const reply = await task({ op: 'find', collection: 'Bad-Name' });
      expect(!reply.ok && reply.error.code).toBe('invalid_task');
      expect(!reply.ok ? reply.error.message : '').toMatch(/collection/);
      const letter = await eventually(async () => dead[0]);
      expect(String(letter.headers[DEATH_REASON_HEADER])).toMatch(/collection/);
    });
  });
});
