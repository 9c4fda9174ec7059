import type { SecretBox } from '@drover/runtime';
import { BEHAVIOR_CONFIG_SCHEMAS } from './behavior-schemas';
import { secretPaths, type FieldPath } from './secret-fields';

/** What a secret value is replaced with wherever it is not sealed. */
export const SECRET_MASK = '***';

/** The secret parts of an agent's start, as they travel and are stored: sealed, in one value. */
interface SecretBag {
  /** The proxy URL with its credentials. */
  proxy?: string;
  /** Secret config fields, by path. */
  fields?: { path: FieldPath; value: string }[];
}

/** The fields of a start payload (or event, or session.start) that carry secrets. */
export interface StartSecrets {
  behavior?: unknown;
  config?: unknown;
  proxy?: unknown;
  secrets?: unknown;
}

/** The additional data a start's secrets are sealed with: they open for this agent's starts only. */
export const startSecretsContext = (agentId: string): string => `agent:${agentId}:start`;

/**
 * Seals the secret values of a start payload: the proxy's credentials and every config field its
 * behaviour's schema marks secret are moved into `secrets` (sealed for this agent) and masked in
 * place. Values sealed earlier (`secrets` already present) are kept; a value given in clear again
 * replaces its sealed one. Reads the payload as it is, valid or not, so a command that will be
 * refused is sealed too. `sealed` is false when nothing was in clear.
 *
 * Throws `SealedValueError` when `secrets` is present but was not sealed for this agent with a
 * key this box holds.
 */
export function sealStartPayload<P extends StartSecrets>(
  box: SecretBox,
  agentId: string,
  payload: P,
): { payload: P; sealed: boolean } {
  const context = startSecretsContext(agentId);
  const bag: SecretBag = typeof payload.secrets === 'string' ? readBag(box.open(payload.secrets, context)) : {};
  let sealed = false;
  const out: StartSecrets = { ...payload };

  if (typeof payload.proxy === 'string' && hasClearCredentials(payload.proxy)) {
    bag.proxy = payload.proxy;
    out.proxy = maskCredentials(payload.proxy);
    sealed = true;
  }
  const schema = typeof payload.behavior === 'string' ? BEHAVIOR_CONFIG_SCHEMAS[payload.behavior] : undefined;
  if (schema && isRecord(payload.config)) {
    const clear = secretPaths(schema, payload.config).filter((path) => valueAt(payload.config, path) !== SECRET_MASK);
    if (clear.length > 0) {
      const config = structuredClone(payload.config);
      const fields = (bag.fields ?? []).filter((field) => !clear.some((path) => samePath(path, field.path)));
      for (const path of clear) {
        fields.push({ path, value: valueAt(config, path) as string });
        setAt(config, path, SECRET_MASK);
      }
      bag.fields = fields;
      out.config = config;
      sealed = true;
    }
  }
  if (sealed) out.secrets = box.seal(JSON.stringify(bag), context);
  return { payload: out as P, sealed };
}

/**
 * The config and proxy a session runs with: the sealed values put back in place. Throws
 * `SealedValueError` when `secrets` does not open here (a key this session agent lacks).
 */
export function openStartSecrets(
  box: SecretBox | undefined,
  agentId: string,
  start: { config: Record<string, unknown>; proxy?: string; secrets?: string },
): { config: Record<string, unknown>; proxy?: string } {
  const { config, proxy, secrets } = start;
  if (secrets === undefined) return { config, ...(proxy !== undefined ? { proxy } : {}) };
  if (!box) throw new Error('the start carries sealed secrets, but this process has no secrets key');
  const bag = readBag(box.open(secrets, startSecretsContext(agentId)));
  const opened = structuredClone(config);
  for (const field of bag.fields ?? []) {
    if (valueAt(opened, field.path.slice(0, -1)) !== undefined) setAt(opened, field.path, field.value);
  }
  const runProxy = bag.proxy ?? proxy;
  return { config: opened, ...(runProxy !== undefined ? { proxy: runProxy } : {}) };
}

/** Whether a URL carries a user name or password that is not already masked. */
function hasClearCredentials(value: string): boolean {
  const url = parseUrl(value);
  if (!url || (!url.username && !url.password)) return false;
  return !(url.username === SECRET_MASK && (url.password === SECRET_MASK || url.password === ''));
}

function maskCredentials(value: string): string {
  const url = parseUrl(value)!;
  url.username = SECRET_MASK;
  url.password = SECRET_MASK;
  return url.toString();
}

function parseUrl(value: string): URL | undefined {
  try {
    return new URL(value);
  } catch {
    return undefined;
  }
}

function readBag(json: string): SecretBag {
  return JSON.parse(json) as SecretBag;
}

function samePath(a: FieldPath, b: FieldPath): boolean {
  return a.length === b.length && a.every((key, index) => key === b[index]);
}

function valueAt(root: unknown, path: FieldPath): unknown {
  let current = root;
  for (const key of path) {
    if (typeof current !== 'object' || current === null || !Object.hasOwn(current, key)) return undefined;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** Sets an existing field (the paths come from `secretPaths`, never from a message). */
function setAt(root: unknown, path: FieldPath, value: string): void {
  const holder = valueAt(root, path.slice(0, -1)) as Record<string | number, unknown>;
  const key = path[path.length - 1]!;
  if (Object.hasOwn(holder, key)) holder[key] = value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
