import { afterAll, beforeAll, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import amqp from 'amqplib';
import { Exchanges } from '@drover/contracts';
import { resolveChromePath } from '@drover/browser';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import {
  createTestVhost,
  eventually,
  http,
  runOnce,
  describeUnless,
  skipUnlessCi,
  startService,
  type ServiceProcess,
  type TestVhost,
} from '@drover/testing';
import { missingTools, repoRoot, yamlToJson } from '../compose-checks';
import { operand, selectors } from './promql';

interface ScrapeConfig {
  job_name: string;
  dns_sd_configs?: { names: string[]; port: number }[];
  static_configs?: { targets: string[] }[];
  [key: string]: unknown;
}
interface PrometheusConfig {
  global?: Record<string, unknown>;
  rule_files?: string[];
  scrape_configs: ScrapeConfig[];
}
interface RulesFile {
  groups: { name: string; rules: { alert?: string; record?: string; expr: string }[] }[];
}
interface Panel {
  title?: string;
  targets?: { expr?: string }[];
  panels?: Panel[];
}
interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

const RABBITMQ_URL = process.env.RABBITMQ_URL;
const root = repoRoot();
const MONITORING = join(root, 'deploy/monitoring');
/** Scrape jobs of prometheus.yml that are not Drover's own services: the broker's plugin, Prometheus itself. */
const NOT_DROVER = new Set(['rabbitmq', 'prometheus']);

function skipReason(): string | false {
  if (!RABBITMQ_URL) return skipUnlessCi('RABBITMQ_URL is not set');
  // The browser panels read series a session agent only has with a browser.
  const chromium = resolveChromePath();
  if (!existsSync(chromium)) return skipUnlessCi(`Chromium is not installed at ${chromium}`);
  return missingTools(['prometheus', 'python3-yaml']);
}

/** Every PromQL expression of the provisioned dashboard, with its panel's title. */
function dashboardExpressions(): { where: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(join(MONITORING, 'grafana/dashboards/drover.json'), 'utf8')) as Panel;
  const walk = (panels: Panel[] = []): { where: string; expr: string }[] =>
    panels.flatMap((panel) => [
      ...(panel.targets ?? []).flatMap((t) => (t.expr ? [{ where: `panel "${panel.title}"`, expr: t.expr }] : [])),
      ...walk(panel.panels),
    ]);
  return walk(dashboard.panels);
}

