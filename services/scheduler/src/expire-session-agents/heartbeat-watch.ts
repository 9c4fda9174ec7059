import { performance } from 'node:perf_hooks';
import type { SessionAgentRecord } from '@drover/contracts';

/**
 * The safety margin past a session agent's lease before the scheduler expires it:
 * `max(2 × heartbeatMs, leaseMs / 4)`. It has to cover how late a heartbeat the broker confirmed
 * can reach the store (the persistence agent's queue, its store write) and the difference in rate
 * between two machines' clocks; two heartbeat intervals absorb a heartbeat or two held up in the
 * persistence agent's queue, and a quarter of the lease keeps long leases proportionally safe.
 * docs/design.md, "Self-fencing", argues why the margin makes expiry follow the self-fence.
 */
export function expiryMarginMs(leaseMs: number, heartbeatMs: number): number {
  return Math.max(2 * heartbeatMs, Math.ceil(leaseMs / 4));
}

/**
 * How long each session agent has been silent, measured on the scheduler's own monotonic clock:
 * a host's silence starts when this scheduler first read its latest heartbeat record, never
 * from the timestamps in the record (another machine's clock). Everything seen is forgotten when
 * the scheduler loses its bus, its store or its leadership (`distrust`), so after a
 * (re)connection every host gets a full lease plus the margin before it can be expired: an
 * outage of the broker, which stops every heartbeat at once, does not look like dead hosts.
 *
 * After such an outage the records themselves can lag: the persistence agent works through the
 * heartbeats and everything else that queued up meanwhile, on a store that may still be slow.
 * Until the watch sees some host's record change again (the read side has caught up: one queue
 * carries every host's heartbeats, in order), a silent host expires only after twice its lease
 * plus the margin, so a single dead host is still expired, a little later.
 */
export class HeartbeatWatch {
  /** Per host: the `lastSeenAt` of its newest record read, and when (monotonic ms) it was first read. */
  private readonly sightings = new Map<string, { lastSeenAt: string; at: number }>();
  /** False from a distrust until a record is seen changing again: the read side may lag meanwhile. */
  private caughtUp = true;

  constructor(
    private readonly heartbeatMs: number,
    private readonly monotonic: () => number = () => performance.now(),
  ) {}

  /** The bus or store failed, or leadership was lost: what was seen so far proves nothing. */
  distrust(): void {
    this.sightings.clear();
    this.caughtUp = false;
  }

  /**
   * A tick that hung longer than a host's safety margin (and than `floorMs`) may have eaten that
   * margin: heartbeats the persistence agent could not record meanwhile are missing. That host's
   * watch starts again; hosts with a longer margin keep theirs, so an ordinary slow tick does not
   * keep a dead host with a long lease from ever expiring. Returns the hosts whose watch restarted.
   */
  forgetIfStalled(hosts: readonly SessionAgentRecord[], tickMs: number, floorMs: number): string[] {
    const forgotten: string[] = [];
    for (const host of hosts) {
      if (tickMs > Math.max(floorMs, this.marginMs(host)) && this.sightings.delete(host._id)) forgotten.push(host._id);
    }
    if (forgotten.length > 0) this.caughtUp = false;
    return forgotten;
  }

  /** Takes in the records one tick read. */
  observe(hosts: readonly SessionAgentRecord[]): void {
    const now = this.monotonic();
    const present = new Set<string>();
    for (const host of hosts) {
      present.add(host._id);
      const seen = this.sightings.get(host._id);
      if (seen?.lastSeenAt === host.lastSeenAt) continue;
      if (seen) this.caughtUp = true;
      this.sightings.set(host._id, { lastSeenAt: host.lastSeenAt, at: now });
    }
    for (const id of this.sightings.keys()) if (!present.has(id)) this.sightings.delete(id);
  }

  /** Milliseconds since this scheduler first read the host's newest heartbeat (0 if never). */
  silentForMs(host: SessionAgentRecord): number {
    const seen = this.sightings.get(host._id);
    return seen ? this.monotonic() - seen.at : 0;
  }

  marginMs(host: SessionAgentRecord): number {
    return expiryMarginMs(host.leaseMs, this.heartbeatMs);
  }

  /**
   * The host's lease plus the margin has passed on this scheduler's clock without a new heartbeat,
   * and the read side is known to be current (else twice that has passed).
   */
  lapsed(host: SessionAgentRecord): boolean {
    const limit = host.leaseMs + this.marginMs(host);
    return this.silentForMs(host) > (this.caughtUp ? limit : 2 * limit);
  }
}
