/** A held lease. The fencing token grows on every acquisition of the same key. */
export interface Lease {
  key: string;
  owner: string;
  token: number;
  expiresAt: number;
}

export interface Locks {
  /** Takes the lease when free or expired (or already ours); undefined while another owner holds it. */
  acquire(key: string, owner: string, ttlMs: number): Promise<Lease | undefined>;
  /** Extends a lease we still hold; undefined when it was lost (expired and taken). */
  renew(lease: Lease, ttlMs: number): Promise<Lease | undefined>;
  /** Releases only if the lease is still ours with the same token. */
  release(lease: Lease): Promise<void>;
}
