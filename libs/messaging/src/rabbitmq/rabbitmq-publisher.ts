import type { Options } from 'amqplib';
import type { BrokerAsPromised } from 'rascal';
import type { Logger } from '@drover/runtime';
import { messageJson } from '../delivery-policy';

/** Sends of one message before a publish gives up (see `send`). */
const PUBLISH_ATTEMPTS = 3;
const PUBLISH_RETRY_DELAY_MS = 200;

/**
 * Publishing through rascal publications (confirm channels), resolved on the broker's confirm. Every message
 * carries the connection's user in `user_id`: RabbitMQ refuses one whose `user_id` is not the publishing
 * connection's user, so consumers can tell who sent it (`Delivery.sender`).
 */
export class RabbitMqPublisher {
  constructor(
    private readonly broker: BrokerAsPromised,
    private readonly logger: Logger | undefined,
    private readonly isClosed: () => boolean,
    /** The broker user of the connection. */
    readonly userId: string,
    /** The publishing service, sent as `app_id`. */
    private readonly appId?: string,
  ) {}

  /**
   * Publishes and resolves on the broker's confirm; `onReturn` sees a return (unroutable mandatory message).
   * A publish that fails before its confirm (typically: the connection dropped under it) is sent again, up to
   * `PUBLISH_ATTEMPTS` times — at-least-once, so a consumer may see a duplicate. While the connection is down rascal
   * holds the publish until it has reconnected.
   */
  async send(
    publication: string,
    routingKey: string,
    body: unknown,
    options: Options.Publish,
    onReturn?: () => void,
  ): Promise<void> {
    const content = Buffer.from(messageJson(publication, routingKey, body));
    options = { ...describe(routingKey, body), ...(this.appId ? { appId: this.appId } : {}), ...options };
    options.userId = this.userId;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.sendOnce(publication, routingKey, content, options, onReturn);
        return;
      } catch (error) {
        if (attempt >= PUBLISH_ATTEMPTS || this.isClosed()) throw error;
        this.logger?.warn(
          { publication, routingKey, messageId: options.messageId, attempt, err: error },
          'publish not confirmed, sending again',
        );
        await sleep(PUBLISH_RETRY_DELAY_MS * attempt);
      }
    }
  }

  private async sendOnce(
    publication: string,
    routingKey: string,
    content: Buffer,
    options: Options.Publish,
    onReturn?: () => void,
  ): Promise<void> {
    const session = await this.broker.publish(publication, content, { routingKey, options });
    await new Promise<void>((resolve, reject) => {
      session.on('success', () => resolve());
      session.on('error', (error: Error) => reject(error));
      session.on('return', () => {
        this.logger?.debug({ publication, routingKey, messageId: options.messageId }, 'message routed to no queue');
        onReturn?.();
      });
    });
  }
}

/**
 * The AMQP properties an operator reads in the management UI's message view, from the body Drover
 * sends: `type` (a command's, event's or report's `type`, a query's `query`, a task's `op`, else the
 * routing key), `correlation_id` (the body's `correlationId`) and `timestamp` (seconds since the
 * epoch, as AMQP has it). What the caller passes wins: a reply's `correlation_id` is its request's id.
 */
function describe(routingKey: string, body: unknown): Options.Publish {
  const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
  const type = [fields.type, fields.query, fields.op].find((value): value is string => typeof value === 'string');
  return {
    type: type ?? routingKey,
    timestamp: Math.floor(Date.now() / 1000),
    ...(typeof fields.correlationId === 'string' ? { correlationId: fields.correlationId } : {}),
  };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
