import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { SQLITE_FILE_NAME } from '@drover/store/sqlite';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  REPO_ROOT,
  createTestVhost,
  describeUnless,
  eventually,
  http,
  managementQueue,
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
const FERRETDB_BIN = execFileSync('bash', [join(REPO_ROOT, 'scripts/ferretdb.sh'), 'bin'])
  .toString()
  .trim();
/** How long the store is away: the issue's figure, shorter than the session agents' lease plus margin. */
const OUTAGE_MS = 10_000;

const noBroker = !RABBITMQ_URL && 'RABBITMQ_URL is not set';
const noFerretDb =
  !existsSync(FERRETDB_BIN) && `FerretDB is not built (${FERRETDB_BIN}): bash scripts/ferretdb.sh build`;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address && typeof address === 'object');
  await new Promise((resolve) => server.close(resolve));
  return address.port;
}

/** A FerretDB server of this test's own, so stopping it disturbs no other test. */
class OwnFerretDb {
  private child?: ChildProcess;
  private readonly dir = mkdtempSync(join(tmpdir(), 'drover-outage-ferretdb-'));

  constructor(readonly port: number) {
    mkdirSync(join(this.dir, 'data'));
  }

  get url(): string {
    return `mongodb://127.0.0.1:${this.port}/`;
  }

  /** Starts on the same port and data as before, and waits until it accepts connections. */
  async start(): Promise<void> {
    this.child = spawn(
      FERRETDB_BIN,
      [
        '--handler=sqlite',
        `--sqlite-url=file:${this.dir}/data/`,
        `--state-dir=${this.dir}`,
        `--listen-addr=127.0.0.1:${this.port}`,
        '--debug-addr=-',
        '--telemetry=disable',
        '--log-level=error',
      ],
      { stdio: 'ignore', env: { ...process.env, FERRETDB_TELEMETRY: 'disable' } },
    );
    await eventually(`FerretDB on ${this.port}`, async () => ((await this.accepts()) ? true : undefined), 15_000);
  }

  /** The outage: the server dies at once (SIGKILL), mid-operation for whoever was writing. */
  async kill(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
  }

