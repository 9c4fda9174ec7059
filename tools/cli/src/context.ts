import { CliError, ExitCode } from './exit-codes';
import { GatewayClient } from './gateway-client';
import { Output } from './output';

/** The options every command takes (before or after the command's name). */
export interface GlobalOptions {
  url: string;
  apiKey?: string;
  json?: boolean;
  requestId?: string;
}

/** What a command runs with: its output, the gateway, and Ctrl-C as an abort signal. */
export class Context {
  readonly out: Output;
  private client?: GatewayClient;

  constructor(
    readonly options: GlobalOptions,
    readonly interrupt: AbortSignal,
    out?: Output,
    /** The environment (RABBITMQ_URL for `publish --amqp`). */
    readonly env: Record<string, string | undefined> = process.env,
  ) {
    this.out = out ?? new Output(options.json === true);
  }

  /** The gateway client, made on first use so `publish --amqp` never needs a gateway URL. */
  get gateway(): GatewayClient {
    const { url, apiKey, requestId } = this.options;
    this.client ??= new GatewayClient({ url, ...(apiKey ? { apiKey } : {}), ...(requestId ? { requestId } : {}) });
    return this.client;
  }

  /** Throws the Ctrl-C exit (130) once the signal fired: a follow that ended because of it. */
  interrupted(): never {
    throw new CliError(ExitCode.interrupted, 'interrupted', 'interrupted');
  }
}

/** `k=v` pairs (`--label team=growth`) as an object; a pair without `=` or with an empty key is a usage error. */
export function parseLabels(
  pairs: readonly string[] | undefined,
  flag = '--label',
): Record<string, string> | undefined {
  if (!pairs?.length) return undefined;
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const at = pair.indexOf('=');
    if (at <= 0) throw CliError.usage(`${flag}: expected key=value, got "${pair}"`);
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

/** A positive integer option (`--limit 20`), else a usage error naming the flag. */
export function positiveInt(flag: string, max = Number.MAX_SAFE_INTEGER) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw CliError.usage(`${flag}: expected an integer 1-${max}, got "${value}"`);
    return n;
  };
}

/** A positive number of seconds (`--interval 2`, `--timeout 0.5`) in milliseconds. */
export function seconds(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0)
      throw CliError.usage(`${flag}: expected a number of seconds > 0, got "${value}"`);
    return Math.round(n * 1000);
  };
}

/** Collects a repeatable option (`--label a=1 --label b=2`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}
