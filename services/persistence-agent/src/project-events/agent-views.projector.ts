import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import {
  Collections,
  CommandOutcome,
  PublishedAgentEvent,
  redactConfig,
  redactProxyUrl,
  type ActivityView,
  type AgentStatus,
  type AgentView,
} from '@drover/contracts';
import { agentView, foldHead, OPTIONAL_VIEW_FIELDS } from '@drover/domain';
import { parseOrDeadLetter, Queues, type Outcome } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { STORE, type Store } from '@drover/store';
import { insertOnce, mergeDocument, replaceIfNewer } from '../infrastructure/documents';
import { FeedWriter } from '../record-feed/feed-writer';
import { nextView } from './next-view';

const FAILURES = new Set(['agent.failed', 'agent.interrupted']);

/**
 * Keeps the read side in step with the engine's domain events: the agent view (each event applied
 * to it, rebuilt from the stream when one is missed, so a lost or reordered event never leaves it
 * wrong), the agent's activity log, and the command log. Outcomes of commands that committed
 * nothing arrive as `command.*` events.
 */
@Controller()
export class AgentViewsProjector {
  constructor(
    @Inject(STORE) private readonly store: Store,
    @Inject(FeedWriter) private readonly feed: FeedWriter,
  ) {}

  @EventPattern(Queues.persistenceEvents)
  async onEvent(@Ctx() context: BusContext): Promise<Outcome | void> {
    const delivery = context.getDelivery();
    const outcome = CommandOutcome.safeParse(delivery.body);
    if (outcome.success) return this.recordOutcome(outcome.data);
    const event = parseOrDeadLetter(delivery, PublishedAgentEvent, 'event');
    if (!event.ok) return event.outcome;
    const status = await this.refreshView(event.value);
    await this.appendActivity(event.value);
    await this.recordAccepted(event.value, status);
    await this.feed.append({
      sourceId: event.value.messageId,
      kind: 'event',
      type: event.value.type,
      agentId: event.value.agentId,
      occurredAt: event.value.occurredAt,
      ...(status ? { status } : {}),
      version: event.value.version,
      commandId: event.value.commandId,
      ...(event.value.correlationId ? { correlationId: event.value.correlationId } : {}),
      data: redactedData(event.value),
    });
  }

  /**
   * Brings the view up to this event (`nextView`): applies it when it is the next commit, rebuilds
   * the view from the stream when one was missed, and changes nothing for an older one. Returns
   * the agent's status afterwards, for the command log.
   */
  private async refreshView(event: PublishedAgentEvent): Promise<AgentStatus | undefined> {
    const agents = this.store.documents.collection(Collections.agents);
    const stored = (await agents.get(event.agentId)) as AgentView | undefined;
    const step = nextView(stored, event);
    if (step.kind === 'older') return stored?.status;
    const view =
      step.kind === 'applied'
        ? step.view
        : agentView(foldHead(event.agentId, await this.store.streams.loadHead(event.agentId)));
    const unset = OPTIONAL_VIEW_FIELDS.filter((field) => view[field] === undefined);
    // Only over an older view: a concurrent consumer that wrote this version or a newer one wins.
    await replaceIfNewer(agents, event.agentId, { field: 'version', value: view.version }, { ...view }, [...unset]);
    return view.status;
  }

  private async appendActivity(event: PublishedAgentEvent): Promise<void> {
    const data = event.data;
    const message = [data.error, data.reason].find((v): v is string => typeof v === 'string');
    const details = redactedData(event);
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

  private async recordAccepted(event: PublishedAgentEvent, status: AgentStatus | undefined): Promise<void> {
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

/** An event's data as the read side shows it: config secrets and proxy credentials redacted. */
function redactedData(event: PublishedAgentEvent): Record<string, unknown> {
  const details = redactConfig(event.data) as Record<string, unknown>;
  if (typeof event.data.proxy === 'string') details.proxy = redactProxyUrl(event.data.proxy);
  return details;
}
