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
 * - no secret-looking ENV or ARG (PASSWORD, SECRET, TOKEN, API_KEY) with a value.
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

const SECRET_NAME = /PASSWORD|SECRET|TOKEN|API_KEY/i;
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
  }
  return problems;
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
