import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MongoClient } from 'mongodb';
import { Server as ProxyServer } from 'proxy-chain';
import {
  createTestVhost,
  describeUnless,
  eventually,
  http,
  managementMessages,
  publishCommands,
  runOnce,
  skipUnlessCi,
  startService,
  writeRunProfile,
  type RunProfileDir,
  type ServiceProcess,
  type TestVhost,
} from '@drover/testing';

type Item = Record<string, unknown>;
const RABBITMQ_URL = process.env.RABBITMQ_URL;
const MONGO_URL = process.env.MONGO_URL;

const PROXY_PASSWORD = 'S3cretPw-proxy';
const FEED_PASSWORD = 'FeedPw-secret-9';
const STEP_SECRET = 'StepText-secret-42';
const DEAD_PASSWORD = 'DeadLetter-secret-7';
const FORGED_PASSWORD = 'Forged-secret-5';
const SECRETS = [PROXY_PASSWORD, FEED_PASSWORD, STEP_SECRET, DEAD_PASSWORD, FORGED_PASSWORD];

/**
 * No secret in clear outside the session agent that uses it: agents with a proxy password, a
 * social-feed password and a secret scripted step, started through REST and by commands
 * published straight to the bus (one of them refused, one with forged sealed secrets), on the
 * six services over RabbitMQ and SQLite. Then every queue (dead letters included), the store's
 * files, every service's log, every view, activity page and command is searched: no secret.
 * The proxy only lets the agent through with the right password, so the session agent did open
 * what was sealed.
 */
describeUnless(skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set'), 'secrets stay sealed on SQLite', () =>
  sealedSecrets({ kind: 'sqlite' }),
);
describeUnless(
  skipUnlessCi((!RABBITMQ_URL && 'RABBITMQ_URL is not set') || (!MONGO_URL && 'MONGO_URL is not set')),
  'secrets stay sealed on MongoDB',
  () => sealedSecrets({ kind: 'mongodb', url: MONGO_URL! }),
);

type StoreUnderTest = { kind: 'sqlite' } | { kind: 'mongodb'; url: string };

