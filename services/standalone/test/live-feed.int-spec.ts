import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { MongoClient } from 'mongodb';
import type { FeedEntry } from '@drover/contracts';
import { silentLogger } from '@drover/runtime';
import { eventually, http, SseClient } from '@drover/testing';
import { startStandalone, type RunningSystem } from '../src/standalone-system';
import { standaloneConfig, writeFastProfile } from './standalone-process';

interface StoreUnderTest {
  name: string;
  env: Record<string, string>;
  dispose(): Promise<void>;
}

const mongoUrl = process.env.MONGO_URL;
const mongoDb = `drover_feed_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const stores: StoreUnderTest[] = [{ name: 'SQLite', env: {}, dispose: async () => undefined }];
if (mongoUrl) {
  stores.push({
    name: 'MongoDB',
    env: { MONGO_URL: mongoUrl, MONGO_DB: mongoDb },
    dispose: async () => {
      const client = await MongoClient.connect(mongoUrl);
      await client.db(mongoDb).dropDatabase();
      await client.close();
    },
  });
}

/**
 * The live stream (`GET /api/events`) of the whole system in one process, on each store: what a
 * console shows while agents start, check and stop, and what it gets back after a reconnection.
 */
describe.each(stores)('live event stream on $name', (under) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-feed-'));
  const profilesDir = writeFastProfile();
  let system: RunningSystem;
  let api: string;
  const open: SseClient[] = [];
  const connect = async (path: string, headers: Record<string, string> = {}) => {
    const client = await SseClient.open(`${api}${path}`, headers);
    open.push(client);
    return client;
  };
  const entries = (client: SseClient) => client.json<FeedEntry>();
  const start = (agentId: string, intervalMs = 150) =>
    http(`${api}/agents`, {
      method: 'POST',
      body: { agentId, behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs } },
    });

  beforeAll(async () => {
    const config = standaloneConfig(dataDir, profilesDir, {
      SSE_KEEPALIVE_MS: '200',
      ...under.env,
    });
    system = await startStandalone(config, silentLogger());
    api = `${system.url}/api`;
  });
  afterAll(async () => {
    await Promise.all(open.map((client) => client.close()));
    await system?.stop();
    await under.dispose();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  });

  it("streams a started agent's events and activities in order, each with its id", async () => {
    const stream = await connect('/events');
    expect(stream.status).toBe(200);
    expect(stream.headers?.get('content-type')).toMatch(/^text\/event-stream/);
    const started = await start('feed-1');
    expect(started.status).toBe(202);
    await eventually('started, then two checks', async () => {
      const seen = entries(stream).filter((entry) => entry.agentId === 'feed-1');
      const checks = seen.filter((entry) => entry.kind === 'activity' && entry.type === 'http.check');
      return seen.some((entry) => entry.type === 'agent.started') && checks.length >= 2 ? true : undefined;
    });
    const seen = entries(stream).filter((entry) => entry.agentId === 'feed-1');
    const types = seen.filter((entry) => entry.kind === 'event').map((entry) => entry.type);
    expect(types.slice(0, 1)).toEqual(['agent.start-requested']);
    expect(types).toContain('agent.started');
    const startedEvent = seen.find((entry) => entry.type === 'agent.started')!;
    expect(startedEvent.status).toBe('running');
    expect(typeof startedEvent.version).toBe('number');
    // The agent's events come in the order of its stream (a session's first activity may be
    // recorded just before the `agent.started` its report caused: the feed keeps record order).
    const versions = seen.filter((entry) => entry.kind === 'event').map((entry) => entry.version!);
    expect(versions).toEqual([...versions].sort((a, b) => a - b));
    const check = seen.find((entry) => entry.type === 'http.check')!;
    expect(check.data.ok).toBe(true);
    expect(typeof check.data.instanceId).toBe('string');
    // Every message's id is its entry's id, the SSE event names the event type (or `activity`),
    // and the ids of an unfiltered stream follow each other with no gap.
    for (const message of stream.messages) {
      const entry = JSON.parse(message.data) as FeedEntry;
      expect(message.id).toBe(entry.id);
      expect(message.event).toBe(entry.kind === 'event' ? entry.type : 'activity');
    }
    const ids = entries(stream).map((entry) => Number(entry.id));
    expect(ids).toEqual(ids.map((_, index) => ids[0]! + index));
  });

  it('resumes after Last-Event-ID with every missed entry exactly once', async () => {
    const first = await connect('/events');
    await eventually('some entries', async () => (first.messages.length >= 3 ? true : undefined));
    await first.close();
    const lastId = first.messages.at(-1)!.id!;
    // Entries keep coming while no one listens: feed-1 checks every 150 ms.
    const before = (await SseClient.open(`${api}/events?lastEventId=${lastId}`)).close();
    await before;
    await sleep(700);
    const resumed = await connect('/events', { 'Last-Event-ID': lastId });
    await eventually('missed entries and new ones', async () => (resumed.messages.length >= 8 ? true : undefined));
    const ids = entries(resumed).map((entry) => Number(entry.id));
    expect(ids[0]).toBe(Number(lastId) + 1);
    expect(ids).toEqual(ids.map((_, index) => Number(lastId) + 1 + index));
    // The replayed part and the live part meet without a duplicate.
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('filters by agent, type and status, on /events and on the agent path', async () => {
    expect((await start('feed-2', 100_000)).status).toBe(202);
    const since = entries(await waitForAny()).at(-1)?.id ?? '0';
    const ofAgent = await connect(`/agents/feed-2/events?lastEventId=0`);
    const byQuery = await connect(`/events?agentId=feed-2&lastEventId=0`);
    const startedOnly = await connect(`/events?type=agent.started&lastEventId=0`);
    const running = await connect(`/events?status=running&lastEventId=0`);
    const activities = await connect(`/events?type=activity&lastEventId=${since}`);
    await eventually('feed-2 started on every stream', async () =>
      [ofAgent, byQuery, startedOnly, running].every((client) =>
        entries(client).some((entry) => entry.agentId === 'feed-2' && entry.type === 'agent.started'),
      )
        ? true
        : undefined,
    );
    await eventually('an activity', async () => (activities.messages.length > 0 ? true : undefined));
    expect(new Set(entries(ofAgent).map((entry) => entry.agentId))).toEqual(new Set(['feed-2']));
    expect(entries(ofAgent).map((entry) => entry.id)).toEqual(
      entries(byQuery)
        .map((entry) => entry.id)
        .slice(0, ofAgent.messages.length),
    );
    expect(new Set(entries(startedOnly).map((entry) => entry.type))).toEqual(new Set(['agent.started']));
    expect(new Set(entries(startedOnly).map((entry) => entry.agentId))).toEqual(new Set(['feed-1', 'feed-2']));
    expect(entries(running).every((entry) => entry.status === 'running')).toBe(true);
    expect(entries(activities).every((entry) => entry.kind === 'activity')).toBe(true);
  });

  it('sends a keep-alive comment on an idle stream', async () => {
    const idle = await connect('/events?agentId=nobody');
    await eventually('a keep-alive', async () => (idle.comments.includes('keep-alive') ? true : undefined));
    expect(idle.messages).toEqual([]);
  });

  it('answers a bad Last-Event-ID or filter with a 400 naming it', async () => {
    const badHeader = await SseClient.open(`${api}/events`, { 'Last-Event-ID': 'abc' });
    expect(badHeader.status).toBe(400);
    expect(badHeader.body).toContain('Last-Event-ID');
    const badStatus = await SseClient.open(`${api}/events?status=sleeping`);
    expect(badStatus.status).toBe(400);
    const body = JSON.parse(badStatus.body) as { error: { details: { field: string }[] } };
    expect(body.error.details.map((issue) => issue.field)).toEqual(['status']);
    const badAgent = await SseClient.open(`${api}/agents/${encodeURIComponent('no/pe')}/events`);
    expect([400, 404]).toContain(badAgent.status);
  });

  it('carries the X-Request-Id of a start to its events, activities and command', async () => {
    const stream = await connect('/events?agentId=feed-3');
    const requestId = `req-${randomUUID()}`;
    const started = await http(`${api}/agents`, {
      method: 'POST',
      headers: { 'X-Request-Id': requestId },
      body: { agentId: 'feed-3', behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs: 150 } },
    });
    expect(started.status).toBe(202);
    expect(started.headers.get('x-request-id')).toBe(requestId);
    await eventually('feed-3 started and checking', async () => {
      const seen = entries(stream);
      return seen.some((entry) => entry.type === 'agent.started') && seen.some((entry) => entry.type === 'http.check')
        ? true
        : undefined;
    });
    // The start's own event, the event its session report caused, and the session's activities.
    for (const type of ['agent.start-requested', 'agent.started', 'http.check']) {
      const entry = entries(stream).find((item) => item.type === type);
      expect({ type, correlationId: entry?.correlationId }).toEqual({ type, correlationId: requestId });
    }
    const command = await http(`${api}/commands/${started.body.commandId as string}`);
    expect(command.status).toBe(200);
    expect(command.body.correlationId).toBe(requestId);
    const caused = command.body.caused as { type: string; version: number; agentId: string }[];
    expect(caused.map((item) => item.type)).toEqual(expect.arrayContaining(['agent.start-requested', 'agent.started']));
    expect(caused.every((item) => item.agentId === 'feed-3' && typeof item.version === 'number')).toBe(true);
  });

  it('answers every request with an X-Request-Id, and refuses a malformed one naming the header', async () => {
    const made = await http(`${api}/agents/nobody-here`);
    expect(made.status).toBe(404);
    expect(made.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    const bad = await http(`${api}/agents`, { headers: { 'X-Request-Id': 'has spaces in it' } });
    expect(bad.status).toBe(400);
    expect((bad.body.error as { details: { field: string }[] }).details.map((issue) => issue.field)).toEqual([
      'X-Request-Id',
    ]);
    const tooLong = await http(`${api}/agents`, { headers: { 'X-Request-Id': 'x'.repeat(129) } });
    expect(tooLong.status).toBe(400);
  });

  /** A fresh stream from the beginning, once it has caught up with something. */
  async function waitForAny(): Promise<SseClient> {
    const client = await connect('/events?lastEventId=0');
    await eventually('the stored feed', async () => (client.messages.length > 0 ? true : undefined));
    return client;
  }
});
