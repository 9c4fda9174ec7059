import { describe, expect, it } from '@jest/globals';
import { checkChartRules, type K8sObject } from './chart-rules';

const labels = { 'app.kubernetes.io/instance': 'drover', 'app.kubernetes.io/component': 'engine' };

/** A Deployment that keeps every rule; each test breaks one thing. */
function deployment(component = 'engine'): K8sObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: `drover-${component}` },
    spec: {
      template: {
        metadata: { labels: { ...labels, 'app.kubernetes.io/component': component } },
        spec: {
          automountServiceAccountToken: false,
          terminationGracePeriodSeconds: 35,
          securityContext: { runAsNonRoot: true, runAsUser: 10001, seccompProfile: { type: 'RuntimeDefault' } },
          containers: [
            {
              name: component,
              image: `drover-${component}:1`,
              securityContext: {
                allowPrivilegeEscalation: false,
                readOnlyRootFilesystem: true,
                capabilities: { drop: ['ALL'] },
              },
              env: [
                { name: 'SHUTDOWN_TIMEOUT_MS', value: '25000' },
                { name: 'RABBITMQ_URL_FILE', value: '/run/secrets/rabbitmq_url' },
              ],
              volumeMounts: [
                { name: 'secrets', mountPath: '/run/secrets', readOnly: true },
                { name: 'tmp', mountPath: '/tmp' },
              ],
              resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '1', memory: '512Mi' } },
              livenessProbe: { httpGet: { path: '/live', port: 'ops' } },
              readinessProbe: { httpGet: { path: '/ready', port: 'ops' } },
            },
          ],
          volumes: [
            {
              name: 'secrets',
              projected: { sources: [{ secret: { name: 'r', items: [{ key: 'k', path: 'rabbitmq_url' }] } }] },
            },
            { name: 'tmp', emptyDir: {} },
          ],
        },
      },
    },
  };
}

function policy(component?: string): K8sObject {
  const matchLabels: Record<string, string> = { 'app.kubernetes.io/instance': 'drover' };
  if (component) matchLabels['app.kubernetes.io/component'] = component;
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'NetworkPolicy',
    metadata: { name: component ?? 'default-deny' },
    spec: { podSelector: { matchLabels }, policyTypes: ['Ingress', 'Egress'] },
  };
}

interface TestContainer {
  securityContext: Record<string, unknown>;
  env: { name: string; value?: string; valueFrom?: unknown }[];
  envFrom?: unknown[];
  resources?: { requests: Record<string, string>; limits: Record<string, string | undefined> };
  livenessProbe?: unknown;
  readinessProbe?: unknown;
}
interface Pod {
  securityContext: Record<string, unknown>;
  containers: TestContainer[];
  [field: string]: unknown;
}
const podOf = (object: K8sObject) => (object.spec as { template: { spec: Pod } }).template.spec;
const containerOf = (object: K8sObject) => podOf(object).containers[0]!;

/** The rules broken when `change` is applied to an otherwise valid engine Deployment. */
function brokenBy(change: (object: K8sObject) => void, component = 'engine'): string[] {
  const object = deployment(component);
  change(object);
  const problems = checkChartRules([object, policy(), policy(component)], {
    noStoreFor: ['gateway', 'session-agent'],
    cacheFor: ['gateway'],
  });
  return [...new Set(problems.map((problem) => problem.rule))];
}

