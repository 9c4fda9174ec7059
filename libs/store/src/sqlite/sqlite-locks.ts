import type Database from 'better-sqlite3';
import type { Lease, Locks } from '../locks.port';
import { whenUnlocked } from './sqlite-busy';

interface LeaseRow {
  owner: string;
  token: number;
  expires_at: number;
}

/**
 * Leases over the `leases` table. Rows are never deleted, so the fencing token keeps growing
 * across acquisitions of a key even after releases.
 */
export class SqliteLocks implements Locks {
  private readonly read: Database.Statement<[string], LeaseRow>;
  private readonly take: Database.Statement<[string, string, number, number]>;
  private readonly extend: Database.Statement<[number, string, string, number, number]>;
  private readonly free: Database.Statement<[string, string, number]>;
  private readonly acquireTx: (key: string, owner: string, ttlMs: number) => Lease | undefined;

  constructor(db: Database.Database) {
    this.read = db.prepare('SELECT owner, token, expires_at FROM leases WHERE key = ?');
    this.take = db.prepare(
      `INSERT INTO leases (key, owner, token, expires_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET owner = excluded.owner, token = excluded.token, expires_at = excluded.expires_at`,
    );
    this.extend = db.prepare(
      'UPDATE leases SET expires_at = ? WHERE key = ? AND owner = ? AND token = ? AND expires_at > ?',
    );
    this.free = db.prepare("UPDATE leases SET expires_at = 0, owner = '' WHERE key = ? AND owner = ? AND token = ?");
    const tx = db.transaction((key: string, owner: string, ttlMs: number) => this.acquireInTx(key, owner, ttlMs));
    this.acquireTx = (key, owner, ttlMs) => tx.immediate(key, owner, ttlMs);
  }

  async acquire(key: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    return whenUnlocked(() => this.acquireTx(key, owner, ttlMs));
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    return whenUnlocked(() => {
      const now = Date.now();
      const expiresAt = now + ttlMs;
      const { changes } = this.extend.run(expiresAt, lease.key, lease.owner, lease.token, now);
      return changes === 1 ? { ...lease, expiresAt } : undefined;
    });
  }

  async release(lease: Lease): Promise<void> {
    await whenUnlocked(() => this.free.run(lease.key, lease.owner, lease.token));
  }

  private acquireInTx(key: string, owner: string, ttlMs: number): Lease | undefined {
    const now = Date.now();
    const row = this.read.get(key);
    if (row && row.expires_at > now && row.owner !== owner) return undefined;
    const lease: Lease = { key, owner, token: (row?.token ?? 0) + 1, expiresAt: now + ttlMs };
    this.take.run(key, owner, lease.token, lease.expiresAt);
    return lease;
  }
}
