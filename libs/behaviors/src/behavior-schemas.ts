import type { z } from 'zod';
import { HttpMonitorConfig } from './http-monitor/http-monitor.schema';
import { PageMonitorConfig } from './page-monitor/page-monitor.schema';
import { ScriptedConfig } from './scripted/scripted.schema';
import { SocialFeedConfig } from './social-feed/social-feed.schema';

/**
 * Config schemas by behaviour name, without the implementations, so the engine can validate a
 * start command without loading browser code.
 */
export const BEHAVIOR_CONFIG_SCHEMAS: Readonly<Record<string, z.ZodTypeAny>> = {
  'http-monitor': HttpMonitorConfig,
  'page-monitor': PageMonitorConfig,
  scripted: ScriptedConfig,
  'social-feed': SocialFeedConfig,
};
