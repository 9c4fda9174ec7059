import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { skipUnlessCi } from '@drover/testing';

/** Shared helpers of the compose and monitoring checks (no YAML library: python3-yaml converts). */

/** The repository root: the first ancestor of this file holding docker-compose-db.yml. */
export function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'docker-compose-db.yml'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('docker-compose-db.yml not found above ' + __dirname);
    dir = parent;
  }
  return dir;
}

export interface RunResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  cwd?: string;
  input?: string;
  /** Variables to set (a string) or unset (undefined) for this command. */
  env?: Record<string, string | undefined>;
}

export function run(command: string, args: string[], options: RunOptions = {}): RunResult {
  // The compose files have no default secrets directory; the checks read the placeholders of
  // deploy/secrets.example (which every service refuses to start on).
  const env: NodeJS.ProcessEnv = { ...process.env, DROVER_SECRETS_DIR: join(repoRoot(), 'deploy/secrets.example') };
  for (const [key, value] of Object.entries(options.env ?? {})) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  delete env.COMPOSE_FILE;
  delete env.COMPOSE_PROFILES;
  const result = spawnSync(command, args, {
    cwd: options.cwd ?? repoRoot(),
    input: options.input,
    env,
    encoding: 'utf8',
  });
  if (result.error) return { status: null, stdout: '', stderr: result.error.message };
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Succeeds or throws with the command's output. */
export function runOk(command: string, args: string[], options: RunOptions = {}): string {
  const result = run(command, args, options);
  if (result.status !== 0) {
    throw new Error(`${command} ${args.join(' ')} exited ${result.status}:\n${result.stdout}\n${result.stderr}`);
  }
  return result.stdout;
}

const PY_YAML_TO_JSON = 'import json,sys,yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)';

/**
 * What is missing to run the checks: `false` when everything is there, else a skip reason.
 * On CI (CI=true) a missing tool is an error, not a skip.
 */
export function missingTools(tools: string[]): string | false {
  const missing = tools.filter((tool) => {
    if (tool === 'python3-yaml') return run('python3', ['-c', 'import yaml']).status !== 0;
    return run(tool, ['--version']).status !== 0;
  });
  return skipUnlessCi(missing.length > 0 && `not installed: ${missing.join(', ')}`);
}

export function yamlToJson<T>(yaml: string): T {
  return JSON.parse(runOk('python3', ['-c', PY_YAML_TO_JSON], { input: yaml })) as T;
}

/** Metric names declared in libs/platform/src/metrics.ts (`name: 'drover_...'`). */
export function exportedMetricNames(root: string): Set<string> {
  const source = readFileSync(join(root, 'libs/platform/src/metrics.ts'), 'utf8');
  return new Set([...source.matchAll(/name:\s*'(drover_[a-z_]+)'/g)].flatMap((match) => (match[1] ? [match[1]] : [])));
}

/** The drover_* names a text uses, with the histogram series suffixes stripped. */
export function usedMetricNames(text: string): Set<string> {
  return new Set([...text.matchAll(/drover_[a-z_]+/g)].map((match) => match[0].replace(/_(bucket|sum|count)$/, '')));
}

/** The parts of a compose service the hardening rules read (`docker-compose config` output). */
export interface HardenedService {
  cap_drop?: string[];
  cap_add?: string[];
  security_opt?: string[];
  read_only?: boolean;
  tmpfs?: string[] | string;
  secrets?: { source: string; target?: string }[];
  environment?: Record<string, string | null>;
}

/** One broken rule: which rule, on which service, and what is wrong. */
export interface ComposeProblem {
  rule: string;
  service: string;
  message: string;
}

export interface HardeningOptions {
  /** Services the rules do not apply to, e.g. the development-only container that runs `npm ci`. */
  exempt?: string[];
  /** Services that hold no store connection: no mongo_url secret, no MONGO_URL(_FILE). */
  noStoreFor?: string[];
  /** The only services that may get the cache's credentials (redis_url, REDIS_URL(_FILE)). */
  cacheFor?: string[];
}

const STORE_SECRET = /(^|_)mongo_url$/;
const CACHE_SECRET = /(^|_)redis_url$/;

/**
 * docs/security.md, "Hardened containers": every container drops all capabilities, cannot gain
 * privileges, runs on a read-only root file system with a tmpfs /tmp, and gets the store's and
 * the cache's credentials only if it uses them.
 */
export function checkComposeHardening(
  services: Record<string, HardenedService>,
  options: HardeningOptions = {},
): ComposeProblem[] {
  const problems: ComposeProblem[] = [];
  for (const [name, service] of Object.entries(services)) {
    if (options.exempt?.includes(name)) continue;
    const report = (rule: string, message: string) => problems.push({ rule, service: name, message });
    if (!(service.cap_drop ?? []).map((cap) => cap.toUpperCase()).includes('ALL')) {
      report('drop-capabilities', 'cap_drop does not hold ALL');
    }
    if ((service.cap_add ?? []).length > 0) {
      report('drop-capabilities', `adds capabilities ${service.cap_add!.join(', ')}`);
    }
    const noNewPrivileges = (service.security_opt ?? []).some((option) =>
      /^no-new-privileges(:true|=true)?$/.test(option),
    );
    if (!noNewPrivileges) report('no-new-privileges', 'security_opt does not hold no-new-privileges:true');
    if (service.read_only !== true) report('read-only-root', 'read_only is not true');
    const tmpfs = typeof service.tmpfs === 'string' ? [service.tmpfs] : (service.tmpfs ?? []);
    if (!tmpfs.some((mount) => mount === '/tmp' || mount.startsWith('/tmp:'))) {
      report('read-only-root', 'no tmpfs on /tmp (the root file system is read-only)');
    }
    const secrets = (service.secrets ?? []).flatMap((secret) => [secret.source, secret.target ?? secret.source]);
    const variables = Object.keys(service.environment ?? {});
    if (options.noStoreFor?.includes(name)) {
      for (const secret of new Set(secrets.filter((secret) => STORE_SECRET.test(secret)))) {
        report('no-store-credentials', `mounts the store's secret ${secret}`);
      }
      for (const variable of variables.filter((variable) => /^MONGO_URL(_FILE)?$/.test(variable))) {
        report('no-store-credentials', `sets ${variable}`);
      }
    }
    if (options.cacheFor && !options.cacheFor.includes(name)) {
      const cache = [
        ...new Set(secrets.filter((secret) => CACHE_SECRET.test(secret))),
        ...variables.filter((variable) => /^REDIS_URL(_FILE)?$/.test(variable)),
      ];
      // Redis itself reads redis_url to learn its password.
      if (name !== 'redis') {
        for (const item of cache) report('no-store-credentials', `gets the cache's credentials (${item})`);
      }
    }
  }
  return problems;
}

/**
 * A compose file's text: every use of DROVER_SECRETS_DIR must be `${DROVER_SECRETS_DIR:?message}`
 * (or `?`), so that compose refuses to start without a secrets directory instead of falling back
 * to placeholders (`:-`, `-`) or to an empty path (bare `$DROVER_SECRETS_DIR`, `${DROVER_SECRETS_DIR}`).
 */
export function checkSecretsDirRequired(text: string): ComposeProblem[] {
  const problems: ComposeProblem[] = [];
  for (const match of text.matchAll(/\$\{?DROVER_SECRETS_DIR([^A-Za-z0-9_][^}\n]*)?/g)) {
    if (!/^\$\{DROVER_SECRETS_DIR:?\?\S/.test(match[0])) {
      problems.push({
        rule: 'no-default-secrets',
        service: '(file)',
        message: `${match[0].slice(0, 40)} must be \${DROVER_SECRETS_DIR:?<how to make secrets>}`,
      });
    }
  }
  return problems;
}
