// Drover's own rules for the Kubernetes objects its chart renders, beyond the API's schemas
// (k8s-schemas.ts): what deploy/helm/README.md promises about every workload. Each rule has a
// failing example in chart-rules.spec.ts; chart.int-spec.ts applies them to the rendered chart.

/** A rendered object, as parsed from `helm template` (only the fields the rules read). */
export interface K8sObject {
  apiVersion?: string;
  kind?: string;
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  [field: string]: unknown;
}

interface SecurityContext {
  runAsNonRoot?: boolean;
  runAsUser?: number;
  allowPrivilegeEscalation?: boolean;
  readOnlyRootFilesystem?: boolean;
  privileged?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type?: string; localhostProfile?: string };
}

interface Probe {
  httpGet?: { path?: string; port?: number | string };
  tcpSocket?: unknown;
  exec?: unknown;
  grpc?: unknown;
}

interface Container {
  name: string;
  image?: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: unknown } }[];
  envFrom?: { secretRef?: unknown }[];
  securityContext?: SecurityContext;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> };
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
}

interface Volume {
  name: string;
  secret?: { secretName?: string; items?: { key: string; path: string }[] };
  projected?: { sources?: { secret?: { name?: string; items?: { key: string; path: string }[] } }[] };
  emptyDir?: { medium?: string; sizeLimit?: string };
}

interface PodSpec {
  securityContext?: SecurityContext;
  containers?: Container[];
  initContainers?: Container[];
  volumes?: Volume[];
  automountServiceAccountToken?: boolean;
  terminationGracePeriodSeconds?: number;
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
}

interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec?: PodSpec;
}

/** One broken rule: which rule, on which object, and what is wrong. */
export interface RuleProblem {
  rule: string;
  object: string;
  message: string;
}

export interface RuleOptions {
  /** Components (label app.kubernetes.io/component) that must get no store credentials. */
  noStoreFor?: string[];
  /** The only components that may get the cache's credentials (REDIS_URL, the redis_url file). */
  cacheFor?: string[];
  /** The drain (SHUTDOWN_TIMEOUT_MS) used when a container does not set its own. */
  defaultShutdownTimeoutMs?: number;
}

/** Variables that carry a secret: they must come as `<NAME>_FILE` from a mounted file. */
export const SECRET_VARIABLES = ['RABBITMQ_URL', 'MONGO_URL', 'REDIS_URL', 'DROVER_API_KEYS', 'DROVER_SECRETS_KEY'];
const STORE_VARIABLES = ['MONGO_URL', 'MONGO_URL_FILE'];
const CACHE_VARIABLES = ['REDIS_URL', 'REDIS_URL_FILE'];
const WORKLOAD_KINDS = new Set(['Deployment', 'Job', 'StatefulSet', 'DaemonSet']);

export const name = (object: K8sObject): string => `${object.kind ?? '?'}/${object.metadata?.name ?? '?'}`;

function podTemplateOf(object: K8sObject): PodTemplate | undefined {
  if (!object.kind || !WORKLOAD_KINDS.has(object.kind)) return undefined;
  return (object.spec as { template?: PodTemplate } | undefined)?.template;
}

/** Whether a label selector's `matchLabels` (the only form the chart uses) selects these labels. */
function selects(
  selector: { matchLabels?: Record<string, string> } | undefined,
  labels: Record<string, string>,
): boolean {
  const match = selector?.matchLabels ?? {};
  return Object.entries(match).every(([key, value]) => labels[key] === value);
}

function effective(pod: SecurityContext | undefined, container: SecurityContext | undefined): SecurityContext {
  return { ...pod, ...container };
}

