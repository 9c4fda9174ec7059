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

export function run(command: string, args: string[], options: { cwd?: string; input?: string } = {}): RunResult {
  // DROVER_SECRETS_DIR unset: the files reference the placeholder secrets of deploy/secrets.example.
  const env = { ...process.env };
  delete env.DROVER_SECRETS_DIR;
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
export function runOk(command: string, args: string[], options: { cwd?: string; input?: string } = {}): string {
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
