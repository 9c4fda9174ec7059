import {
  Collections,
  redactConfig,
  SessionActivity,
  SessionHeartbeat,
  type ActivityView,
  type SessionAgentRecord,
} from '@drover/contracts';
import { deadLetter, type Delivery, type Outcome } from '@drover/messaging';
import type { Store } from '@drover/store';
import { insertOnce, replaceIfNewer } from '../infrastructure/documents';

/** Session activities go to the agent's activity log; heartbeats to the session-agent leases. */
export class ReportsRecorder {
  constructor(private readonly store: Store) {}

  async onDelivery(delivery: Delivery): Promise<Outcome | void> {
    const heartbeat = SessionHeartbeat.safeParse(delivery.body);
    if (heartbeat.success) return this.recordHeartbeat(heartbeat.data);
    const activity = SessionActivity.safeParse(delivery.body);
    if (!activity.success) return deadLetter(`invalid report: ${activity.error.issues[0]?.message ?? 'unknown'}`);
    return this.recordActivity(activity.data);
  }

  private async recordActivity(report: SessionActivity): Promise<void> {
    const { kind, ok, message, details } = report.payload;
    const view: ActivityView = {
      id: `${report.occurredAt}|${report.messageId}`,
      agentId: report.agentId,
      kind,
      ok,
      ...(message ? { message } : {}),
      ...(details ? { details: redactConfig(details) as Record<string, unknown> } : {}),
      instanceId: report.instanceId,
      at: report.occurredAt,
    };
    const { id, ...rest } = view;
    await insertOnce(this.store.documents.collection(Collections.activities), { _id: id, id, ...rest });
  }

  /** Newest heartbeat wins; a late one never resurrects a lease its successor replaced. */
  private async recordHeartbeat(beat: SessionHeartbeat): Promise<void> {
    const record: SessionAgentRecord = {
      _id: beat.instanceId,
      capacity: beat.capacity,
      agentIds: beat.agentIds,
      leaseMs: beat.leaseMs,
      alive: beat.alive,
      lastSeenAt: beat.occurredAt,
      expiresAt: new Date(Date.parse(beat.occurredAt) + beat.leaseMs).toISOString(),
    };
    const leases = this.store.documents.collection(Collections.sessionAgents);
    await replaceIfNewer(leases, beat.instanceId, { field: 'lastSeenAt', value: beat.occurredAt }, { ...record });
  }
}
