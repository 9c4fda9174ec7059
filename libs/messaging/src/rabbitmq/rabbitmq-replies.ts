import { randomUUID } from 'node:crypto';
import type { Message } from 'amqplib';
import type { BrokerAsPromised } from 'rascal';
import type { Logger } from '@drover/runtime';
import { type RequestOptions, RequestTimeoutError, UnroutableError } from '../bus.port';
import { REPLY_SUBSCRIPTION } from './rabbitmq-config';
import type { RabbitMqPublisher } from './rabbitmq-publisher';
import type { Settle } from './rabbitmq-settlement';

interface PendingRequest {
  fail: (error: Error) => void;
  answer: (body: unknown) => void;
}

/**
 * Request/reply: an expiring reply queue per bus instance (rascal subscription), `replyTo` + `correlationId`
 * (= messageId); a `return` of the mandatory request is an `UnroutableError`.
 */
export class RabbitMqReplies {
  private readonly pending = new Map<string, PendingRequest>();

  constructor(
    private readonly publisher: RabbitMqPublisher,
    /** Qualified name of this instance's reply queue. */
    private readonly replyTo: string,
    private readonly logger: Logger | undefined,
  ) {}

  /** Starts consuming the reply queue; answers go to the request with their correlation id. */
  async consume(broker: BrokerAsPromised): Promise<void> {
    const session = await broker.subscribe(REPLY_SUBSCRIPTION);
    session.on('error', (error: Error) => this.logger?.warn({ err: error }, 'rabbitmq reply subscription error'));
    session.on('invalid_content', (_error: Error, _message: Message, settle: unknown) => {
      (settle as Settle)().catch(() => undefined);
    });
    await new Promise<void>((resolve, reject) => {
      session.once('subscribed', () => resolve());
      session.once('error', reject);
      session.on('message', (message: Message, content: unknown, settle: unknown) => {
        const correlationId = message.properties.correlationId as unknown;
        if (typeof correlationId === 'string') this.pending.get(correlationId)?.answer(content);
        (settle as Settle)().catch((error: unknown) => this.logger?.debug({ err: error }, 'reply ack failed'));
      });
    });
  }

  /** Publishes `body` as a request and resolves with the reply; rejects on timeout, return or close. */
  request<T>(exchange: string, routingKey: string, body: unknown, options: RequestOptions): Promise<T> {
    const messageId = options.messageId ?? randomUUID();
    return new Promise<T>((resolve, reject) => {
      const finish = (settle: () => void): void => {
        if (this.pending.get(messageId) !== pending) return;
        this.pending.delete(messageId);
        clearTimeout(timer);
        settle();
      };
      const pending: PendingRequest = {
        fail: (error) => finish(() => reject(error)),
        answer: (answer) => finish(() => resolve(answer as T)),
      };
      const timer = setTimeout(
        () => pending.fail(new RequestTimeoutError(exchange, routingKey, options.timeoutMs)),
        options.timeoutMs,
      );
      this.pending.set(messageId, pending);
      this.publisher
        .send(
          exchange,
          routingKey,
          body,
          // The reply names this request by its message id (the replier's `correlation_id`); the request's own
          // `correlation_id` is the body's correlation (the API request behind a command), or the caller's.
          {
            messageId,
            replyTo: this.replyTo,
            headers: { ...options.headers },
            ...(options.correlationId ? { correlationId: options.correlationId } : {}),
            ...(options.type ? { type: options.type } : {}),
          },
          () => pending.fail(new UnroutableError(exchange, routingKey)),
        )
        .catch((error: unknown) => pending.fail(error instanceof Error ? error : new Error(String(error))));
    });
  }

  /** Fails every request still waiting (the bus is closing). */
  failAll(error: Error): void {
    for (const pending of [...this.pending.values()]) pending.fail(error);
  }
}
