import { Collections, PersistenceTask, ReadQuery, RoutingKeys, type PersistenceReply } from '@drover/contracts';
import { deadLetter, Queues, type Bus, type Delivery, type Outcome, type Subscription } from '@drover/messaging';
import type { Clock, Logger } from '@drover/runtime';
import type { Store } from '@drover/store';
import { ReadQueries } from './answer-queries/read-queries';
import { AgentViewsProjector } from './project-events/agent-views.projector';
import { CommandLog } from './record-commands/command-log';
import { ReportsRecorder } from './record-reports/reports.recorder';
import { PersistenceTasks } from './run-tasks/persistence-tasks';

/**
 * The persistence agent (DESIGN.md section 1): the only writer of the read side, and the
 * executor of generic storage tasks and read queries for everyone else.
 */
export class PersistenceAgent {
  private subscriptions: Subscription[] = [];
  private readonly projector: AgentViewsProjector;
  private readonly commandLog: CommandLog;
  private readonly reports: ReportsRecorder;
  private readonly queries: ReadQueries;
  private readonly tasks: PersistenceTasks;

  constructor(private readonly deps: { bus: Bus; store: Store; clock: Clock; logger: Logger }) {
    this.projector = new AgentViewsProjector(deps.store);
    this.commandLog = new CommandLog(deps.store);
    this.reports = new ReportsRecorder(deps.store);
    this.queries = new ReadQueries(deps.store);
    this.tasks = new PersistenceTasks(deps.store);
  }

  async start(): Promise<void> {
    const { bus, store, logger } = this.deps;
    await store.documents.collection(Collections.activities).ensureIndex(['agentId']);
    await store.documents.collection(Collections.agents).ensureIndex(['status']);
    this.subscriptions = [
      await bus.subscribe(Queues.persistenceEvents, (d) => this.projector.onDelivery(d), { prefetch: 8 }),
      await bus.subscribe(Queues.persistenceReports, (d) => this.reports.onDelivery(d), { prefetch: 16 }),
      await bus.subscribe(Queues.persistenceCommands, (d) => this.commandLog.onDelivery(d), { prefetch: 16 }),
      await bus.subscribe(Queues.persistenceTasks, (d) => this.onRequest(d), { prefetch: 16 }),
    ];
    logger.info('persistence agent consuming');
  }

  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.cancel()));
    this.subscriptions = [];
  }

  /** Queries and tasks are answered; an invalid one is answered and dead-lettered with the reason. */
  private async onRequest(delivery: Delivery): Promise<Outcome | void> {
    const isQuery = delivery.routingKey === RoutingKeys.readQuery;
    const parsed = isQuery ? ReadQuery.safeParse(delivery.body) : PersistenceTask.safeParse(delivery.body);
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
      const reason = `invalid ${isQuery ? 'query' : 'task'}: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`;
      await delivery.reply?.({ ok: false, error: { code: 'invalid_task', message: reason, details } });
      return deadLetter(reason);
    }
    let reply: PersistenceReply;
    try {
      reply = isQuery
        ? await this.queries.answer(parsed.data as ReadQuery)
        : await this.tasks.run(parsed.data as PersistenceTask);
    } catch (error) {
      this.deps.logger.error({ err: (error as Error).message, routingKey: delivery.routingKey }, 'request failed');
      reply = { ok: false, error: { code: 'internal', message: 'the store failed; try again' } };
    }
    await delivery.reply?.(reply);
  }
}
