import { createHash } from 'node:crypto';
import type { CookieData } from 'puppeteer';
import type { SessionRef } from '@drover/contracts';
import type { Bus } from '@drover/messaging';
import type { Logger, SecretBox } from '@drover/runtime';
import { runTask } from './persistence-client';

/** Collection of agents' cookie jars (never served by the API; only session agents read it). */
export const COOKIE_COLLECTION = 'agent_cookies';

/** A jar as stored: sealed for its agent (`cookies` in clear is a jar saved before sealing). */
interface StoredJar {
  sealed?: string;
  cookies?: CookieData[];
}

/** The additional data a jar is sealed with: it opens as this agent's cookies only. */
const jarContext = (agentId: string) => `agent:${agentId}:cookies`;

/**
 * Cookies per agent through the persistence agent, so an agent resumes logged in on any host.
 * A jar is sealed before it leaves the session agent: the bus, the persistence agent and the
 * store only see ciphertext. Saves are skipped when the jar did not change since the last save.
 */
export class CookieStore {
  private readonly lastSaved = new Map<string, string>();
  /** Per agent, the save in flight (the last one queued). */
  private readonly saving = new Map<string, Promise<boolean>>();

  constructor(
    private readonly bus: Bus,
    private readonly secrets: SecretBox,
    private readonly logger?: Logger,
  ) {}

  async load(agentId: string): Promise<CookieData[]> {
    const doc = await runTask<StoredJar | null>(this.bus, {
      op: 'findOne',
      collection: COOKIE_COLLECTION,
      filter: { field: '_id', op: 'eq', value: agentId },
    });
    const cookies = this.open(agentId, doc);
    this.lastSaved.set(agentId, digest(cookies));
    return cookies;
  }

  /** A jar that no key here opens (its key was retired) is dropped: the agent logs in again. */
  private open(agentId: string, doc: StoredJar | null): CookieData[] {
    if (!doc?.sealed) return doc?.cookies ?? [];
    try {
      return JSON.parse(this.secrets.open(doc.sealed, jarContext(agentId))) as CookieData[];
    } catch (error) {
      this.logger?.warn({ agentId, err: (error as Error).message }, 'cookie jar cannot be opened; starting without');
      return [];
    }
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
        sealed: this.secrets.seal(JSON.stringify(cookies), jarContext(agentId)),
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