function sealedSecrets(store: StoreUnderTest): void {
  let vhost: TestVhost;
  let env: Record<string, string>;
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-secrets-'));
  const mongoDb = `drover_secrets_${Date.now()}`;
  let profileDir: RunProfileDir | undefined;
  const services: ServiceProcess[] = [];
  let api: string;
  let site: Server;
  let siteUrl: string;
  let proxy: ProxyServer;
  let proxied = 0;
  const commandIds: string[] = [];

  beforeAll(async () => {
    site = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    proxy = new ProxyServer({
      port: 0,
      host: '127.0.0.1',
      prepareRequestFunction: ({ username, password }) => {
        if (username !== 'alice' || password !== PROXY_PASSWORD) return { requestAuthentication: true };
        proxied += 1;
        return {};
      },
    });
    await proxy.listen();

    vhost = await createTestVhost(RABBITMQ_URL!);
    profileDir = writeRunProfile({
      name: 'secrets',
      sessionAgent: { maxConcurrentAgents: 16, heartbeatMs: 200, leaseMs: 5_000 },
      recovery: { onInterrupt: 'stop', maxAttempts: 1, backoffInitialMs: 200, backoffMaxMs: 1_000 },
      gateway: { commandTimeoutMs: 5_000, queryTimeoutMs: 5_000 },
      engine: { leaseMs: 4_000 },
      scheduler: { tickMs: 200, startTimeoutMs: 30_000 },
      // The site and the proxy are on 127.0.0.1.
      egress: { allow: ['loopback'] },
    });
    env = {
      RABBITMQ_URL: vhost.url,
      DROVER_DATA_DIR: dataDir,
      // Dead letters stay in their queues, where this test reads them (no dead-letter keeper).
      DROVER_DEAD_LETTER_KEEPER: 'false',
      ...(store.kind === 'mongodb' ? { MONGO_URL: store.url, MONGO_DB: mongoDb } : {}),
      ...profileDir.env,
    };
    const bootstrap = await runOnce('bootstrap', env);
    assert.equal(bootstrap.code, 0, bootstrap.output);
    for (const name of ['persistence-agent', 'engine', 'scheduler', 'session-agent']) {
      services.push(await startService(name, env));
    }
    const gateway = await startService('gateway', env);
    services.push(gateway);
    api = `${gateway.url}/api`;
  });

  afterAll(async () => {
    for (const service of services) await service.stop('SIGKILL');
    await vhost?.delete();
    await proxy?.close(true);
    await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
    rmSync(dataDir, { recursive: true, force: true });
    profileDir?.remove();
    if (store.kind === 'mongodb') await withMongo(store.url, (client) => client.db(mongoDb).dropDatabase());
  });

  const proxyUrl = () => `http://alice:${PROXY_PASSWORD}@127.0.0.1:${proxy.port}`;
  const view = async (agentId: string) => (await http(`${api}/agents/${agentId}`)).body as Item;
  const settled = (agentId: string) =>
    eventually(
      `${agentId} to settle`,
      async () => {
        const v = await view(agentId);
        return ['running', 'failed', 'stopped'].includes(String(v.status)) ? v : undefined;
      },
      60_000,
    );

  it('runs agents whose secrets came through REST and the bus, and the session agent opens them', async () => {
    const rest = await http(`${api}/agents`, {
      method: 'POST',
      body: {
        agentId: 'rest-proxy',
        behavior: 'http-monitor',
        proxy: proxyUrl(),
        config: { url: siteUrl, intervalMs: 200 },
      },
    });
    expect(rest.status).toBe(202);
    commandIds.push(String((rest.body as Item).commandId));
    const script = await http(`${api}/agents`, {
      method: 'POST',
      body: {
        agentId: 'rest-script',
        behavior: 'scripted',
        config: {
          steps: [
            { action: 'goto', url: siteUrl },
            { action: 'type', selector: '#password', text: STEP_SECRET, secret: true },
            { action: 'click', selector: '#nothing-here' },
          ],
        },
      },
    });
    expect(script.status).toBe(202);
    commandIds.push(String((script.body as Item).commandId));

    await publishCommands(vhost.url, [
      {
        messageId: 'bus-feed-start',
        type: 'agent.start',
        agentId: 'bus-feed',
        payload: {
          behavior: 'social-feed',
          proxy: proxyUrl(),
          config: { baseUrl: siteUrl, username: 'alice', password: FEED_PASSWORD, runEveryMs: 60_000 },
        },
      },
      {
        // Not a command (an agent id with a space): dead-lettered, with its proxy password sealed.
        messageId: 'bus-bad-start',
        type: 'agent.start',
        agentId: 'bus bad',
        payload: {
          behavior: 'http-monitor',
          proxy: `http://bob:${DEAD_PASSWORD}@127.0.0.1:9`,
          config: { url: siteUrl, intervalMs: 1000 },
        },
      },
      {
        // Sealed secrets no key here made: refused, and what it had in clear is not kept.
        messageId: 'bus-forged-start',
        type: 'agent.start',
        agentId: 'bus-forged',
        payload: {
          behavior: 'http-monitor',
          proxy: `http://eve:${FORGED_PASSWORD}@127.0.0.1:9`,
          config: { url: siteUrl, intervalMs: 1000 },
          secrets: 'sealed.v1.k1.AAAAAAAAAAAAAAAA.AAAA.AAAAAAAAAAAAAAAAAAAAAA',
        },
      },
    ]);
    commandIds.push('bus-feed-start', 'bus-bad-start', 'bus-forged-start');

    // Through the proxy, which only lets the right password through.
    const running = await eventually('rest-proxy checks through its proxy', async () => {
      const page = (await http(`${api}/agents/rest-proxy/activities?limit=50`)).body as { items: Item[] };
      return page.items.some((a) => a.kind === 'http.check' && a.ok === true) ? true : undefined;
    });
    expect(running).toBe(true);
    expect(proxied).toBeGreaterThan(0);
    const restView = await view('rest-proxy');
    expect(restView.proxy).toBe(`http://***:***@127.0.0.1:${proxy.port}`);
    expect(restView).not.toHaveProperty('secrets');

    const feed = await settled('bus-feed');
    expect((feed.config as Item).password).toBe('***');
    const script2 = await settled('rest-script');
    expect(((script2.config as Item).steps as Item[])[1]!.text).toBe('***');
    expect((await http(`${api}/agents/bus-forged`)).status).toBe(404);
  });

  it('leaves no secret in any queue, dead letters included', async () => {
    const messages = await eventually('both refused starts dead-lettered', async () => {
      const all = await managementMessages(vhost.name);
      const dead = all.filter((m) => m.queue === 'engine.commands.dead');
      return dead.length >= 2 ? all : undefined;
    });
    const dead = messages.filter((m) => m.queue === 'engine.commands.dead').map((m) => m.text);
    expect(dead.some((text) => text.includes('bus-bad-start') && text.includes('agentId'))).toBe(true);
    expect(dead.some((text) => text.includes('bus-forged-start') && text.includes('payload.secrets'))).toBe(true);
    for (const { queue, text } of messages) expectNoSecret(text, `queue ${queue}`);
  });

  it('leaves no secret in the store (whose files only their owner can read)', async () => {
    if (store.kind === 'mongodb') {
      const collections = await withMongo(store.url, async (client) => {
        const db = client.db(mongoDb);
        const names = (await db.listCollections().toArray()).map((c) => c.name);
        for (const name of names) expectNoSecret(JSON.stringify(await db.collection(name).find().toArray()), name);
        return names;
      });
      expect(collections).toEqual(expect.arrayContaining(['streams', 'd_agents', 'd_activities']));
      return;
    }
    const files = ['drover.sqlite', 'drover.sqlite-wal', 'drover.sqlite-shm'].map((name) => join(dataDir, name));
    expect(files.filter((file) => existsSync(file)).length).toBeGreaterThanOrEqual(2);
    for (const file of files.filter((f) => existsSync(f))) {
      expectNoSecret(readFileSync(file).toString('latin1'), file);
      expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    }
  });

  it('leaves no secret in views, activities, the command log, nor any service log', async () => {
    const list = (await http(`${api}/agents?limit=100`)).body as { items: Item[] };
    expectNoSecret(JSON.stringify(list), 'GET /api/agents');
    for (const agent of list.items) {
      const id = String(agent.agentId);
      expectNoSecret(JSON.stringify((await http(`${api}/agents/${id}`)).body), `GET /api/agents/${id}`);
      const page = await http(`${api}/agents/${id}/activities?limit=200`);
      expectNoSecret(JSON.stringify(page.body), `activities of ${id}`);
    }
    for (const commandId of commandIds) {
      expectNoSecret(JSON.stringify((await http(`${api}/commands/${commandId}`)).body), `command ${commandId}`);
    }
    for (const service of services) expectNoSecret(service.output(), `${service.name}'s log`);
  });
}

async function withMongo<T>(url: string, work: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = await MongoClient.connect(url);
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

function expectNoSecret(text: string, where: string): void {
  for (const secret of SECRETS) {
    for (const form of new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])) {
      assert.ok(!text.includes(form), `${where} holds the secret ${secret}`);
    }
  }
}
