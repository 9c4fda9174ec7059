import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import {
  Collections,
  redactConfig,
  redactCredentials,
  SessionActivity,
  SessionHeartbeat,
  type ActivityView,
  type SessionAgentRecord,
} from '@drover/contracts';
import { parseOrDeadLetter, Queues, type Outcome } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { LOGGER, type Logger } from '@drover/runtime';
import { STORE, type Store } from '@drover/store';
import { insertOnce, replaceIfNewer } from '../infrastructure/documents';
import { staleSessionReasonFor } from '../infrastructure/session-currency';
import { FeedWriter } from '../record-feed/feed-writer';

/**
 * Session activities go to the agent's activity log, unless they come from a session that is no
 * longer the agent's current one; heartbeats go to the session-agent leases.
 */
@Controller()
export class ReportsRecorder {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(FeedWriter) private readonly feed: FeedWriter,
  ) {}

  /**
   * Activities. Heartbeats come on their own queue; one still arriving here (a broker whose
   * `persistence.reports` keeps the heartbeat binding of an earlier version) is recorded as well.
   */
  @EventPattern(Queues.persistenceReports)
  async onReport(@Ctx() context: BusContext): Promise<Outcome | void> {
    const delivery = context.getDelivery();
    const heartbeat = SessionHeartbeat.safeParse(delivery.body);
    if (heartbeat.success) return this.recordHeartbeat(heartbeat.data);
    const activity = parseOrDeadLetter(delivery, SessionActivity, 'report');
    if (!activity.ok) return activity.outcome;
    return this.recordActivity(activity.value);
  }

  @EventPattern(Queues.persistenceHeartbeats)
  async onHeartbeat(@Ctx() context: BusContext): Promise<Outcome | void> {
    const heartbeat = parseOrDeadLetter(context.getDelivery(), SessionHeartbeat, 'heartbeat');
    if (!heartbeat.ok) return heartbeat.outcome;
    return this.recordHeartbeat(heartbeat.value);
  }

  private async recordActivity(report: SessionActivity): Promise<void> {
    const stale = await staleSessionReasonFor(this.store, report.agentId, report);
    if (stale) {
      this.logger.info({ agentId: report.agentId, instanceId: report.instanceId, reason: stale }, 'activity dropped');
      return;
    }
    const { kind, ok, message, details } = report.payload;
    const view: ActivityView = {
      id: `${report.occurredAt}|${report.messageId}`,
      agentId: report.agentId,
      kind,
      ok,
      // A behaviour's error text may quote a URL with its credentials.
      ...(message ? { message: redactCredentials(message) } : {}),
      ...(details ? { details: redactConfig(details) as Record<string, unknown> } : {}),
      instanceId: report.instanceId,
      at: report.occurredAt,
    };
    const { id, ...rest } = view;
    await insertOnce(this.store.documents.collection(Collections.activities), { _id: id, id, ...rest });
    await this.feed.append({
      sourceId: report.messageId,
      kind: 'activity',
      type: kind,
      agentId: report.agentId,
      occurredAt: report.occurredAt,
      ...(report.correlationId ? { correlationId: report.correlationId } : {}),
      data: {
        ok,
        ...(view.message ? { message: view.message } : {}),
        ...(view.details ? { details: view.details } : {}),
        instanceId: report.instanceId,
      },
    });
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
      receivedAt: new Date().toISOString(),
    };
    const leases = this.store.documents.collection(Collections.sessionAgents);
    await replaceIfNewer(leases, beat.instanceId, { field: 'lastSeenAt', value: beat.occurredAt }, { ...record });
  }
}