function ruleExpressions(): { where: string; expr: string }[] {
  const rules = yamlToJson<RulesFile>(readFileSync(join(MONITORING, 'drover.rules.yml'), 'utf8'));
  return rules.groups.flatMap((group) =>
    group.rules.map((rule) => ({ where: `rule ${rule.alert ?? rule.record}`, expr: rule.expr })),
  );
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise((resolve) => server.close(resolve));
  if (!address || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/**
 * deploy/monitoring/prometheus.yml as the container runs it, with each job's DNS discovery
 * (one A record per replica on drover-net) replaced by the loopback address of the process
 * that plays that service here, a 1 s scrape and evaluation interval, and the real rules file.
 */
function loopbackConfig(targets: Record<string, string>, self: string): PrometheusConfig {
  const config = yamlToJson<PrometheusConfig>(readFileSync(join(MONITORING, 'prometheus.yml'), 'utf8'));
  const jobs = config.scrape_configs.map((job) => job.job_name);
  for (const job of jobs.filter((name) => !NOT_DROVER.has(name))) {
    assert.ok(targets[job], `prometheus.yml scrapes "${job}", which this test does not run`);
  }
  for (const service of Object.keys(targets))
    assert.ok(jobs.includes(service), `prometheus.yml does not scrape ${service}`);
  return {
    global: { ...config.global, scrape_interval: '1s', evaluation_interval: '1s' },
    rule_files: [join(MONITORING, 'drover.rules.yml')],
    scrape_configs: config.scrape_configs
      .filter((job) => job.job_name !== 'rabbitmq')
      .map(({ dns_sd_configs: _dns, static_configs: _static, ...job }) => ({
        ...job,
        static_configs: [{ targets: [job.job_name === 'prometheus' ? self : targets[job.job_name]!] }],
      })),
  };
}

/**
 * The monitoring stack against a running Drover: Prometheus (Debian's server, on loopback) scrapes
 * the five services run as separate processes on RabbitMQ, loads deploy/monitoring/drover.rules.yml,
 * and every expression the rules and the Grafana dashboard use returns data.
 */
describeUnless(skipReason(), 'monitoring: Prometheus against a running Drover', () => {
  let vhost: TestVhost;
  let prometheus: ChildProcess | undefined;
  let prometheusOutput = '';
  let promUrl: string;
  let api: string;
  const running: ServiceProcess[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-mon-'));
  const profilesDir = mkdtempSync(join(tmpdir(), 'drover-mon-profiles-'));
  const promDir = mkdtempSync(join(tmpdir(), 'drover-prometheus-'));

  /** An instant query; fails on a PromQL error (a typo in a dashboard is an error, not "no data"). */
  async function query(expr: string): Promise<Sample[]> {
    const response = await http(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
    assert.equal(response.body.status, 'success', `${expr}: ${JSON.stringify(response.body)}`);
    const data = response.body.data as { resultType: string; result: Sample[] | [number, string] };
    // A scalar (e.g. `vector(0)` folded) counts as data too.
    return data.resultType === 'scalar'
      ? [{ metric: {}, value: data.result as [number, string] }]
      : (data.result as Sample[]);
  }

  /** The death reasons of the given dead-letter queues' messages (left in place), for failure messages. */
  async function deathReasons(queues: string[]): Promise<string> {
    const connection = await amqp.connect(vhost.url);
    const channel = await connection.createChannel();
    const reasons: string[] = [];
    for (const queue of queues) {
      for (let message = await channel.get(queue); message; message = await channel.get(queue)) {
        reasons.push(`${queue}: ${String(message.properties.headers?.['x-drover-death-reason'])}`);
      }
    }
    await connection.close(); // unacknowledged: the messages stay in their queues
    return reasons.join('\n');
  }

  beforeAll(async () => {
    vhost = await createTestVhost(RABBITMQ_URL!);
    mkdirSync(join(profilesDir, 'mon'));
    const profile = {
      name: 'mon',
      // Its agents aim at servers on 127.0.0.1 (README, Egress policy).
      egress: { allow: ['loopback'] },
      sessionAgent: { maxConcurrentAgents: 8, heartbeatMs: 500, leaseMs: 3_000 },
      engine: { leaseMs: 5_000 },
      scheduler: { tickMs: 500, startTimeoutMs: 15_000 },
      agents: [],
    };
    writeFileSync(join(profilesDir, 'mon', 'profile.json'), JSON.stringify(profile));
    const env = {
      RABBITMQ_URL: vhost.url,
      DROVER_DATA_DIR: dataDir,
      PERSISTENT_DATA_PATH: join(dataDir, 'files'),
      DROVER_PROFILES_DIR: profilesDir,
      DROVER_PROFILE: 'mon',
    };
    const bootstrap = await runOnce('bootstrap', env);
    assert.equal(bootstrap.code, 0, bootstrap.output);
    const targets: Record<string, string> = {};
    for (const name of ['persistence-agent', 'engine', 'scheduler', 'session-agent', 'gateway']) {
      const service = await startService(name, name === 'session-agent' ? { ...env, SESSION_AGENT_ID: 'sa-mon' } : env);
      running.push(service);
      targets[name] = new URL(service.opsUrl).host;
    }
    api = `${running.find((s) => s.name === 'gateway')!.url}/api`;

    const self = `127.0.0.1:${await freePort()}`;
    promUrl = `http://${self}`;
    writeFileSync(join(promDir, 'prometheus.yml'), JSON.stringify(loopbackConfig(targets, self), null, 2));
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(promDir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(promDir, 'data')}`,
        `--web.listen-address=${self}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    prometheus.stdout?.on('data', (chunk: Buffer) => (prometheusOutput += chunk.toString()));
    prometheus.stderr?.on('data', (chunk: Buffer) => (prometheusOutput += chunk.toString()));
    await eventually(
      'Prometheus to be ready',
      async () => {
        if (prometheus?.exitCode !== null) throw new Error(`prometheus exited:\n${prometheusOutput}`);
        return (await fetch(`${promUrl}/-/ready`)).ok || undefined;
      },
      30_000,
    );
  });

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = once(prometheus, 'exit');
      prometheus.kill('SIGTERM');
      await exited; // before its storage directory is removed
    }
    for (const service of running) await service.stop('SIGKILL');
    await vhost?.delete();
    for (const dir of [dataDir, profilesDir, promDir]) rmSync(dir, { recursive: true, force: true });
  });

  it('scrapes every Drover service', async () => {
    const up = await eventually(
      'every target up',
      async () => {
        const samples = await query('up');
        return samples.length >= running.length + 1 && samples.every((s) => s.value[1] === '1') ? samples : undefined;
      },
      30_000,
    );
    expect(up.map((s) => s.metric.job).sort()).toEqual([
      'engine',
      'gateway',
      'persistence-agent',
      'prometheus',
      'scheduler',
      'session-agent',
    ]);
  });

  it('returns data for every expression of the rules and the dashboard once the system has worked', async () => {
    // Some work after the first scrapes, so the rates and latency quantiles have something to show:
    // agents started and one stopped, and a message that is not JSON, dead-lettered by the engine's bus.
    for (const agentId of ['mon-1', 'mon-2', 'mon-3']) {
      const started = await http(`${api}/agents`, {
        method: 'POST',
        body: { agentId, behavior: 'http-monitor', config: { url: `${api}/agents`, intervalMs: 500 } },
      });
      assert.equal(started.status, 202, JSON.stringify(started.body));
    }
    expect((await http(`${api}/agents/mon-3`, { method: 'DELETE' })).status).toBe(202);
    const connection = await amqp.connect(vhost.url);
    const channel = await connection.createConfirmChannel();
    channel.publish(Exchanges.commands, 'agent.start', Buffer.from('{"agentId": "not json'), {
      contentType: 'application/json',
      messageId: 'garbage-1',
    });
    await channel.waitForConfirms();
    await connection.close();

    const expressions = [...ruleExpressions(), ...dashboardExpressions()];
    assert.ok(expressions.length >= 15, `only ${expressions.length} expressions found`);
    const checks = expressions.flatMap(({ where, expr }) => {
      assert.doesNotMatch(expr, /\$/, `${where} uses a Grafana variable this check does not substitute`);
      const main = operand(expr);
      return [
        { where, expr: main, finite: true },
        // `sum(x) or vector(0)` returns data without x: each selector must have series of its own.
        ...selectors(expr).map((selector) => ({ where: `${where}, selector`, expr: selector, finite: false })),
      ];
    });
    const missing = new Map<string, string>();
    await eventually(
      'every expression to return data',
      async () => {
        missing.clear();
        for (const check of checks) {
          const samples = await query(check.expr);
          const numbers = samples.map((s) => Number(s.value[1]));
          if (samples.length === 0) missing.set(check.expr, `${check.where}: no data`);
          else if (check.finite && !numbers.some(Number.isFinite)) missing.set(check.expr, `${check.where}: only NaN`);
        }
        return missing.size === 0 || undefined;
      },
      60_000,
    ).catch(() => assert.fail(`expressions without data:\n${[...missing.values()].join('\n')}`));
  });

  it('evaluates every rule without error and fires the dead-letter alert for the poison message', async () => {
    const rules = await eventually('every rule evaluated', async () => {
      const response = await http(`${promUrl}/api/v1/rules`);
      const groups = (
        response.body.data as { groups: { rules: { name: string; health: string; lastError?: string }[] }[] }
      ).groups;
      const all = groups.flatMap((group) => group.rules);
      return all.length > 0 && all.every((rule) => rule.health !== 'unknown') ? all : undefined;
    });
    expect(rules.length).toBe(ruleExpressions().length);
    for (const rule of rules) assert.equal(rule.health, 'ok', `${rule.name}: ${rule.lastError}`);

    // Every queue bound to drover.commands for `agent.start` got the message, and dead-lettered it.
    const expected = DROVER_TOPOLOGY.queues
      .filter((queue) => queue.bindings.some((b) => b.exchange === Exchanges.commands && b.pattern === 'agent.*'))
      .map((queue) => `${queue.name}.dead`)
      .sort();
    expect(expected.includes('engine.commands.dead')).toBeTruthy();
    // Each queue's gauge and counter reach Prometheus on their own scrape: wait for all of them.
    const deadLetterQueues = (alerts: Sample[]) =>
      alerts
        .filter((a) => a.metric.alertname === 'DroverDeadLetters')
        .map((a) => a.metric.queue ?? '')
        .sort();
    let firing: Sample[] = [];
    await eventually(
      'DroverDeadLetters to fire for every dead-letter queue that got the message',
      async () => {
        firing = await query('ALERTS{alertstate="firing"}');
        return deadLetterQueues(firing).join() === expected.join() || undefined;
      },
      30_000,
    ).catch(async () =>
      assert.fail(`firing for ${deadLetterQueues(firing).join(', ')}\n${await deathReasons(expected)}`),
    );
    // The scheduler holds the lease and every service answers: none of those alerts may fire.
    const others = firing.map((a) => a.metric.alertname).filter((name) => name !== 'DroverDeadLetters');
    expect(others).toEqual([]);
    // The counter saw that dead letter too, though the message never reached a handler.
    await eventually('the dead-letter counters of both consumers', async () => {
      const samples = await query(
        'sum by (queue) (increase(drover_bus_deliveries_total{outcome="dead-letter"}[5m])) > 0',
      );
      const queues = samples.map((s) => `${s.metric.queue}.dead`).sort();
      return queues.join() === expected.join() || undefined;
    });
  });
});
