/**
 * A small Dockerfile linter for the deploy rules (deploy/docker/*). Not a full parser: it
 * understands line continuations, comments, global ARGs and multi-stage builds
 * (`FROM <image> [AS <name>]`), with USER / ENTRYPOINT / CMD / HEALTHCHECK inherited from a
 * parent stage (`FROM <stage>`).
 *
 * Rules:
 * - every FROM names an exact version tag (x.y.z) or a digest, an earlier stage, `scratch`, or
 *   an image given by a global ARG (the builder image);
 * - a runtime target (a stage no other stage builds on or copies from, with a CMD or
 *   ENTRYPOINT) runs as a non-root USER, under an init (tini or dumb-init) as ENTRYPOINT;
 * - a long-running runtime target has a HEALTHCHECK (one-shot: `HEALTHCHECK NONE` or a CMD
 *   that runs the bootstrap);
 * - no ADD from an http(s) URL;
 * - no secret-looking ENV or ARG (PASSWORD, SECRET, TOKEN, API_KEY) with a value;
 * - capabilities: a runtime target gains no privilege from its image (no `setcap`, no setuid or
 *   setgid bit, no `RUN --security=insecure`), so it runs with every capability dropped and
 *   `no-new-privileges` (compose and the chart do);
 * - read-only root: every path a runtime target writes (DROVER_DATA_DIR, PERSISTENT_DATA_PATH)
 *   is inside a declared VOLUME, and no code is copied owned by the service user (`--chown`), so
 *   the container runs with a read-only root file system;
 * - one service per image: a runtime target runs exactly one service's main
 *   (`dist/services/<service>/src/main.js`) and copies from other stages only that service's
 *   file set (`/app/images/<service>`), never the builder's whole node_modules or dist.
 */

export interface Instruction {
  keyword: string;
  args: string;
  line: number;
}

export interface Stage {
  index: number;
  name?: string;
  image: string;
  line: number;
  instructions: Instruction[];
}

export interface ParsedDockerfile {
  globalArgs: Instruction[];
  stages: Stage[];
}

interface Effective {
  user?: string;
  entrypoint?: string;
  cmd?: string;
  healthcheck?: string;
}

/** The stage and the earlier stages it is built FROM, oldest first. */
function lineage(stages: Stage[], stage: Stage): Stage[] {
  const parent = findStage(stages, stage.image, stage.index);
  return parent ? [...lineage(stages, parent), stage] : [stage];
}

const SECRET_NAME = /PASSWORD|SECRET|TOKEN|API_KEY/i;
/** Variables naming where a service writes. */
const WRITABLE_PATHS = ['DROVER_DATA_DIR', 'PERSISTENT_DATA_PATH'];
const SERVICE_MAIN = /dist\/services\/([a-z-]+)\/src\/main\.js/g;
/** What a runtime target may copy from another stage: its own service's file set. */
const FILE_SET = /^\/app\/images\/([a-z-]+)\/?$/;
const INITS = /(^|\/)(tini|dumb-init)$/;

/** Splits a Dockerfile into instructions (continuations joined, comments dropped) and stages. */
export function parseDockerfile(text: string): ParsedDockerfile {
  const instructions: Instruction[] = [];
  let buffer = '';
  let start = 0;
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const trimmed = raw.trim();
    if (!buffer && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (buffer && trimmed.startsWith('#')) return; // comment inside a continuation
    if (!buffer) start = i + 1;
    if (trimmed.endsWith('\\')) {
      buffer += trimmed.slice(0, -1) + ' ';
      return;
    }
    buffer += trimmed;
    const match = /^(\S+)\s*(.*)$/s.exec(buffer.trim());
    if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start });
    buffer = '';
  });
  if (buffer.trim()) {
    const match = /^(\S+)\s*(.*)$/s.exec(buffer.trim());
    if (match) instructions.push({ keyword: match[1]!.toUpperCase(), args: match[2]!.trim(), line: start });
  }

  const globalArgs: Instruction[] = [];
  const stages: Stage[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--'));
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({
        index: stages.length,
        image: words[0] ?? '',
        ...(asIndex >= 0 && words[asIndex + 1] ? { name: words[asIndex + 1]!.toLowerCase() } : {}),
        line: instruction.line,
        instructions: [],
      });
    } else if (stages.length === 0) {
      if (instruction.keyword === 'ARG') globalArgs.push(instruction);
    } else {
      stages[stages.length - 1]!.instructions.push(instruction);
    }
  }
  return { globalArgs, stages };
}

