import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CookieData } from 'puppeteer';
import type { BrowserHost, BrowserSession } from '@drover/browser';
import { DROVER_TOPOLOGY, Queues } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import type { ScreenshotStore } from '@drover/platform';
import { EgressPolicy, SecretBox, silentLogger } from '@drover/runtime';
import { BrowserLender } from './browser-lender';
import { COOKIE_COLLECTION, CookieStore } from './cookie-store';

const cookie = (value: string): CookieData => ({ name: 'sid', value, domain: 'example.test', path: '/' });
const ref = (agentId: string) => ({ agentId, attempt: 1, instanceId: 'sa-1' });

/** A browser host without a browser: each session's jar is whatever the test sets. */
class FakeHost {
  /** The cookies each opened session was restored with, in order. */
  readonly restored: { agentId: string; cookies: CookieData[] }[] = [];
  jar: CookieData[] = [];

  async openSession(options: { agentId: string; cookies?: CookieData[] }): Promise<BrowserSession> {
    this.restored.push({ agentId: options.agentId, cookies: options.cookies ?? [] });
    this.jar = options.cookies ?? [];
    return {
      agentId: options.agentId,
      page: () => Promise.reject(new Error('no page in this test')),
      cookies: async () => this.jar,
      close: async () => this.jar,
    };
  }

  asHost(): BrowserHost {
    return this as unknown as BrowserHost;
  }
}

/** The key ring every session-agent host shares. */
const hostsSecrets = SecretBox.fresh();

/**
 * The persistence agent's side of the cookie collection: upserts and findOne on a map, each
 * upsert applied after `delayFor(value)` ms, so an older save can be made to arrive last.
 */
async function fakePersistence(bus: InMemoryBus, delayFor: (value: string | undefined) => number) {
  const docs = new Map<string, Record<string, unknown>>();
  const applied: string[] = [];
  await bus.subscribe(
    Queues.persistenceTasks,
    async (delivery) => {
      const task = delivery.body as {
        op: string;
        collection: string;
        id?: string;
        document?: { sealed: string };
        filter?: { value: string };
      };
      if (task.collection !== COOKIE_COLLECTION) throw new Error(`unexpected collection ${task.collection}`);
      if (task.op === 'upsert' && task.id && task.document) {
        // The jar arrives sealed: the persistence agent never sees a cookie in clear.
        expect(JSON.stringify(task.document)).not.toMatch(/"value"/);
        const jar = JSON.parse(hostsSecrets.open(task.document.sealed, `agent:${task.id}:cookies`)) as CookieData[];
        const value = jar[0]?.value;
        await sleep(delayFor(value));
        docs.set(task.id, task.document);
        applied.push(value ?? '(empty)');
        await delivery.reply?.({ ok: true, result: { upserted: true } });
      } else if (task.op === 'findOne' && task.filter) {
        await delivery.reply?.({ ok: true, result: docs.get(task.filter.value) ?? null });
      } else {
        throw new Error(`unexpected task ${task.op}`);
      }
    },
    { prefetch: 16 },
  );
  return { docs, applied };
}

describe('cookies across a stop and a start on another host', () => {
  let bus: InMemoryBus;
  beforeEach(() => {
    bus = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [5] });
  });
  afterEach(async () => {
    await bus.close();
  });

  /** One session-agent host: its own browser, cookie store and lender, on the shared bus. */
  function host() {
    const browser = new FakeHost();
    const lender = new BrowserLender({
      host: browser.asHost(),
      cookies: new CookieStore(bus, hostsSecrets),
      screenshots: {} as ScreenshotStore,
      logger: silentLogger(),
      cookieSaveMs: 60_000,
    });
    return { browser, lender };
  }

  it('restores on the next host the jar of the last save before the stop', async () => {
    const { applied } = await fakePersistence(bus, () => 0);
    const first = host();
    const lent = await first.lender.lend(ref('agent-1'), undefined, EgressPolicy.fromRules([]));
    expect(first.browser.restored).toEqual([{ agentId: 'agent-1', cookies: [] }]);
    for (const value of ['v1', 'v2', 'v3']) {
      first.browser.jar = [cookie(value)];
      await lent.browser.saveCookies();
    }
    first.browser.jar = [cookie('v4')];
    await lent.release(); // the final save
    expect(applied).toEqual(['v1', 'v2', 'v3', 'v4']);

    const second = host();
    const again = await second.lender.lend(ref('agent-1'), undefined, EgressPolicy.fromRules([]));
    expect(second.browser.restored).toEqual([{ agentId: 'agent-1', cookies: [cookie('v4')] }]);
    await again.release();
  });

  it('keeps saves in order: an earlier save still in flight never overwrites the final one', async () => {
    // The first save is slow to be applied (a busy persistence replica); later ones are quick.
    const { applied } = await fakePersistence(bus, (value) => (value === 'old' ? 100 : 0));
    const first = host();
    const lent = await first.lender.lend(ref('agent-2'), undefined, EgressPolicy.fromRules([]));
    first.browser.jar = [cookie('old')];
    const periodic = lent.browser.saveCookies(); // e.g. the periodic save, not awaited by anyone
    first.browser.jar = [cookie('new')];
    await lent.release();
    await periodic;
    expect(applied).toEqual(['old', 'new']);

    const second = host();
    const again = await second.lender.lend(ref('agent-2'), undefined, EgressPolicy.fromRules([]));
    expect(second.browser.restored.map((r) => r.cookies)).toEqual([[cookie('new')]]);
    await again.release();
  });

  it('does not save an unchanged jar again, but saves it on the next host once it changes', async () => {
    const { applied } = await fakePersistence(bus, () => 0);
    const first = host();
    const lent = await first.lender.lend(ref('agent-3'), undefined, EgressPolicy.fromRules([]));
    first.browser.jar = [cookie('a')];
    await lent.browser.saveCookies();
    await lent.browser.saveCookies();
    await lent.release();
    expect(applied).toEqual(['a']);

    const second = host();
    const again = await second.lender.lend(ref('agent-3'), undefined, EgressPolicy.fromRules([]));
    await again.browser.saveCookies(); // restored jar, unchanged: nothing to save
    second.browser.jar = [cookie('b')];
    await again.release();
    expect(applied).toEqual(['a', 'b']);
  });
});