describe('chart rules', () => {
  it('accept a Deployment that keeps them all', () => {
    expect(brokenBy(() => undefined)).toEqual([]);
  });

  it('report a Deployment without probes', () => {
    expect(brokenBy((object) => delete containerOf(object).livenessProbe)).toEqual(['probes']);
    expect(brokenBy((object) => delete containerOf(object).readinessProbe)).toEqual(['probes']);
  });

  it('do not ask a Job for probes', () => {
    const job = deployment('bootstrap');
    job.kind = 'Job';
    delete containerOf(job).livenessProbe;
    delete containerOf(job).readinessProbe;
    expect(checkChartRules([job, policy('bootstrap')])).toEqual([]);
  });

  it('report a container running as root', () => {
    expect(brokenBy((object) => (podOf(object).securityContext.runAsUser = 0))).toEqual(['non-root']);
    expect(brokenBy((object) => delete podOf(object).securityContext.runAsNonRoot)).toEqual(['non-root']);
    expect(brokenBy((object) => (containerOf(object).securityContext.runAsNonRoot = false))).toEqual(['non-root']);
  });

  it('report a container without resources', () => {
    expect(brokenBy((object) => delete containerOf(object).resources)).toEqual(['resources']);
    expect(brokenBy((object) => delete containerOf(object).resources!.limits.memory)).toEqual(['resources']);
  });

  it('report a read-only root without a writable emptyDir on /tmp', () => {
    type Mounts = { volumeMounts: { name: string; mountPath: string; readOnly?: boolean }[] };
    const mounts = (object: K8sObject) => (containerOf(object) as unknown as Mounts).volumeMounts;
    expect(brokenBy((object) => mounts(object).splice(1, 1))).toEqual(['writable-tmp']);
    expect(brokenBy((object) => (mounts(object)[1]!.readOnly = true))).toEqual(['writable-tmp']);
    expect(
      brokenBy(
        (object) =>
          ((podOf(object).volumes as { name: string }[])[1] = { name: 'tmp', hostPath: { path: '/tmp' } } as never),
      ),
    ).toEqual(['writable-tmp']);
  });

  it("report the cache's credentials outside the gateway", () => {
    const withRedis = (object: K8sObject) => {
      containerOf(object).env.push({ name: 'REDIS_URL_FILE', value: '/run/secrets/redis_url' });
      const volumes = podOf(object).volumes as { projected?: { sources: { secret: { items: unknown[] } }[] } }[];
      volumes[0]!.projected!.sources[0]!.secret.items.push({ key: 'redis_url', path: 'redis_url' });
    };
    expect(brokenBy(withRedis, 'session-agent')).toEqual(['no-store-credentials']);
    expect(brokenBy(withRedis, 'engine')).toEqual(['no-store-credentials']);
    expect(brokenBy(withRedis, 'gateway')).toEqual([]);
  });

  it('report a writable root filesystem', () => {
    expect(brokenBy((object) => (containerOf(object).securityContext.readOnlyRootFilesystem = false))).toEqual([
      'read-only-root',
    ]);
  });

  it('report privilege escalation, privileged containers and kept capabilities', () => {
    expect(brokenBy((object) => delete containerOf(object).securityContext.allowPrivilegeEscalation)).toEqual([
      'no-privilege-escalation',
    ]);
    expect(brokenBy((object) => (containerOf(object).securityContext.privileged = true))).toEqual([
      'no-privilege-escalation',
    ]);
    expect(brokenBy((object) => (containerOf(object).securityContext.capabilities = { drop: ['NET_RAW'] }))).toEqual([
      'drop-capabilities',
    ]);
    expect(
      brokenBy((object) => (containerOf(object).securityContext.capabilities = { drop: ['ALL'], add: ['SYS_ADMIN'] })),
    ).toEqual(['drop-capabilities']);
  });

  it('report a missing or unconfined seccomp profile, and accept a Localhost one', () => {
    expect(brokenBy((object) => delete podOf(object).securityContext.seccompProfile)).toEqual(['seccomp']);
    expect(brokenBy((object) => (podOf(object).securityContext.seccompProfile = { type: 'Unconfined' }))).toEqual([
      'seccomp',
    ]);
    expect(brokenBy((object) => (podOf(object).securityContext.seccompProfile = { type: 'Localhost' }))).toEqual([
      'seccomp',
    ]);
    expect(
      brokenBy(
        (object) =>
          (podOf(object).securityContext.seccompProfile = {
            type: 'Localhost',
            localhostProfile: 'drover/chromium.json',
          }),
      ),
    ).toEqual([]);
  });

  it('report a mounted service account token and host namespaces', () => {
    expect(brokenBy((object) => delete podOf(object).automountServiceAccountToken)).toEqual([
      'no-service-account-token',
    ]);
    expect(brokenBy((object) => (podOf(object).hostNetwork = true))).toEqual(['no-host-namespaces']);
  });

  it('report secrets passed through the environment, and _FILE paths on no volume', () => {
    expect(
      brokenBy((object) => containerOf(object).env.push({ name: 'MONGO_URL', value: 'mongodb://user:pw@store' })),
    ).toEqual(['secrets-as-files']);
    expect(
      brokenBy((object) =>
        containerOf(object).env.push({ name: 'TOKEN', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }),
      ),
    ).toEqual(['secrets-as-files']);
    expect(brokenBy((object) => (containerOf(object).envFrom = [{ secretRef: { name: 's' } }]))).toEqual([
      'secrets-as-files',
    ]);
    expect(
      brokenBy((object) => containerOf(object).env.push({ name: 'MONGO_URL_FILE', value: '/etc/secrets/mongo_url' })),
    ).toEqual(['secrets-as-files']);
  });

  it('report store credentials given to the gateway or a session agent', () => {
    const mongoFile = (object: K8sObject) =>
      containerOf(object).env.push({ name: 'MONGO_URL_FILE', value: '/run/secrets/mongo_url' });
    expect(brokenBy(mongoFile, 'engine')).toEqual([]);
    expect(brokenBy(mongoFile, 'session-agent')).toEqual(['no-store-credentials']);
    expect(
      brokenBy((object) => {
        const volume = (podOf(object).volumes as { projected: { sources: unknown[] } }[])[0]!;
        volume.projected.sources.push({
          secret: { name: 'drover-mongo', items: [{ key: 'mongo_url', path: 'mongo_url' }] },
        });
      }, 'gateway'),
    ).toEqual(['no-store-credentials']);
  });

  it('report a grace period that does not exceed the drain', () => {
    expect(brokenBy((object) => (podOf(object).terminationGracePeriodSeconds = 25))).toEqual(['grace-exceeds-drain']);
    expect(brokenBy((object) => delete podOf(object).terminationGracePeriodSeconds)).toEqual([]); // 30 s > 25 s
    expect(brokenBy((object) => (containerOf(object).env[0]!.value = '40000'))).toEqual(['grace-exceeds-drain']);
  });

  it('report a workload without a NetworkPolicy, or without one of its own', () => {
    const engine = deployment();
    const rules = (objects: K8sObject[]) => checkChartRules(objects).map((problem) => problem.message);
    expect(rules([engine])).toEqual([
      "no NetworkPolicy restricts its pods' ingress",
      "no NetworkPolicy restricts its pods' egress",
      'no NetworkPolicy of its own (selecting component engine)',
    ]);
    expect(rules([engine, policy()])).toEqual(['no NetworkPolicy of its own (selecting component engine)']);
    const ingressOnly = policy('engine');
    (ingressOnly.spec as { policyTypes: string[] }).policyTypes = ['Ingress'];
    expect(rules([engine, ingressOnly])).toEqual(["no NetworkPolicy restricts its pods' egress"]);
    expect(rules([engine, policy('scheduler')])).toHaveLength(3);
  });
});
