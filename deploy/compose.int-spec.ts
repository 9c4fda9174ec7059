import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUS_SERVICE_ROLES, parseBusUsers } from '@drover/contracts';
import { describeUnless, skipUnlessCi } from '@drover/testing';
import {
  checkComposeHardening,
  checkSecretsDirRequired,
  exportedMetricNames,
  missingTools,
  repoRoot,
  run,
  runOk,
  usedMetricNames,
  yamlToJson,
} from './compose-checks';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string; target?: string; args?: Record<string, string> };
  user?: string;
  networks?: Record<string, unknown> | string[];
  depends_on?: Record<string, { condition?: string }>;
  healthcheck?: { test?: string[] | string; disable?: boolean };
  ports?: (string | { published?: number | string; target?: number; host_ip?: string })[];
  restart?: string;
  stop_grace_period?: string;
  profiles?: string[];
  secrets?: { source: string; target?: string }[];
  environment?: Record<string, string | null>;
  shm_size?: string | number;
  entrypoint?: string[] | string;
  command?: string[] | string;
  security_opt?: string[];
  deploy?: { replicas?: number; resources?: { limits?: { cpus?: number | string; memory?: string } } };
}

interface ComposeFile {
  services: Record<string, ComposeService>;
  networks?: Record<string, { name?: string; external?: boolean | { name?: string } }>;
  secrets?: Record<string, { file?: string }>;
}

const root = repoRoot();
const DB = 'docker-compose-db.yml';
const SERVICES = 'docker-compose-services.yml';
const MONITORING = 'docker-compose-monitoring.yml'; // in deploy/monitoring
const INFRASTRUCTURE = ['mongodb', 'redis', 'rabbitmq'];
const DROVER = ['gateway', 'engine', 'persistence-agent', 'scheduler', 'session-agent'];
/** Ports the host may see: the gateway's API on every interface, the rest on 127.0.0.1 for development. */
const ALLOWED_PORTS: Record<string, string[]> = {
  gateway: ['8080'],
  rabbitmq: ['127.0.0.1:5672', '127.0.0.1:15672'],
  mongodb: ['127.0.0.1:27017'],
  redis: ['127.0.0.1:6379'],
  'standalone-dev': ['127.0.0.1:8081'],
};

/** `docker-compose config` of the given files, as used (merged), parsed. */
function config(files: string[], cwd = root): ComposeFile {
  const args = files.flatMap((file) => ['-f', file]);
  return yamlToJson<ComposeFile>(runOk('docker-compose', ['--project-directory', cwd, ...args, 'config'], { cwd }));
}

function networksOf(service: ComposeService): string[] {
  const networks = service.networks ?? [];
  return Array.isArray(networks) ? networks : Object.keys(networks);
}

/** `host_ip:published` (or `published`) of every published port. */
function publishedPorts(service: ComposeService): string[] {
  return (service.ports ?? []).map((port) => {
    if (typeof port === 'object') return port.host_ip ? `${port.host_ip}:${port.published}` : String(port.published);
    // host_ip:published:target, published:target or target (published on a random port).
    const parts = port.replace(/\/(tcp|udp)$/, '').split(':');
    return parts.slice(0, Math.max(1, parts.length - 1)).join(':');
  });
}

const composeMissing = missingTools(['docker-compose', 'python3-yaml']);

