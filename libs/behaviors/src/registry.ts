import type { Behavior } from './behavior.port';
import { httpMonitor } from './http-monitor/http-monitor.behavior';
import { pageMonitor } from './page-monitor/page-monitor.behavior';
import { scripted } from './scripted/scripted.behavior';
import { socialFeed } from './social-feed/social-feed.behavior';

/** The behaviours one session host can run, by name. */
export class BehaviorRegistry {
  private readonly byName = new Map<string, Behavior<unknown>>();

  constructor(behaviors: readonly Behavior<never>[]) {
    for (const behavior of behaviors) this.byName.set(behavior.name, behavior);
  }

  get(name: string): Behavior<unknown> | undefined {
    return this.byName.get(name);
  }

  names(): string[] {
    return [...this.byName.keys()];
  }
}

export function builtInBehaviors(): Behavior<never>[] {
  return [httpMonitor, pageMonitor, scripted, socialFeed] as unknown as Behavior<never>[];
}
