import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import {
  Collections,
  CommandOutcome,
  PublishedAgentEvent,
  redactConfig,
  redactProxyUrl,
  type ActivityView,
} from '@drover/contracts';
import { agentView, foldHead, OPTIONAL_VIEW_FIELDS } from '@drover/domain';
import { parseOrDeadLetter, Queues, type Outcome } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { STORE, type Store } from '@drover/store';
import { insertOnce, mergeDocument, replaceIfNewer } from '../infrastructure/documents';

const FAILURES = new Set(['agent.failed', 'agent.interrupted']);

/**
 * Keeps the read side in step with the engine's domain events: the agent view (rebuilt from the
 * stream, so a lost or reordered event never leaves it wrong), the agent's activity log, and the
 * command log. Outcomes of commands that committed nothing arrive as `command.*` events.
 */
@Controller()
export class AgentViewsProjector {
  constructor(@Inject(STORE) private readonly store: Store) {}

  @EventPattern(Queues.persistenceEvents)
  async onEvent(@Ctx() context: BusContext): Promise<Outcome | void> {
    const delivery = context.getDelivery();
    const outcome = CommandOutcome.safeParse(delivery.body);
    if (outcome.success) return this.recordOutcome(outcome.data);
    const event = parseOrDeadLetter(delivery, PublishedAgentEvent, 'event');
    if (!event.ok) return event.outcome;
    await this.refreshView(event.value.agentId, event.value.version);
    await this.appendActivity(event.value);
    await this.recordAccepted(event.value);
  }

  /** Rebuilds the view when this event is newer than it; an older one changes nothing. */
  private async refreshView(agentId: string, version: number): Promise<void> {
    const agents = this.store.documents.collection(Collections.agents);
    const current = await agents.get(agentId);
    if (current && Number(current.version) >= version) return;
    const view = agentView(foldHead(agentId, await this.store.streams.loadHead(agentId)));
    const unset = OPTIONAL_VIEW_FIELDS.filter((field) => view[field] === undefined);
    await replaceIfNewer(agents, agentId, { field: 'version', value: view.version }, { ...view }, [...unset]);
  }

  private async appendActivity(event: PublishedAgentEvent): Promise<void> {
    const data = event.data;
    const message = [data.error, data.reason].find((v): v is string => typeof v === 'string');
    const details = redactConfig(data) as Record<string, unknown>;
    if (typeof data.proxy === 'string') details.proxy = redactProxyUrl(data.proxy);
    const activity: ActivityView = {
      id: `${event.occurredAt}|${event.messageId}`,
      agentId: event.agentId,
      kind: event.type,
      ok: !FAILURES.has(event.type),
      ...(message ? { message } : {}),
      details: { ...details, version: event.version },
      at: event.occurredAt,
    };
    const { id, ...rest } = activity;
    await insertOnce(this.store.documents.collection(Collections.activities), { _id: id, id, ...rest });
  }

  private async recordAccepted(event: PublishedAgentEvent): Promise<void> {
    const status = (await this.store.documents.collection(Collections.agents).get(event.agentId))?.status;
    await mergeDocument(
      this.store.documents.collection(Collections.commands),
      event.commandId,
      { state: 'accepted', processedAt: event.occurredAt, version: event.version, ...(status ? { status } : {}) },
      { commandId: event.commandId, agentId: event.agentId },
    );
  }

  private async recordOutcome(outcome: CommandOutcome): Promise<void> {
    const state = outcome.type === 'command.rejected' ? 'rejected' : 'noop';
    await mergeDocument(
      this.store.documents.collection(Collections.commands),
      outcome.commandId,
      { state, processedAt: outcome.occurredAt, error: { code: outcome.code, message: outcome.message } },
      { commandId: outcome.commandId, agentId: outcome.agentId },
    );
  }
}