describeUnless(skipUnlessCi(composeMissing), 'docker-compose files (db + services, merged as used)', () => {
  const merged = composeMissing ? undefined : config([DB, SERVICES]);
  const services = merged?.services ?? {};
  const longRunning = Object.keys(services).filter((name) => name !== 'bootstrap');
  const service = (name: string): ComposeService => {
    const found = services[name];
    assert.ok(found, `service ${name} missing`);
    return found;
  };

  it('defines the infrastructure, bootstrap and every Drover service', () => {
    for (const name of [...INFRASTRUCTURE, 'bootstrap', ...DROVER, 'standalone-dev']) {
      assert.ok(services[name], `service ${name} missing`);
    }
  });

  it('puts every service on the drover-net bridge network', () => {
    expect(merged?.networks?.['drover-net']?.name).toBe('drover-net');
    for (const [name, service] of Object.entries(services)) {
      assert.ok(networksOf(service).includes('drover-net'), `${name} is not on drover-net`);
    }
    // Alone, each file is valid and agrees on the network: created by db, external in services.
    expect(config([DB]).networks?.['drover-net']?.name).toBe('drover-net');
    const alone = config([SERVICES]).networks?.['drover-net'];
    assert.ok(alone?.external, 'docker-compose-services.yml must join drover-net as external');
  });

  it('runs bootstrap once, before every other Drover service', () => {
    const bootstrap = service('bootstrap');
    expect(bootstrap.restart ?? 'no').toBe('no');
    expect(bootstrap.build?.target).toEqual('bootstrap');
    for (const name of DROVER) {
      assert.equal(
        service(name).depends_on?.bootstrap?.condition,
        'service_completed_successfully',
        `${name} must wait for bootstrap to complete successfully`,
      );
    }
  });

  it('builds each service from its runtime target on the builder image', () => {
    for (const name of ['bootstrap', ...DROVER]) {
      const build = service(name).build;
      assert.equal(build?.dockerfile, 'deploy/docker/Dockerfile', name);
      expect(build?.target).toBe(name);
      assert.equal(build?.args?.BUILDER_IMAGE, 'drover-builder:latest', name);
    }
  });

  it('declares a health check on every long-running service', () => {
    for (const name of longRunning) {
      const healthcheck = service(name).healthcheck;
      assert.ok(healthcheck?.test && !healthcheck.disable, `${name} has no health check`);
    }
    for (const name of DROVER) {
      const test = JSON.stringify(service(name).healthcheck?.test);
      assert.match(test, /OPS_PORT.*\/ready/, `${name} should probe /ready on its ops port`);
    }
  });

  it('runs the Drover services as a non-root user, restarted, with a 30 s stop grace period', () => {
    for (const name of ['bootstrap', ...DROVER, 'standalone-dev']) {
      const user = service(name).user;
      assert.ok(user && !/^(0|root)(:|$)/.test(user), `${name} runs as root (user: ${user})`);
    }
    for (const name of DROVER) {
      assert.equal(service(name).user, '10001', name);
      assert.equal(service(name).restart, 'unless-stopped', name);
      assert.equal(service(name).stop_grace_period, '30s', name);
      assert.ok(service(name).deploy?.resources?.limits?.memory, `${name} has no memory limit`);
    }
  });

  it('publishes only the gateway and the development ports of the infrastructure', () => {
    for (const [name, service] of Object.entries(services)) {
      for (const port of publishedPorts(service)) {
        assert.ok((ALLOWED_PORTS[name] ?? []).includes(port), `${name} publishes ${port}`);
      }
    }
    expect(publishedPorts(service('gateway'))).toEqual(['8080']);
  });

  it('opens every ops port to drover-net (for Prometheus) on the port prometheus.yml scrapes, unpublished', () => {
    const prometheus = readFileSync(join(root, 'deploy/monitoring/prometheus.yml'), 'utf8');
    for (const name of DROVER) {
      const environment = service(name).environment ?? {};
      assert.equal(environment.OPS_HOST, '0.0.0.0', name);
      assert.ok(!publishedPorts(service(name)).some((port) => port.endsWith(String(environment.OPS_PORT))), name);
      const job = new RegExp(`job_name: ${name}\\n[\\s\\S]*?port: (\\d+)`).exec(prometheus);
      assert.equal(job?.[1], environment.OPS_PORT, `prometheus.yml scrapes ${name} on its OPS_PORT`);
    }
    // Keyless, so it opts in to a non-loopback bind; its host side is 127.0.0.1 only.
    expect(service('standalone-dev').environment?.DROVER_ALLOW_OPEN_API).toBe('true');
    expect(publishedPorts(service('standalone-dev'))).toEqual(['127.0.0.1:8081']);
  });

  it('scales engine and session agents, which share the screenshots volume with the gateway', () => {
    expect(service('engine').deploy?.replicas).toBe(2);
    assert.ok(service('session-agent').shm_size, 'session-agent needs shm_size for Chromium');
    for (const name of ['gateway', 'session-agent']) {
      assert.equal(service(name).environment?.PERSISTENT_DATA_PATH, '/data/files', name);
    }
    expect(service('standalone-dev').profiles).toEqual(['dev']);
  });

  it('passes secrets as files (NAME_FILE), each mounted where the variable points', () => {
    for (const [name, secret] of Object.entries(merged?.secrets ?? {})) {
      assert.ok(secret.file && existsSync(secret.file), `secret ${name}: ${secret.file} does not exist`);
    }
    for (const name of ['bootstrap', ...DROVER]) {
      const secrets = service(name);
      const mounted = new Set((secrets.secrets ?? []).map((secret) => secret.target ?? secret.source));
      for (const [key, value] of Object.entries(secrets.environment ?? {})) {
        assert.ok(!/(URL|KEYS|PASS)$/.test(key), `${name}: ${key} must come from a secret (${key}_FILE)`);
        if (!key.endsWith('_FILE')) continue;
        const secret = /^\/run\/secrets\/(.+)$/.exec(value ?? '')?.[1];
        assert.ok(secret && mounted.has(secret), `${name}: ${key}=${value} is not a mounted secret`);
      }
      assert.ok(secrets.environment?.RABBITMQ_URL_FILE, `${name} has no RABBITMQ_URL_FILE`);
    }
  });

  it('logs every service in to the broker as its own user, and tells the consumers who is who', () => {
    for (const name of ['bootstrap', ...DROVER]) {
      const mount = service(name).secrets?.find((secret) => secret.target === 'rabbitmq_url');
      expect({ name, source: mount?.source }).toEqual({ name, source: `rabbitmq_url_${name}` });
      const file = merged?.secrets?.[`rabbitmq_url_${name}`]?.file;
      assert.ok(file, `no rabbitmq_url_${name} secret`);
      expect(readFileSync(file, 'utf8')).toMatch(new RegExp(`^amqps?://drover-${name}:`));
      const users = parseBusUsers(service(name).environment?.DROVER_BUS_USERS ?? '');
      for (const role of BUS_SERVICE_ROLES) expect(users.get(`drover-${role}`)).toBe(role);
      expect(users.get('drover-operator')).toBe('operator');
    }
    // The broker sets each user's password from the same secret files.
    const broker = new Set((service('rabbitmq').secrets ?? []).map((secret) => secret.source));
    for (const name of ['bootstrap', ...DROVER]) assert.ok(broker.has(`rabbitmq_url_${name}`), name);
    assert.ok(broker.has('rabbitmq_operator_password'));
  });

  it('hardens every container: no capability, no new privileges, read-only root with a tmpfs /tmp', () => {
    // standalone-dev (profile dev) runs `npm ci` and builds in its mounted sources: a development tool.
    const problems = checkComposeHardening(services, {
      exempt: ['standalone-dev'],
      noStoreFor: ['gateway', 'session-agent'],
      cacheFor: ['gateway'],
    });
    expect(problems).toEqual([]);
    // The session agent keeps Chromium's seccomp profile beside no-new-privileges.
    expect(service('session-agent').security_opt).toEqual(
      expect.arrayContaining([expect.stringMatching(/^seccomp[:=].*deploy\/seccomp\/chromium\.json$/)]),
    );
  });

  it('gives the store and the cache credentials to the services that use them only', () => {
    const holders = (secret: string) =>
      Object.entries(services)
        .filter(([, found]) => (found.secrets ?? []).some((mount) => mount.source === secret))
        .map(([name]) => name)
        .sort();
    expect(holders('mongo_url')).toEqual(['bootstrap', 'engine', 'mongodb', 'persistence-agent', 'scheduler']);
    expect(holders('redis_url')).toEqual(['gateway', 'redis']);
  });

  it('requires authentication of MongoDB and Redis, from secret files', () => {
    const mongodb = service('mongodb');
    expect(mongodb.environment?.MONGO_INITDB_ROOT_PASSWORD_FILE).toBe('/run/secrets/mongo_root_password');
    expect(JSON.stringify(mongodb.entrypoint)).toContain('mongod.sh');
    const mongodSh = readFileSync(join(root, 'deploy/mongodb/mongod.sh'), 'utf8');
    expect(mongodSh).toMatch(/--keyFile "\$keyfile"/);
    expect(mongodSh).toMatch(/chmod 400 "\$keyfile"/);
    expect((mongodb.secrets ?? []).map((secret) => secret.source).sort()).toEqual([
      'mongo_keyfile',
      'mongo_root_password',
      'mongo_url',
    ]);
    // The services' URLs carry credentials (the user create-drover-user.js makes from the same file).
    expect(readFileSync(merged?.secrets?.mongo_url?.file ?? '', 'utf8')).toMatch(/^mongodb:\/\/[^:@/]+:[^@/]+@/);
    expect(readFileSync(merged?.secrets?.redis_url?.file ?? '', 'utf8')).toMatch(/^redis:\/\/[^:@/]*:[^@/]+@/);
    expect(JSON.stringify(service('redis').healthcheck?.test)).toContain('redis.sh');
    // No password on a command line (`ps` shows it).
    for (const name of INFRASTRUCTURE) {
      const command = JSON.stringify([service(name).entrypoint, service(name).command, service(name).healthcheck]);
      assert.doesNotMatch(command, /requirepass|--password|-p /, name);
    }
  });

  it('refuses to start without DROVER_SECRETS_DIR, saying how to make secrets', () => {
    expect(checkSecretsDirRequired(readFileSync(join(root, 'deploy/monitoring', MONITORING), 'utf8'))).toEqual([]);
    for (const file of [DB, SERVICES]) {
      expect(checkSecretsDirRequired(readFileSync(join(root, file), 'utf8'))).toEqual([]);
      const result = run('docker-compose', ['-f', file, 'config'], { env: { DROVER_SECRETS_DIR: undefined } });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain('npm run --silent make-secrets -- DIR');
    }
  });

  it('validates the monitoring stack, also on drover-net', () => {
    const monitoring = config([MONITORING], join(root, 'deploy/monitoring'));
    for (const [name, service] of Object.entries(monitoring.services)) {
      assert.ok(networksOf(service).includes('drover-net'), `${name} is not on drover-net`);
      assert.ok(service.healthcheck?.test, `${name} has no health check`);
    }
    expect(monitoring.networks?.['drover-net']?.external).toBeTruthy();
  });
});

