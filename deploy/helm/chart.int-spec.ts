// The Helm chart deploy/helm/drover, rendered offline with `helm template` (the helm binary
// deploy/helm/helm.sh builds from the Go module proxy; HELM_BIN overrides it) under several sets
// of values. Every rendered object is checked against its Kubernetes schema (k8s-schemas.ts,
// from kubernetes-models; KEDA's by shape, keda-shapes.ts) and against Drover's rules
// (chart-rules.ts), plus what the chart promises about Drover itself (queue, users, secrets).
// With CI=true a missing helm fails the suite.
import { expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { BUS_SERVICE_ROLES, parseBusUsers } from '@drover/contracts';
import { Queues } from '@drover/messaging';
import { describeUnless, skipUnlessCi } from '@drover/testing';
import { checkChartRules, name, type K8sObject } from './chart-rules';
import { schemaProblems } from './k8s-schemas';
import { KEDA_SHAPES } from './keda-shapes';

const root = join(__dirname, '..', '..');
const chart = join(__dirname, 'drover');
const PRODUCTION = join(chart, 'values-production.yaml');
const TEST_SECRETS = join(__dirname, 'test-values.yaml');
const SERVICES = ['gateway', 'engine', 'persistence-agent', 'scheduler', 'session-agent'];
const NO_STORE = ['gateway', 'session-agent'];

/** HELM_BIN, else the binary helm.sh builds (`bash deploy/helm/helm.sh build`). */
function helmBinary(): string | undefined {
  const path =
    process.env.HELM_BIN ?? spawnSync('bash', [join(__dirname, 'helm.sh'), 'bin'], { encoding: 'utf8' }).stdout.trim();
  return path && existsSync(path) ? path : undefined;
}

const helm = helmBinary();
const missing = skipUnlessCi(
  !helm && 'helm is missing: run `bash deploy/helm/helm.sh build` (or set HELM_BIN to a helm v3 binary)',
);

function runHelm(args: string[]) {
  return spawnSync(helm!, args, {
    cwd: root,
    encoding: 'utf8',
    env: { ...process.env, HELM_CACHE_HOME: '/tmp/drover-helm-cache' },
  });
}

/** `helm template` with these values files and `--set`s, every document parsed. */
function render(files: string[] = [], set: string[] = []): K8sObject[] {
  const args = ['template', 'drover', chart, '--namespace', 'drover'];
  for (const file of files) args.push('--values', file);
  for (const value of set) args.push('--set', value);
  const result = runHelm(args);
  if (result.status !== 0) throw new Error(`helm ${args.join(' ')} exited ${result.status}:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((document) => {
      if (document.errors.length) throw new Error(document.errors.map(String).join('\n'));
      return document.toJS() as K8sObject | null;
    })
    .filter((object): object is K8sObject => object !== null);
}

const componentOf = (object: K8sObject) => object.metadata?.labels?.['app.kubernetes.io/component'];
interface RenderedPod {
  containers: { env: { name: string; value?: string }[] }[];
  volumes: {
    name: string;
    projected?: { sources: { secret: { name: string; items: { key: string; path: string }[] } }[] };
  }[];
  securityContext: { seccompProfile: { type: string; localhostProfile?: string } };
}
const podOf = (object: K8sObject) => (object.spec as { template: { spec: RenderedPod } }).template.spec;
const envOf = (object: K8sObject) => Object.fromEntries(podOf(object).containers[0]!.env.map((v) => [v.name, v.value]));
const workloads = (objects: K8sObject[]) => objects.filter((o) => o.kind === 'Deployment' || o.kind === 'Job');
const one = (objects: K8sObject[], kind: string, component: string) => {
  const found = objects.filter((o) => o.kind === kind && componentOf(o) === component);
  expect(found.map(name)).toHaveLength(1);
  return found[0]!;
};

/** What holds for every rendering of the chart. */
function checkRendering(objects: K8sObject[]): void {
  const schemaErrors = objects.flatMap((object) =>
    schemaProblems(object, KEDA_SHAPES).map((p) => `${name(object)}: ${p}`),
  );
  expect(schemaErrors).toEqual([]);

  const ruleErrors = checkChartRules(objects, { noStoreFor: NO_STORE, cacheFor: ['gateway'] });
  expect(ruleErrors).toEqual([]);

  // The five services and the bootstrap Job, nothing else running.
  expect(
    workloads(objects)
      .map((o) => `${o.kind} ${componentOf(o)}`)
      .sort(),
  ).toEqual([...SERVICES.map((s) => `Deployment ${s}`), 'Job bootstrap'].sort());

  // Each service logs in to the broker as its own user: its own Secret, read as a file.
  const rabbitSecrets = workloads(objects).map((o) => {
    const sources = podOf(o).volumes.find((v) => v.name === 'secrets')!.projected!.sources;
    const rabbit = sources.filter((s) => s.secret.items.some((item) => item.path === 'rabbitmq_url'));
    expect(rabbit).toHaveLength(1);
    expect(envOf(o).RABBITMQ_URL_FILE).toBe('/run/secrets/rabbitmq_url');
    return rabbit[0]!.secret.name;
  });
  expect(new Set(rabbitSecrets).size).toBe(BUS_SERVICE_ROLES.length);

  // The store: only the services that hold a database connection get its URL.
  for (const workload of workloads(objects)) {
    const env = envOf(workload);
    const component = componentOf(workload)!;
    expect([component, 'MONGO_URL_FILE' in env]).toEqual([component, !NO_STORE.includes(component)]);
    // The bus users are the broker's (deploy/rabbitmq/definitions.json), every role named.
    const users = parseBusUsers(env.DROVER_BUS_USERS!);
    expect([...users.keys()].sort()).toEqual(brokerUsers());
  }

  // Only the gateway accepts connections from outside the release (besides the ops port).
  const policies = objects.filter((o) => o.kind === 'NetworkPolicy');
  for (const policy of policies) {
    const spec = policy.spec as {
      ingress?: { ports?: { port: number }[] }[];
      egress?: { ports?: { port: number }[] }[];
    };
    const ports = (spec.ingress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
    const allowed = componentOf(policy) === 'gateway' ? [8080, 9090] : [9090];
    expect([name(policy), ports.filter((p) => !allowed.includes(p))]).toEqual([name(policy), []]);
    // Session agents and the gateway reach no store.
    if (NO_STORE.includes(componentOf(policy)!)) {
      const egressPorts = (spec.egress ?? []).flatMap((rule) => (rule.ports ?? []).map((p) => p.port));
      expect([name(policy), egressPorts.includes(27017)]).toEqual([name(policy), false]);
    }
  }
}

function brokerUsers(): string[] {
  const definitions = JSON.parse(readFileSync(join(root, 'deploy/rabbitmq/definitions.json'), 'utf8')) as {
    users: { name: string }[];
  };
  return definitions.users.map((user) => user.name).sort();
}

describeUnless(missing, 'the Helm chart (helm template, Kubernetes schemas, our rules)', () => {
  it('passes helm lint', () => {
    const result = runHelm(['lint', chart, '--strict', '--values', TEST_SECRETS]);
    expect([result.status, result.stdout + result.stderr]).toEqual([0, expect.stringContaining('0 chart(s) failed')]);
  });

  it('renders with the default values: fixed session agents, no sandbox without the seccomp profile', () => {
    const objects = render();
    checkRendering(objects);
    expect(objects.filter((o) => o.kind === 'Secret')).toEqual([]); // the Secrets are the operator's
    expect(objects.filter((o) => /ScaledObject|HorizontalPodAutoscaler/.test(o.kind!))).toEqual([]);
    const sessionAgent = one(objects, 'Deployment', 'session-agent');
    expect((sessionAgent.spec as { replicas?: number }).replicas).toBe(2);
    expect(podOf(sessionAgent).securityContext.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(envOf(sessionAgent).CHROME_NO_SANDBOX).toBe('true');
    // The drain fits in the grace period.
    expect(Number(envOf(sessionAgent).SHUTDOWN_TIMEOUT_MS)).toBe(25_000);
  });

  it('renders the production values: KEDA on the pending queue, the Chromium seccomp profile', () => {
    const objects = render([PRODUCTION]);
    checkRendering(objects);
    const sessionAgent = one(objects, 'Deployment', 'session-agent');
    expect((sessionAgent.spec as { replicas?: number }).replicas).toBeUndefined(); // the autoscaler's
    expect(podOf(sessionAgent).securityContext.seccompProfile).toEqual({
      type: 'Localhost',
      localhostProfile: 'drover/chromium.json',
    });
    expect(envOf(sessionAgent).CHROME_NO_SANDBOX).toBe('false');
    expect(envOf(sessionAgent).MAX_CONCURRENT_AGENTS).toBe('10');

    const scaled = one(objects, 'ScaledObject', 'session-agent') as K8sObject & {
      spec: {
        scaleTargetRef: { name: string };
        triggers: { type: string; metadata: Record<string, string>; authenticationRef: { name: string } }[];
      };
    };
    expect(scaled.spec.scaleTargetRef.name).toBe(sessionAgent.metadata!.name);
    expect(scaled.spec.triggers[0]!.metadata.queueName).toBe(Queues.pendingSessions);
    const auth = one(objects, 'TriggerAuthentication', 'session-agent') as K8sObject & {
      spec: { secretTargetRef: { name: string }[] };
    };
    expect(scaled.spec.triggers[0]!.authenticationRef.name).toBe(auth.metadata!.name);
    expect(auth.spec.secretTargetRef[0]!.name).toBe('drover-rabbitmq-session-agent');
  });

  it('renders the HPA fallback without KEDA, the Secrets for tests, no scraper, bootstrap as a plain Job', () => {
    const objects = render(
      [PRODUCTION, TEST_SECRETS],
      ['autoscaling.mode=hpa', 'networkPolicy.metricsFrom=null', 'bootstrap.hook=false'],
    );
    checkRendering(objects);
    expect(objects.filter((o) => o.apiVersion?.startsWith('keda.sh/'))).toEqual([]);
    const hpa = one(objects, 'HorizontalPodAutoscaler', 'session-agent') as K8sObject & {
      spec: { scaleTargetRef: { name: string }; metrics: { external: { metric: { selector: unknown } } }[] };
    };
    expect(hpa.spec.scaleTargetRef.name).toBe(one(objects, 'Deployment', 'session-agent').metadata!.name);
    expect(hpa.spec.metrics[0]!.external.metric.selector).toEqual({ matchLabels: { queue: Queues.pendingSessions } });
    // Every Secret a pod mounts is rendered (as a hook, before bootstrap runs).
    const secrets = new Set(objects.filter((o) => o.kind === 'Secret').map((o) => o.metadata!.name));
    const mounted = workloads(objects).flatMap((o) =>
      podOf(o).volumes.flatMap((v) => (v.projected?.sources ?? []).map((s) => s.secret.name)),
    );
    expect(mounted.filter((secret) => !secrets.has(secret))).toEqual([]);
  });

  it('refuses values that break its promises', () => {
    const failure = (set: string[]) => {
      const result = runHelm(['template', 'drover', chart, ...set.flatMap((value) => ['--set', value])]);
      return [result.status === 0, result.stderr];
    };
    expect(failure(['drover.terminationGracePeriodSeconds=25'])).toEqual([
      false,
      expect.stringContaining('must exceed drover.shutdownTimeoutMs'),
    ]);
    expect(failure(['autoscaling.mode=vpa'])).toEqual([
      false,
      expect.stringContaining('autoscaling.mode is keda, hpa or none'),
    ]);
    expect(failure(['secrets.create=true'])).toEqual([false, expect.stringContaining('secrets.values has no value')]);
  });
});
