import { Controller, Inject } from '@nestjs/common';
import { Ctx, MessagePattern } from '@nestjs/microservices';
import { PersistenceTask, ReadQuery, RoutingKeys, type PersistenceReply } from '@drover/contracts';
import { parseOrDeadLetter, Queues } from '@drover/messaging';
import { BusContext, DeadLetterError } from '@drover/messaging/nest';
import { LOGGER, type Logger } from '@drover/runtime';
import { ReadQueries } from './read-queries';
import { PersistenceTasks } from '../run-tasks/persistence-tasks';
import { taskAccessError } from '../run-tasks/task-access';

/**
 * Validates a query (`query` routing key) or task (`task`) and answers it over request/reply. When
 * senders are told apart (`senderRole`), a task on a collection its sender's role may not touch
 * (`TASK_ACCESS`) is answered `forbidden` and dead-lettered with the reason.
 */
@Controller()
export class RequestHandler {
  constructor(
    @Inject(ReadQueries) private readonly queries: ReadQueries,
    @Inject(PersistenceTasks) private readonly tasks: PersistenceTasks,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** An invalid request is answered with the reason and dead-lettered (`DeadLetterError`). */
  @MessagePattern(Queues.persistenceTasks)
  async answer(@Ctx() context: BusContext): Promise<PersistenceReply> {
    const delivery = context.getDelivery();
    const isQuery = delivery.routingKey === RoutingKeys.readQuery;
    const parsed = isQuery
      ? parseOrDeadLetter(delivery, ReadQuery, 'query')
      : parseOrDeadLetter(delivery, PersistenceTask, 'task');
    if (!parsed.ok) {
      const reply: PersistenceReply = {
        ok: false,
        error: { code: 'invalid_task', message: parsed.reason, details: parsed.issues },
      };
      throw new DeadLetterError(parsed.reason, reply);
    }
    const role = delivery.senderRole;
    const denied = !isQuery && role ? taskAccessError(parsed.value as PersistenceTask, role) : undefined;
    if (denied) {
      this.logger.warn({ sender: delivery.sender, reason: denied }, 'generic task refused');
      const details = [{ field: 'collection', message: denied }];
      throw new DeadLetterError(denied, { ok: false, error: { code: 'forbidden', message: denied, details } });
    }
    try {
      return isQuery
        ? await this.queries.answer(parsed.value as ReadQuery)
        : await this.tasks.run(parsed.value as PersistenceTask);
    } catch (error) {
      this.logger.error({ err: (error as Error).message, routingKey: delivery.routingKey }, 'request failed');
      return { ok: false, error: { code: 'internal', message: 'the store failed; try again' } };
    }
  }
}
