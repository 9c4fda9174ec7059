import type { Collection } from 'mongodb';
import type { Lease, Locks } from '../locks.port';
import { isDuplicateKeyError } from './mongo-errors';

/** A lease as stored in the `leases` collection; `_id` is the lock key. */
export interface LeaseDoc {
  _id: string;
  owner: string;
  token: number;
  expiresAt: number;
}

export const LEASES = 'leases';

/**
 * Leases over the `leases` collection. Documents are never deleted (release only expires them),
 * so the fencing token keeps growing across acquisitions of a key. Expiry uses this process's
 * clock, as the SQLite adapter does: hosts sharing a store need roughly synchronised clocks.
 */
export class MongoLocks implements Locks {
  constructor(private readonly leases: Collection<LeaseDoc>) {}

  /**
   * One atomic findOneAndUpdate: it matches the key only when the lease is expired or already ours,
   * and then takes it with a larger token. When the key is absent, the upsert creates it (token 1).
   * When the key exists but is held by someone else, the filter does not match, the upsert tries to
   * insert a second document with the same `_id`, and the `_id` index refuses: the lease is taken.
   */
  async acquire(key: string, owner: string, ttlMs: number): Promise<Lease | undefined> {
    const now = Date.now();
    try {
      const doc = await this.leases.findOneAndUpdate(
        { _id: key, $or: [{ expiresAt: { $lte: now } }, { owner }] },
        { $set: { owner, expiresAt: now + ttlMs }, $inc: { token: 1 } },
        { upsert: true, returnDocument: 'after' },
      );
      return doc ? { key, owner: doc.owner, token: doc.token, expiresAt: doc.expiresAt } : undefined;
    } catch (error) {
      if (isDuplicateKeyError(error)) return undefined;
      throw error;
    }
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | undefined> {
    const now = Date.now();
    const expiresAt = now + ttlMs;
    const { matchedCount } = await this.leases.updateOne(
      { _id: lease.key, owner: lease.owner, token: lease.token, expiresAt: { $gt: now } },
      { $set: { expiresAt } },
    );
    return matchedCount === 1 ? { ...lease, expiresAt } : undefined;
  }

  async release(lease: Lease): Promise<void> {
    await this.leases.updateOne(
      { _id: lease.key, owner: lease.owner, token: lease.token },
      { $set: { expiresAt: 0, owner: '' } },
    );
  }
}