function argNames(args: Instruction[]): Set<string> {
  return new Set(args.map((a) => a.args.split('=')[0]!.trim()));
}

/** Whether an image reference names an exact version (x.y.z in the tag) or a digest. */
export function isPinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/i.test(image)) return true;
  const lastSlash = image.lastIndexOf('/');
  const colon = image.indexOf(':', lastSlash + 1);
  if (colon < 0) return false; // no tag: latest
  const tag = image.slice(colon + 1);
  if (tag === 'latest') return false;
  return /(^|[^0-9.])v?\d+\.\d+\.\d+/.test(tag);
}

function stageLabel(stage: Stage): string {
  return stage.name ? `stage "${stage.name}"` : `stage #${stage.index + 1}`;
}

function findStage(stages: Stage[], ref: string, before: number): Stage | undefined {
  const lower = ref.toLowerCase();
  return stages.slice(0, before).find((s) => s.name === lower || String(s.index) === lower);
}

function effective(stages: Stage[], stage: Stage): Effective {
  const parent = findStage(stages, stage.image, stage.index);
  const result: Effective = parent ? effective(stages, parent) : {};
  for (const { keyword, args } of stage.instructions) {
    if (keyword === 'USER') result.user = args;
    else if (keyword === 'ENTRYPOINT') {
      result.entrypoint = args;
      delete result.cmd; // a new ENTRYPOINT resets an inherited CMD
    } else if (keyword === 'CMD') result.cmd = args;
    else if (keyword === 'HEALTHCHECK') result.healthcheck = args;
  }
  return result;
}

/** The first word of an exec-form (JSON array) or shell-form command. */
function firstWord(command: string): string {
  const text = command.trim();
  if (text.startsWith('[')) {
    try {
      const parsed = JSON.parse(text) as unknown;
      if (Array.isArray(parsed) && typeof parsed[0] === 'string') return parsed[0];
    } catch {
      return '';
    }
  }
  return text.split(/\s+/)[0] ?? '';
}

function isRootUser(user: string): boolean {
  const name = user.split(':')[0]!.trim();
  return name === '' || name === 'root' || name === '0';
}