const promtoolMissing = missingTools(['promtool']);

describeUnless(skipUnlessCi(promtoolMissing), 'Prometheus configuration and alert rules', () => {
  it('passes promtool check config (which also checks the rule file)', () => {
    runOk('promtool', ['check', 'config', 'deploy/monitoring/prometheus.yml']);
  });

  it('passes promtool check rules', () => {
    runOk('promtool', ['check', 'rules', 'deploy/monitoring/drover.rules.yml']);
  });
});

/**
 * Every metric name used by the alert rules and the dashboard exists in libs/platform/src/metrics.ts:
 * the "no metric name the services do not export" check, done on the sources without running Prometheus.
 */
describe('metric names in rules and dashboard', () => {
  const exported = exportedMetricNames(root);
  const files = [
    'deploy/monitoring/drover.rules.yml',
    'deploy/monitoring/prometheus.yml',
    'deploy/monitoring/grafana/dashboards/drover.json',
  ];

  it('reads the exported names', () => {
    assert.ok(exported.has('drover_commands_total') && exported.size >= 8, [...exported].join(', '));
  });

  for (const file of files) {
    it(`${file} uses only exported drover_* metrics`, () => {
      const used = usedMetricNames(readFileSync(join(root, file), 'utf8'));
      // drover_process_*: prom-client's default metrics, collected with that prefix.
      const unknown = [...used].filter((name) => !exported.has(name) && !name.startsWith('drover_process_'));
      expect(unknown).toEqual([]);
    });
  }

  it('the dashboard has the command, agent, session and dead-letter panels', () => {
    const dashboard = JSON.parse(
      readFileSync(join(root, 'deploy/monitoring/grafana/dashboards/drover.json'), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    const exprs = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)).join('\n');
    for (const name of [
      'drover_commands_total',
      'drover_command_duration_seconds_bucket',
      'drover_agents',
      'drover_sessions_active',
      'drover_queue_messages',
    ]) {
      assert.ok(exprs.includes(name), `no panel uses ${name}`);
    }
  });
});
