import { createHash } from 'node:crypto';
import type { CookieData } from 'puppeteer';
import type { SessionRef } from '@drover/contracts';
import type { Bus } from '@drover/messaging';
import { runTask } from './persistence-client';

/** Collection of agents' cookie jars (never served by the API; only session agents read it). */
export const COOKIE_COLLECTION = 'agent_cookies';

/**
 * Cookies per agent through the persistence agent, so an agent resumes logged in on any host.
 * Saves are skipped when the jar did not change since the last save.
 */
export class CookieStore {
  private readonly lastSaved = new Map<string, string>();
  /** Per agent, the save in flight (the last one queued). */
  private readonly saving = new Map<string, Promise<boolean>>();

  constructor(private readonly bus: Bus) {}

  async load(agentId: string): Promise<CookieData[]> {
    const doc = await runTask<{ cookies?: CookieData[] } | null>(this.bus, {
      op: 'findOne',
      collection: COOKIE_COLLECTION,
      filter: { field: '_id', op: 'eq', value: agentId },
    });
    const cookies = doc?.cookies ?? [];
    this.lastSaved.set(agentId, digest(cookies));
    return cookies;
  }

  /**
   * Saves one after another per agent, in call order: an earlier save still in flight (say the
   * periodic one) would otherwise land after the final save of a stop and restore stale cookies.
   * Each save names its session, so the persistence agent refuses it once the session is stale.
   */
  save(session: SessionRef, cookies: CookieData[]): Promise<boolean> {
    const { agentId } = session;
    const previous = this.saving.get(agentId) ?? Promise.resolve(false);
    const next = previous.catch(() => false).then(() => this.write(session, cookies));
    this.saving.set(agentId, next);
    const done = () => {
      if (this.saving.get(agentId) === next) this.saving.delete(agentId);
    };
    next.then(done, done);
    return next;
  }

  private async write(session: SessionRef, cookies: CookieData[]): Promise<boolean> {
    const { agentId } = session;
    const hash = digest(cookies);
    if (this.lastSaved.get(agentId) === hash) return false;
    await runTask(this.bus, {
      op: 'upsert',
      collection: COOKIE_COLLECTION,
      id: agentId,
      document: {
        cookies,
        savedAt: new Date().toISOString(),
        attempt: session.attempt,
        instanceId: session.instanceId,
      },
      session,
    });
    this.lastSaved.set(agentId, hash);
    return true;
  }

  forget(agentId: string): void {
    this.lastSaved.delete(agentId);
  }
}

function digest(cookies: CookieData[]): string {
  const stable = [...cookies].sort((a, b) => `${a.domain}${a.name}`.localeCompare(`${b.domain}${b.name}`));
  return createHash('sha256').update(JSON.stringify(stable)).digest('hex');
}
