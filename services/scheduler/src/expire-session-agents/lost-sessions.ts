import type { AgentCommand, AgentView, SessionAgentRecord } from '@drover/contracts';
import { PLACED, type SchedulerReadSide } from '../infrastructure/read-side';
import { expireSessionAgents } from './expire-session-agents';
import type { HeartbeatWatch } from './heartbeat-watch';

/** By default every placed agent is checked against its host's record once a minute. */
export const PLACEMENT_SWEEP_MS = 60_000;

/**
 * Finds the agents whose session is gone (`expireSessionAgents`) without reading every placed
 * agent on every tick. It reads:
 * - the agents of a session agent that said goodbye or whose lease lapsed, until none is left
 *   on it (then nothing more, until its record changes);
 * - the agents a live session agent stopped listing (a restart, a fence and rejoin), by id, until
 *   each is listed again, no longer placed there, or interrupted;
 * - every placed agent once per `sweepMs` and on a new leader's first tick: the backstop for an
 *   agent a live host never listed, or one placed on a gone host after its agents were moved.
 */
export class LostSessions {
  /** Per live host: the record last read (its `lastSeenAt`) and the agents it listed. */
  private readonly listed = new Map<string, { lastSeenAt: string; agentIds: Set<string> }>();
  /** Per live host: agents it stopped listing, checked on every tick until settled. */
  private readonly unlisted = new Map<string, Set<string>>();
  /** Per gone host: the `lastSeenAt` of the record after which no agent was left on it. */
  private readonly cleared = new Map<string, string>();
  private lastSweepAt?: number;

  constructor(
    private readonly readSide: SchedulerReadSide,
    private readonly monotonic: () => number,
    private readonly sweepMs = PLACEMENT_SWEEP_MS,
  ) {}

  /** Leadership lost: the next leader term starts with a sweep. */
  forget(): void {
    this.lastSweepAt = undefined;
    this.listed.clear();
    this.unlisted.clear();
    this.cleared.clear();
  }

  async find(hosts: SessionAgentRecord[], now: Date, watch: HeartbeatWatch): Promise<AgentCommand[]> {
    const agents = new Map<string, AgentView>();
    const add = (views: AgentView[]) => views.forEach((view) => agents.set(view.agentId, view));
    if (this.lastSweepAt === undefined || this.monotonic() - this.lastSweepAt >= this.sweepMs) {
      add(await this.readSide.placed());
      this.lastSweepAt = this.monotonic();
    }
    const present = new Set(hosts.map((host) => host._id));
    for (const host of hosts) {
      if (host.alive && !watch.lapsed(host)) this.noteListing(host);
      else add(await this.agentsOfGoneHost(host));
    }
    add(await this.stillUnlisted(hosts));
    for (const map of [this.listed, this.unlisted, this.cleared]) {
      for (const id of map.keys()) if (!present.has(id)) map.delete(id);
    }
    return expireSessionAgents({ agents: [...agents.values()], sessionAgents: hosts }, now, watch);
  }

  private async agentsOfGoneHost(host: SessionAgentRecord): Promise<AgentView[]> {
    this.listed.delete(host._id);
    this.unlisted.delete(host._id);
    if (this.cleared.get(host._id) === host.lastSeenAt) return [];
    const placed = await this.readSide.placedOn(host._id);
    if (placed.length === 0) this.cleared.set(host._id, host.lastSeenAt);
    return placed;
  }

  /** Compares a new record of a live host with its previous one: who is no longer listed. */
  private noteListing(host: SessionAgentRecord): void {
    this.cleared.delete(host._id);
    const previous = this.listed.get(host._id);
    if (previous?.lastSeenAt === host.lastSeenAt) return;
    const agentIds = new Set(host.agentIds);
    const unlisted = this.unlisted.get(host._id) ?? new Set<string>();
    for (const agentId of unlisted) if (agentIds.has(agentId)) unlisted.delete(agentId);
    for (const agentId of previous?.agentIds ?? []) if (!agentIds.has(agentId)) unlisted.add(agentId);
    if (unlisted.size) this.unlisted.set(host._id, unlisted);
    else this.unlisted.delete(host._id);
    this.listed.set(host._id, { lastSeenAt: host.lastSeenAt, agentIds });
  }

  /** The views of agents still placed on a host that no longer lists them; the others are settled. */
  private async stillUnlisted(hosts: SessionAgentRecord[]): Promise<AgentView[]> {
    const found: AgentView[] = [];
    for (const host of hosts) {
      const unlisted = this.unlisted.get(host._id);
      if (!unlisted) continue;
      const listedNow = this.listed.get(host._id)?.agentIds;
      const still = (await this.readSide.byIds(unlisted)).filter(
        (view) => view.instanceId === host._id && PLACED.includes(view.status) && !listedNow?.has(view.agentId),
      );
      found.push(...still);
      if (still.length) this.unlisted.set(host._id, new Set(still.map((view) => view.agentId)));
      else this.unlisted.delete(host._id);
    }
    return found;
  }
}
