import { PersistenceTask, ReadQuery, RoutingKeys, type PersistenceReply } from '@drover/contracts';
import type { Delivery } from '@drover/messaging';
import { DeadLetterError } from '@drover/messaging/nest';
import type { Logger } from '@drover/runtime';
import type { ReadQueries } from './read-queries';
import type { PersistenceTasks } from '../run-tasks/persistence-tasks';

/** Validates a query (`query` routing key) or task (`task`) and answers it. */
export class RequestHandler {
  constructor(
    private readonly queries: ReadQueries,
    private readonly tasks: PersistenceTasks,
    private readonly logger: Logger,
  ) {}

  /** An invalid request is answered with the reason and dead-lettered (`DeadLetterError`). */
  async answer(delivery: Delivery): Promise<PersistenceReply> {
    const isQuery = delivery.routingKey === RoutingKeys.readQuery;
    const parsed = isQuery ? ReadQuery.safeParse(delivery.body) : PersistenceTask.safeParse(delivery.body);
    if (!parsed.success) {
      const details = parsed.error.issues.map((i) => ({ field: i.path.join('.'), message: i.message }));
      const reason = `invalid ${isQuery ? 'query' : 'task'}: ${details.map((d) => `${d.field}: ${d.message}`).join('; ')}`;
      const reply: PersistenceReply = { ok: false, error: { code: 'invalid_task', message: reason, details } };
      throw new DeadLetterError(reason, reply);
    }
    try {
      return isQuery
        ? await this.queries.answer(parsed.data as ReadQuery)
        : await this.tasks.run(parsed.data as PersistenceTask);
    } catch (error) {
      this.logger.error({ err: (error as Error).message, routingKey: delivery.routingKey }, 'request failed');
      return { ok: false, error: { code: 'internal', message: 'the store failed; try again' } };
    }
  }
}