/** Every problem of the rendered objects; empty when all rules hold. */
export function checkChartRules(objects: K8sObject[], options: RuleOptions = {}): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const noStoreFor = options.noStoreFor ?? [];
  const report = (rule: string, object: K8sObject, message: string) =>
    problems.push({ rule, object: name(object), message });
  const networkPolicies = objects.filter((object) => object.kind === 'NetworkPolicy');

  for (const object of objects) {
    const template = podTemplateOf(object);
    if (!template) continue;
    const pod = template.spec ?? {};
    const labels = template.metadata?.labels ?? {};
    const containers = [...(pod.initContainers ?? []), ...(pod.containers ?? [])];
    const longRunning = object.kind !== 'Job';

    if (pod.hostNetwork || pod.hostPID || pod.hostIPC) report('no-host-namespaces', object, 'shares a host namespace');
    if (pod.automountServiceAccountToken !== false) {
      report(
        'no-service-account-token',
        object,
        'automountServiceAccountToken is not false (no service calls the API)',
      );
    }

    for (const container of containers) {
      const where = `container ${container.name}`;
      const security = effective(pod.securityContext, container.securityContext);
      if (security.runAsNonRoot !== true) report('non-root', object, `${where}: runAsNonRoot is not true`);
      if (security.runAsUser === undefined || security.runAsUser === 0) {
        report(
          'non-root',
          object,
          `${where}: runAsUser is ${security.runAsUser ?? 'unset'} (the images' user is 10001)`,
        );
      }
      if (security.readOnlyRootFilesystem !== true) {
        report('read-only-root', object, `${where}: readOnlyRootFilesystem is not true`);
      }
      if (security.allowPrivilegeEscalation !== false) {
        report('no-privilege-escalation', object, `${where}: allowPrivilegeEscalation is not false`);
      }
      if (security.privileged === true) report('no-privilege-escalation', object, `${where}: privileged`);
      if (!(security.capabilities?.drop ?? []).includes('ALL')) {
        report('drop-capabilities', object, `${where}: capabilities.drop does not hold ALL`);
      }
      if ((security.capabilities?.add ?? []).length > 0) {
        report('drop-capabilities', object, `${where}: adds capabilities ${security.capabilities?.add?.join(', ')}`);
      }
      const seccomp = security.seccompProfile?.type;
      if (seccomp !== 'RuntimeDefault' && !(seccomp === 'Localhost' && security.seccompProfile?.localhostProfile)) {
        report(
          'seccomp',
          object,
          `${where}: seccompProfile is ${seccomp ?? 'unset'} (RuntimeDefault or Localhost with a profile)`,
        );
      }

      for (const kind of ['requests', 'limits'] as const) {
        for (const resource of ['cpu', 'memory']) {
          if (!container.resources?.[kind]?.[resource]) {
            report('resources', object, `${where}: no ${kind}.${resource}`);
          }
        }
      }

      if (longRunning && !container.livenessProbe) report('probes', object, `${where}: no livenessProbe`);
      if (longRunning && !container.readinessProbe) report('probes', object, `${where}: no readinessProbe`);

      for (const variable of container.env ?? []) {
        if (variable.valueFrom?.secretKeyRef) {
          report('secrets-as-files', object, `${where}: ${variable.name} comes from a Secret through the environment`);
        }
        if (SECRET_VARIABLES.includes(variable.name)) {
          report(
            'secrets-as-files',
            object,
            `${where}: ${variable.name} is set in the environment (use ${variable.name}_FILE)`,
          );
        }
        if (variable.name.endsWith('_FILE') && variable.value) {
          const mounted = (container.volumeMounts ?? []).some((mount) =>
            variable.value!.startsWith(`${mount.mountPath}/`),
          );
          if (!mounted)
            report('secrets-as-files', object, `${where}: ${variable.name}=${variable.value} is on no mounted volume`);
        }
      }
      if ((container.envFrom ?? []).some((source) => source.secretRef)) {
        report('secrets-as-files', object, `${where}: envFrom a Secret`);
      }

      const component = labels['app.kubernetes.io/component'];
      if (component && noStoreFor.includes(component)) {
        for (const variable of container.env ?? []) {
          if (STORE_VARIABLES.includes(variable.name)) {
            report('no-store-credentials', object, `${where}: ${component} gets ${variable.name}`);
          }
        }
      }
      if (component && options.cacheFor && !options.cacheFor.includes(component)) {
        for (const variable of container.env ?? []) {
          if (CACHE_VARIABLES.includes(variable.name)) {
            report('no-store-credentials', object, `${where}: ${component} gets the cache's ${variable.name}`);
          }
        }
      }

      // A read-only root leaves a program nowhere to put its temporary files (Chromium's
      // profiles, Node's): /tmp must be a writable emptyDir, not the image's directory.
      if (security.readOnlyRootFilesystem === true) {
        const tmp = (container.volumeMounts ?? []).find((mount) => mount.mountPath === '/tmp');
        const volume = tmp && (pod.volumes ?? []).find((candidate) => candidate.name === tmp.name);
        if (!tmp || tmp.readOnly || !volume?.emptyDir) {
          report(
            'writable-tmp',
            object,
            `${where}: /tmp is not a writable emptyDir (the root file system is read-only)`,
          );
        }
      }

      if (longRunning) {
        const drainMs = Number(
          container.env?.find((variable) => variable.name === 'SHUTDOWN_TIMEOUT_MS')?.value ??
            options.defaultShutdownTimeoutMs ??
            25_000,
        );
        const grace = pod.terminationGracePeriodSeconds ?? 30;
        if (grace * 1000 <= drainMs) {
          report(
            'grace-exceeds-drain',
            object,
            `${where}: terminationGracePeriodSeconds ${grace} s does not exceed SHUTDOWN_TIMEOUT_MS ${drainMs} ms`,
          );
        }
      }
    }

    const component = labels['app.kubernetes.io/component'];
    if (component && noStoreFor.includes(component)) {
      const files = (pod.volumes ?? []).flatMap((volume) => [
        ...(volume.secret?.items ?? []),
        ...(volume.projected?.sources ?? []).flatMap((source) => source.secret?.items ?? []),
      ]);
      for (const file of files) {
        if (/mongo/i.test(file.path) || /mongo/i.test(file.key)) {
          report('no-store-credentials', object, `${component} mounts the store's secret as ${file.path}`);
        }
      }
    }
    if (component && options.cacheFor && !options.cacheFor.includes(component)) {
      const files = (pod.volumes ?? []).flatMap((volume) => [
        ...(volume.secret?.items ?? []),
        ...(volume.projected?.sources ?? []).flatMap((source) => source.secret?.items ?? []),
      ]);
      for (const file of files) {
        if (/redis/i.test(file.path) || /redis/i.test(file.key)) {
          report('no-store-credentials', object, `${component} mounts the cache's secret as ${file.path}`);
        }
      }
    }

    const covered = (type: 'Ingress' | 'Egress') =>
      networkPolicies.some((policy) => {
        const spec = policy.spec as { podSelector?: { matchLabels?: Record<string, string> }; policyTypes?: string[] };
        return selects(spec.podSelector, labels) && (spec.policyTypes ?? ['Ingress']).includes(type);
      });
    for (const type of ['Ingress', 'Egress'] as const) {
      if (!covered(type))
        report('network-policy', object, `no NetworkPolicy restricts its pods' ${type.toLowerCase()}`);
    }
    // Its own policy (one naming its component), not only a release-wide default deny, which
    // would cut it off from everything.
    const own = networkPolicies.some((policy) => {
      const match = (policy.spec as { podSelector?: { matchLabels?: Record<string, string> } }).podSelector
        ?.matchLabels;
      return (
        component !== undefined &&
        match?.['app.kubernetes.io/component'] === component &&
        selects({ matchLabels: match }, labels)
      );
    });
    if (!own)
      report('network-policy', object, `no NetworkPolicy of its own (selecting component ${component ?? 'unset'})`);
  }
  return problems;
}
