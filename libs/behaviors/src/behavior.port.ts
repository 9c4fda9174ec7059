import type { z } from 'zod';
import type { Activity } from '@drover/contracts';
import type { EgressPolicy, Logger } from '@drover/runtime';
import type { AgentBrowser } from './browser.port';
import type { AgentStorage } from './storage.port';

/**
 * What a session host lends a running behaviour. Browser behaviours receive their page through
 * `capabilities.browser`; HTTP-only behaviours ignore it.
 */
export interface BehaviorContext<C = Record<string, unknown>> {
  agentId: string;
  /** The validated config (defaults applied). */
  config: C;
  /** Upstream proxy URL with credentials; never log it. */
  proxy?: string;
  /**
   * Where the agent may connect (the run-profile's `egress` and the agent's own rules). The
   * browser a host lends enforces it already; a behaviour that opens connections itself must
   * check every one, redirects included, after resolving the host (`http-monitor` does).
   */
  egress: EgressPolicy;
  /** Aborted when the agent must stop; a behaviour returns promptly once it fires. */
  signal: AbortSignal;
  /** Records one activity on the agent's log (`session.activity`). */
  report: (activity: Activity) => Promise<void>;
  /** Waits `ms`, or less when the signal aborts (then resolves false). */
  sleep: (ms: number) => Promise<boolean>;
  logger: Logger;
  capabilities: BehaviorCapabilities;
}

/** Resources a host may provide; each behaviour declares the ones it needs in `requires`. */
export interface BehaviorCapabilities {
  /** Filled by browser hosts: an isolated browser context for this agent. */
  browser?: AgentBrowser;
  /** Per-agent state that survives restarts and moves between hosts. */
  storage?: AgentStorage;
}

/**
 * A behaviour plugin. `run` resolves when the signal aborts (stopped) or when the work is done
 * (the session ends as stopped); it throws to fail the session with the error's message.
 */
export interface Behavior<C = Record<string, unknown>> {
  readonly name: string;
  readonly description: string;
  readonly configSchema: z.ZodType<C, z.ZodTypeDef, unknown>;
  readonly requires: readonly (keyof BehaviorCapabilities)[];
  run(context: BehaviorContext<C>): Promise<void>;
}