  async close(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private accepts(): Promise<boolean> {
    return new Promise((resolve) => {
      const probe = connect(this.port, '127.0.0.1');
      probe.once('connect', () => {
        probe.destroy();
        resolve(true);
      });
      probe.once('error', () => resolve(false));
    });
  }
}

/** One way for the store to go away and come back, with the environment that points at it. */
interface Outage {
  /** Store settings for the services (`MONGO_URL`, or none for SQLite in `DROVER_DATA_DIR`). */
  env: Record<string, string>;
  begin(): Promise<void>;
  end(): Promise<void>;
  close(): Promise<void>;
}

/** The MongoDB server is SIGKILLed, then started again on the same data. */
async function mongoServerDies(): Promise<Outage> {
  const ferret = new OwnFerretDb(await freePort());
  await ferret.start();
  return {
    env: { MONGO_URL: ferret.url, MONGO_DB: 'drover_outage' },
    begin: () => ferret.kill(),
    end: () => ferret.start(),
    close: () => ferret.close(),
  };
}

/**
 * Another process takes the SQLite file's write lock and keeps it (a backup tool, a stuck
 * writer, an operator's `sqlite3` shell inside a transaction). Readers still read: WAL lets them.
 */
async function sqliteLockIsHeld(dataDir: string): Promise<Outage> {
  let holder: Database.Database | undefined;
  const letGo = async () => {
    holder?.exec('ROLLBACK');
    holder?.close();
    holder = undefined;
  };
  return {
    env: {},
    begin: async () => {
      holder = new Database(join(dataDir, SQLITE_FILE_NAME));
      holder.exec('BEGIN IMMEDIATE');
    },
    end: letGo,
    close: letGo,
  };
}

const STORES = [
  {
    store: 'MongoDB',
    away: 'the server SIGKILLed for 10 s',
    skip: skipUnlessCi(noBroker || noFerretDb),
    outage: mongoServerDies,
  },
  {
    store: 'SQLite',
    away: "another process holding the file's write lock for 10 s",
    skip: skipUnlessCi(noBroker),
    outage: sqliteLockIsHeld,
  },
];

/**
 * The store goes away for 10 s under the six services. The services that need the store say so
 * on `/ready` (503), those that do not stay ready, commands published meanwhile wait (neither
 * dead-lettered nor lost), and everything resumes once the store is back, without restarting a
 * running agent.
 */
for (const { store, away, skip, outage: makeOutage } of STORES) {
  describeUnless(skip, `a store outage: six processes on ${store}, ${away}`, () => {
    let vhost: TestVhost;
    let outage: Outage;
    let env: Record<string, string>;
    let profileDir: RunProfileDir | undefined;
    const dataDir = mkdtempSync(join(tmpdir(), 'drover-outage-data-'));
    const services = new Map<string, ServiceProcess>();
    let api: string;

    const status = async (agentId: string) => (await http(`${api}/agents/${agentId}`)).body as Item;
    const ready = async (service: string) => (await http(`${services.get(service)!.opsUrl}/ready`)).status;

    beforeAll(async () => {
      vhost = await createTestVhost(RABBITMQ_URL!);
      outage = await makeOutage(dataDir);
      const profile = {
        name: 'outage',
        // Its agents aim at servers on 127.0.0.1 (docs/security.md, "Egress policy").
        egress: { allow: ['loopback'] },
        sessionAgent: { maxConcurrentAgents: 16, heartbeatMs: 500, leaseMs: 5_000 },
        recovery: { onInterrupt: 'restart', maxAttempts: 3, backoffInitialMs: 200, backoffMaxMs: 1_000 },
        gateway: { commandTimeoutMs: 3_000, queryTimeoutMs: 3_000 },
        scheduler: { tickMs: 200, startTimeoutMs: 30_000 },
      };
      profileDir = writeRunProfile(profile);
      env = {
        RABBITMQ_URL: vhost.url,
        DROVER_DATA_DIR: dataDir,
        ...outage.env,
        ...profileDir.env,
      };
      const bootstrap = await runOnce('bootstrap', env);
      assert.equal(bootstrap.code, 0, bootstrap.output);
      for (const name of ['persistence-agent', 'engine', 'scheduler', 'session-agent', 'gateway']) {
        services.set(name, await startService(name, env));
      }
      api = `${services.get('gateway')!.url}/api`;
    });

    afterAll(async () => {
      for (const service of services.values()) await service.stop('SIGKILL');
      await outage?.close();
      await vhost?.delete();
      profileDir?.remove();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('answers 503 on the services that need the store, loses no command, and resumes', async () => {
      const monitored = `${services.get('gateway')!.url}/live`;
      const started = await http(`${api}/agents`, {
        method: 'POST',
        body: { agentId: 'steady', behavior: 'http-monitor', config: { url: monitored, intervalMs: 500 } },
      });
      expect(started.status).toBe(202);
      await eventually('steady running', async () =>
        (await status('steady')).status === 'running' ? true : undefined,
      );

      await outage.begin();
      const outageStarted = Date.now();
      for (const name of ['engine', 'persistence-agent', 'scheduler']) {
        await eventually(`${name} not ready while the store is away`, async () =>
          (await ready(name)) === 503 ? true : undefined,
        );
      }
      expect(await ready('session-agent')).toBe(200);

      // Commands published straight to the bus while the store is away.
      const during = ['during-1', 'during-2', 'during-3'];
      await publishCommands(
        vhost.url,
        during.map((agentId) => ({
          messageId: `outage-start-${agentId}`,
          type: 'agent.start',
          agentId,
          payload: { behavior: 'http-monitor', config: { url: monitored, intervalMs: 500 } },
        })),
      );

      await sleep(Math.max(0, OUTAGE_MS - (Date.now() - outageStarted)));
      await outage.end();

      for (const name of services.keys()) {
        await eventually(`${name} ready again`, async () => ((await ready(name)) === 200 ? true : undefined), 60_000);
      }
      for (const agentId of during) {
        await eventually(
          `${agentId} running`,
          async () => ((await status(agentId)).status === 'running' ? true : undefined),
          60_000,
        );
      }
      // The running agent rode the outage out: same attempt, same session agent, still running.
      const steady = await status('steady');
      expect(steady.status).toBe('running');
      expect(steady.attempts).toBe(1);
      // Nothing was dead-lettered because the store was away.
      for (const queue of ['engine.commands.dead', 'engine.reports.dead', 'persistence.events.dead']) {
        expect((await managementQueue(vhost.name, queue)).messages).toBe(0);
      }
    });
  });
}
