import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import amqp from 'amqplib';
import {
  createTestVhost,
  describeUnless,
  eventually,
  http,
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
const run = promisify(execFile);

/** How long the broker stays stopped. It stops for everyone on this machine: keep it short. */
const OUTAGE_MS = 3_000;
const HEARTBEAT_MS = 1_000;
/**
 * Longer than the whole restart as measured on the 2-core test machine: `stop_app` and `start_app`
 * take about 7 s together, so with the 3 s pause the broker is away for about 10 s, and services
 * reconnect within about a second of it (docs/bus.md, "A broker restart"). With an 8 s lease the
 * scheduler, whose store stayed up, saw every heartbeat lease lapse during the outage.
 */
const LEASE_MS = 20_000;
const MONITORS = 6;

/**
 * Issue 10, part 4 (the broker): a RabbitMQ restart (`rabbitmqctl stop_app`, 3 s, `start_app`)
 * shorter than the session-agent lease restarts no agent, every service reconnects by itself,
 * and commands a producer publishes around the outage, re-publishing until the broker confirms,
 * are applied exactly once.
 *
 * It stops the whole broker, every vhost, for every test running beside it: it runs only when
 * asked (`RABBITMQ_OUTAGE_TEST=1`), by itself, where `rabbitmqctl` may stop and start the local
 * node. `.ci/run` runs it so after the whole suite; within the suite it is skipped, even in CI.
 */
const optIn = process.env.RABBITMQ_OUTAGE_TEST === '1';
const skip = optIn && skipUnlessCi(!RABBITMQ_URL && 'RABBITMQ_URL is not set');
const SUITE = 'production mode: a RabbitMQ restart shorter than the lease';

if (optIn) describeUnless(skip, SUITE, outageSuite);
else
  describe(SUITE, () =>
    it.skip('runs only with RABBITMQ_OUTAGE_TEST=1, by itself: it stops the broker', () => undefined),
  );

function outageSuite(): void {
  let vhost: TestVhost;
  let env: Record<string, string>;
  let target: Server;
  let targetUrl: string;
  let api: string;
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-outage-'));
  let profileDir: RunProfileDir | undefined;
  const running: ServiceProcess[] = [];

  const start = async (name: string, extra: Record<string, string> = {}) => {
    const service = await startService(name, { ...env, ...extra });
    running.push(service);
    return service;
  };
  const view = async (agentId: string) => (await http(`${api}/agents/${agentId}`)).body;
  const until = (agentId: string, check: (view: Item) => boolean, timeoutMs = 30_000) =>
    eventually(
      `${agentId} to match`,
      async () => {
        const current = await view(agentId);
        return check(current) ? current : undefined;
      },
      timeoutMs,
    );
  const transitions = async (agentId: string) => {
    const log = (await http(`${api}/agents/${agentId}/activities?limit=100`)).body as { items: Item[] };
    return log.items
      .filter((activity) => String(activity.kind).startsWith('agent.'))
      .map((activity) => String(activity.kind))
      .reverse();
  };

  /**
   * A producer that re-publishes a command until the broker confirms it: a new connection per
   * try, as a script that lost its connection would; every copy has the same `messageId`.
   */
  async function publishUntilConfirmed(command: Item): Promise<number> {
    for (let tries = 1; ; tries += 1) {
      try {
        const connection = await amqp.connect(vhost.url);
        connection.on('error', () => undefined);
        try {
          const channel = await connection.createConfirmChannel();
          channel.on('error', () => undefined);
          channel.publish('drover.commands', command.type as string, Buffer.from(JSON.stringify(command)), {
            messageId: command.messageId as string,
            persistent: true,
            contentType: 'application/json',
          });
          await channel.waitForConfirms();
          return tries;
        } finally {
          await connection.close().catch(() => undefined);
        }
      } catch {
        await sleep(250);
      }
    }
  }

  const rabbitmqctl = (...args: string[]) => run('rabbitmqctl', args, { timeout: 60_000 });

  beforeAll(async () => {
    vhost = await createTestVhost(RABBITMQ_URL!);
    target = createServer((_, response) => response.end('ok'));
    await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
    targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}/`;
    const profile = {
      name: 'outage',
      // Its agents aim at servers on 127.0.0.1 (docs/security.md, "Egress policy").
      egress: { allow: ['loopback'] },
      sessionAgent: { maxConcurrentAgents: 10, heartbeatMs: HEARTBEAT_MS, leaseMs: LEASE_MS },
      recovery: { onInterrupt: 'restart', maxAttempts: 3, backoffInitialMs: 200, backoffMaxMs: 1_000 },
      gateway: { commandTimeoutMs: 3_000, queryTimeoutMs: 3_000 },
      scheduler: { tickMs: 250, startTimeoutMs: 20_000 },
    };
    profileDir = writeRunProfile(profile);
    env = {
      RABBITMQ_URL: vhost.url,
      DROVER_DATA_DIR: dataDir,
      ...profileDir.env,
      // http-monitor agents need no browser.
      CHROME_PATH: join(dataDir, 'no-chromium'),
    };
  });

  afterAll(async () => {
    for (const service of running) await service.stop('SIGKILL');
    await vhost?.delete().catch(() => undefined);
    await new Promise((resolve) => target?.close(resolve));
    rmSync(dataDir, { recursive: true, force: true });
    profileDir?.remove();
  });

  it('restarts no agent, reconnects every service, and applies each re-published command once', async () => {
    assert.equal((await runOnce('bootstrap', env)).code, 0);
    await start('persistence-agent');
    await start('engine');
    await start('scheduler');
    await start('session-agent', { SESSION_AGENT_ID: 'outage-sa-1' });
    await start('session-agent', { SESSION_AGENT_ID: 'outage-sa-2' });
    const gateway = await start('gateway');
    api = `${gateway.url}/api`;

    const monitors = Array.from({ length: MONITORS }, (_, i) => `outage-mon-${i}`);
    for (const agentId of monitors) {
      const response = await http(`${api}/agents`, {
        method: 'POST',
        body: { agentId, behavior: 'http-monitor', config: { url: targetUrl, intervalMs: 500 } },
      });
      assert.equal(response.status, 202, JSON.stringify(response.body));
    }
    const before = new Map<string, Item>();
    for (const agentId of monitors) before.set(agentId, await until(agentId, (v) => v.status === 'running'));

    // Confirmed before the outage; its producer never saw that and sends it again afterwards.
    const stopCommand = { messageId: 'outage-stop-1', type: 'agent.stop', agentId: monitors[0], payload: {} };
    await publishUntilConfirmed(stopCommand);
    await until(monitors[0]!, (v) => v.status === 'stopped');

    const startCommand = {
      messageId: 'outage-start-1',
      type: 'agent.start',
      agentId: 'outage-new',
      payload: { behavior: 'http-monitor', config: { url: targetUrl, intervalMs: 500 } },
    };
    const stoppedAt = Date.now();
    await rabbitmqctl('stop_app');
    const stopAppMs = Date.now() - stoppedAt;
    let restartedAt: number;
    let startAppMs: number;
    // Published while the broker is down: the producer keeps trying until it is confirmed.
    const publishing = publishUntilConfirmed(startCommand);
    try {
      await sleep(OUTAGE_MS);
    } finally {
      const starting = Date.now();
      await rabbitmqctl('start_app');
      restartedAt = Date.now();
      startAppMs = restartedAt - starting;
    }
    const tries = await publishing;
    await publishUntilConfirmed(stopCommand);
    await publishUntilConfirmed(startCommand);

    // Every service answers /ready again by itself.
    const readyAt = new Map<string, number>();
    for (const service of running) {
      await eventually(
        `${service.name} ready`,
        async () => ((await fetch(`${service.opsUrl}/ready`)).status === 200 ? true : undefined),
        30_000,
      );
      readyAt.set(`${service.name}@${service.url}`, Date.now() - restartedAt);
    }

    // When each service's bus was back (its log), counted from the end of start_app.
    const reconnectedAfter = running.map((service) => {
      const connected = service
        .output()
        .split('\n')
        .filter((line) => line.includes('"msg":"rabbitmq connected"'))
        .map((line) => (JSON.parse(line) as { time: number }).time)
        .filter((time) => time > stoppedAt);
      // A figure for the log, not a check: readiness above is what the test requires. (Once in
      // CI a session agent answered /ready with no reconnection logged after the stop.)
      if (connected.length === 0) return `${service.name} no reconnection logged`;
      return `${service.name} ${Math.max(...connected) - restartedAt} ms`;
    });

    const created = await until('outage-new', (v) => v.status === 'running');
    // Let a lease pass after the outage: an expiry would show by now.
    await sleep(LEASE_MS + 2_000);

    console.info(
      `outage: broker away ${restartedAt - stoppedAt} ms (stop_app ${stopAppMs} ms, start_app ${startAppMs} ms); ` +
        `the producer needed ${tries} tries; ` +
        `reconnected after start_app: ${reconnectedAfter.join(', ')}; ` +
        `all /ready ${Math.max(...readyAt.values())} ms after start_app`,
    );
    await explainInterruptions(monitors, stoppedAt);

    for (const agentId of monitors.slice(1)) {
      const after = await view(agentId);
      expect({ agentId, status: after.status, attempts: after.attempts, instanceId: after.instanceId }).toEqual({
        agentId,
        status: 'running',
        attempts: before.get(agentId)!.attempts,
        instanceId: before.get(agentId)!.instanceId,
      });
      expect(await transitions(agentId)).toEqual(['agent.start-requested', 'agent.started']);
    }
    // The stop sent twice stopped once; the start sent during the outage (and again) started once.
    expect(await transitions(monitors[0]!)).toEqual([
      'agent.start-requested',
      'agent.started',
      'agent.stop-requested',
      'agent.stopped',
    ]);
    expect(created.attempts).toBe(1);
    expect(await transitions('outage-new')).toEqual(['agent.start-requested', 'agent.started']);
    const command = (await http(`${api}/commands/outage-start-1`)).body;
    expect(command.state).toBe('accepted');
  });

  /** Prints every interruption (its reason, when) and each service's connection log, to tell why. */
  async function explainInterruptions(agentIds: string[], since: number): Promise<void> {
    const lines: string[] = [];
    for (const agentId of agentIds) {
      const log = (await http(`${api}/agents/${agentId}/activities?limit=100`)).body as { items: Item[] };
      for (const activity of log.items) {
        if (activity.kind !== 'agent.interrupted') continue;
        const at = Date.parse(String(activity.at ?? activity.occurredAt));
        lines.push(`${agentId} ${at - since} ms after stop_app: ${JSON.stringify(activity)}`);
      }
    }
    if (lines.length === 0) return;
    for (const service of running) {
      const connection = service
        .output()
        .split('\n')
        .filter((line) => /rabbitmq (connected|disconnected)|expire|interrupt|lease/i.test(line))
        .map((line) => {
          const parsed = JSON.parse(line) as { time: number; msg: string };
          return `  ${parsed.time - since} ms ${parsed.msg}`;
        });
      lines.push(`${service.name} ${service.url}:`, ...connection.slice(-8));
    }
    console.info(`interrupted during the outage:\n${lines.join('\n')}`);
  }
}