/** Key/value pairs of an ENV or ARG instruction (`K=V ...` or the legacy `ENV K V`). */
function assignments(keyword: string, args: string): [string, string][] {
  if (keyword === 'ENV' && !/^\S+=/.test(args)) {
    const [key, ...rest] = args.split(/\s+/);
    return [[key ?? '', rest.join(' ')]];
  }
  const pairs: [string, string][] = [];
  const pattern = /([A-Za-z_][A-Za-z0-9_]*)(?:=("(?:[^"\\]|\\.)*"|'[^']*'|\S*))?/g;
  for (const match of args.matchAll(pattern)) pairs.push([match[1]!, (match[2] ?? '').replace(/^["']|["']$/g, '')]);
  return pairs;
}

/** The rule violations of a Dockerfile, one message each; empty when it passes. */
export function checkDockerfile(text: string): string[] {
  const problems: string[] = [];
  const { globalArgs, stages } = parseDockerfile(text);
  if (stages.length === 0) return ['no FROM instruction'];
  const declared = argNames(globalArgs);

  for (const arg of globalArgs) checkSecrets(arg, problems);

  const referenced = new Set<number>();
  for (const stage of stages) {
    const parent = findStage(stages, stage.image, stage.index);
    if (parent) referenced.add(parent.index);
    for (const instruction of stage.instructions) {
      const from = /--from=(\S+)/.exec(instruction.args);
      if (from && (instruction.keyword === 'COPY' || instruction.keyword === 'RUN')) {
        const source = findStage(stages, from[1]!, stage.index);
        if (source) referenced.add(source.index);
      }
    }
  }

  for (const stage of stages) {
    const label = stageLabel(stage);
    const variable = /^\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?$/.exec(stage.image);
    if (findStage(stages, stage.image, stage.index) || stage.image === 'scratch') {
      // an earlier stage or nothing
    } else if (variable) {
      if (!declared.has(variable[1]!)) {
        problems.push(`line ${stage.line}: FROM ${stage.image}: ${variable[1]} is not a global ARG`);
      }
    } else if (!isPinned(stage.image)) {
      problems.push(`line ${stage.line}: FROM ${stage.image} is not pinned to an exact version tag or digest`);
    }

    for (const instruction of stage.instructions) {
      if (instruction.keyword === 'ADD' && /(^|\s)https?:\/\//i.test(instruction.args)) {
        problems.push(`line ${instruction.line}: ADD from a URL (${label}); download with checksum in a RUN instead`);
      }
      if (instruction.keyword === 'ENV' || instruction.keyword === 'ARG') checkSecrets(instruction, problems);
    }

    if (referenced.has(stage.index)) continue;
    const settings = effective(stages, stage);
    if (settings.cmd === undefined && settings.entrypoint === undefined) continue; // not a runtime target
    if (settings.user === undefined || isRootUser(settings.user)) {
      problems.push(`${label}: runtime target runs as root (add a non-root USER)`);
    }
    if (!settings.entrypoint || !INITS.test(firstWord(settings.entrypoint))) {
      problems.push(`${label}: runtime target has no init (tini or dumb-init) as ENTRYPOINT`);
    }
    const oneShot =
      /^NONE$/i.test(settings.healthcheck?.trim() ?? '') || /bootstrap\/src\/main\.js/.test(settings.cmd ?? '');
    if (!oneShot && !settings.healthcheck) {
      problems.push(`${label}: long-running runtime target has no HEALTHCHECK`);
    }
    const instructions = lineage(stages, stage).flatMap((s) => s.instructions);
    checkPrivileges(label, instructions, problems);
    checkReadOnlyRoot(label, instructions, problems);
    checkOneService(label, settings, instructions, problems);
  }
  return problems;
}

/** No privilege baked into the image: every capability is dropped at run time, and stays dropped. */
function checkPrivileges(label: string, instructions: Instruction[], problems: string[]): void {
  for (const { keyword, args, line } of instructions) {
    if (keyword !== 'RUN') continue;
    if (/--security=insecure/.test(args)) {
      problems.push(`line ${line}: RUN --security=insecure (${label}); runtime targets build without extra privileges`);
    }
    if (/(^|[\s;&|(])setcap\s/.test(args)) {
      problems.push(`line ${line}: setcap grants a file capability (${label}); the container drops every capability`);
    }
    const chmod = /(?:^|[\s;&|(])chmod\s+(?:-\S+\s+)*(\S+)/g;
    for (const match of args.matchAll(chmod)) {
      const mode = match[1]!;
      if (/^[0-7]*[2467][0-7]{3}$/.test(mode) || /^[ugoa]*[+=][rwxXt]*s/.test(mode)) {
        problems.push(
          `line ${line}: chmod ${mode} sets a setuid or setgid bit (${label}); run with no-new-privileges instead`,
        );
      }
    }
  }
}

/** Everything the service writes is a volume (or /tmp, a tmpfs at run time); its code is not its own to change. */
function checkReadOnlyRoot(label: string, instructions: Instruction[], problems: string[]): void {
  const env = new Map<string, string>();
  const volumes: string[] = [];
  for (const { keyword, args, line } of instructions) {
    if (keyword === 'ENV') for (const [key, value] of assignments(keyword, args)) env.set(key, value);
    if (keyword === 'VOLUME') volumes.push(...volumePaths(args));
    if ((keyword === 'COPY' || keyword === 'ADD') && /--chown=(?!0(:0)?\s|root(:root)?\s)/.test(`${args} `)) {
      problems.push(
        `line ${line}: ${keyword} --chown gives the service user its own code (${label}); copy it root-owned`,
      );
    }
  }
  for (const name of WRITABLE_PATHS) {
    const path = env.get(name);
    if (path === undefined) continue;
    const inside = volumes.some((volume) => path === volume || path.startsWith(`${volume.replace(/\/$/, '')}/`));
    if (!inside) {
      problems.push(
        `${label}: ${name}=${path} is not inside a VOLUME; a read-only root file system cannot write there`,
      );
    }
  }
}

/** The paths of a VOLUME instruction: a JSON array or space-separated words. */
function volumePaths(args: string): string[] {
  if (args.trim().startsWith('[')) {
    try {
      const parsed = JSON.parse(args) as unknown;
      if (Array.isArray(parsed)) return parsed.filter((p): p is string => typeof p === 'string');
    } catch {
      return [];
    }
  }
  return args.split(/\s+/).filter(Boolean);
}

/** A runtime target is one service: one main, and only that service's file set copied in. */
function checkOneService(label: string, settings: Effective, instructions: Instruction[], problems: string[]): void {
  const command = `${settings.entrypoint ?? ''} ${settings.cmd ?? ''}`;
  const services = [...new Set([...command.matchAll(SERVICE_MAIN)].map((m) => m[1]!))];
  if (services.length !== 1) {
    problems.push(`${label}: runtime target runs ${services.length} services' mains; one image runs one service`);
  }
  for (const { keyword, args, line } of instructions) {
    if (keyword !== 'COPY' || !/--from=/.test(args)) continue;
    const words = args.split(/\s+/).filter((w) => !w.startsWith('--'));
    for (const source of words.slice(0, -1)) {
      const set = FILE_SET.exec(source);
      if (!set) {
        problems.push(
          `line ${line}: COPY --from ${source} (${label}); copy only the service's file set /app/images/<service>`,
        );
      } else if (services.length === 1 && set[1] !== services[0]) {
        problems.push(
          `line ${line}: COPY --from ${source} (${label}) is another service's file set; this image runs ${services[0]}`,
        );
      }
    }
  }
}

function checkSecrets(instruction: Instruction, problems: string[]): void {
  for (const [key, value] of assignments(instruction.keyword, instruction.args)) {
    if (SECRET_NAME.test(key) && value !== '') {
      problems.push(`line ${instruction.line}: ${instruction.keyword} ${key} has a secret-looking value baked in`);
    }
  }
}

/** The rule violations of a .dockerignore: it must exclude .env files and node_modules. */
export function checkDockerignore(text: string): string[] {
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#'));
  const patterns = lines.filter((l) => !l.startsWith('!'));
  const has = (candidates: string[]) => candidates.some((c) => patterns.includes(c));
  const reincluded = (name: string) => lines.some((l) => l === `!${name}` || l === `!**/${name}`);
  const problems: string[] = [];
  // `*.env` matches `.env` too (`*` may be empty).
  if (!has(['.env', '.env*', '**/.env', '**/.env*', '*.env', '**/*.env']) || reincluded('.env')) {
    problems.push('.dockerignore does not exclude .env');
  }
  if (!has(['node_modules', '**/node_modules', 'node_modules/', '**/node_modules/']) || reincluded('node_modules')) {
    problems.push('.dockerignore does not exclude node_modules');
  }
  return problems;
}
