import type { z } from 'zod';
import { HttpMonitorConfig } from './http-monitor/http-monitor.schema';
import { PageMonitorConfig } from './page-monitor/page-monitor.schema';
import { ScriptedConfig } from './scripted/scripted.schema';
import { SocialFeedConfig } from './social-feed/social-feed.schema';

/** What Drover knows of a behaviour without loading its implementation (and browser code). */
export interface BehaviorInfo {
  description: string;
  /** The capabilities a session host must lend it (keys of `BehaviorCapabilities`; no browser types here). */
  requires: readonly ('browser' | 'storage')[];
  configSchema: z.ZodTypeAny;
}

/**
 * The built-in behaviours by name: what the engine validates a start against and the gateway
 * describes (`GET /api/behaviors`); each implementation takes its description from here.
 */
export const BEHAVIOR_CATALOG: Readonly<Record<string, BehaviorInfo>> = {
  'http-monitor': {
    description: 'GETs a URL every intervalMs and records status and latency',
    requires: [],
    configSchema: HttpMonitorConfig,
  },
  'page-monitor': {
    description: 'Loads a page every intervalMs and records status, title and changes of the watched text',
    requires: ['browser'],
    configSchema: PageMonitorConfig,
  },
  scripted: {
    description: 'Runs a list of browser steps (goto, click, type, waitFor, extract, screenshot, sleep)',
    requires: ['browser'],
    configSchema: ScriptedConfig,
  },
  'social-feed': {
    description: 'Logs in to a social feed and likes / comments posts within daily caps',
    requires: ['browser'],
    configSchema: SocialFeedConfig,
  },
};

/** Config schemas by behaviour name. */
export const BEHAVIOR_CONFIG_SCHEMAS: Readonly<Record<string, z.ZodTypeAny>> = Object.fromEntries(
  Object.entries(BEHAVIOR_CATALOG).map(([name, info]) => [name, info.configSchema]),
);
