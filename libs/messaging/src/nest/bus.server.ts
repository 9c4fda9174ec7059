import {
  BaseRpcContext,
  type CustomTransportStrategy,
  type MessageHandler,
  RpcException,
  Server,
} from '@nestjs/microservices';
import type { DynamicModule, INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { isObservable, lastValueFrom } from 'rxjs';
import type { Bus, Delivery, Outcome, Subscription } from '../bus.port';
import { ack, deadLetter, retryLater, waitFor } from '../outcomes';
import { BusExceptionFilter } from './bus-exception.filter';

/** One queue the server consumes. */
export interface BusServerQueue {
  name: string;
  /** Unacknowledged deliveries in flight (the bus adapter's default when absent). */
  prefetch?: number;
  /** The pattern handlers use for this queue when its name is only known at run time (per-instance queues). */
  pattern?: string;
}

export interface BusServerOptions {
  queues: BusServerQueue[];
  /**
   * Errors that mean a dependency is down (the store), not that the message failed: such a
   * delivery waits (`waitFor`) instead of using up its delivery limit.
   */
  isUnavailable?: (error: unknown) => boolean;
}

/** Transport id of `BusServer`; pass it as the second argument of `@EventPattern` to bind a handler to this transport only. */
export const BUS_TRANSPORT = Symbol('drover-bus');

/**
 * The Nest pattern of a queue (`<queue>`) or of one routing key on it (`<queue>:<routingKey>`).
 * The routing-key-specific handler wins over the queue-wide one.
 */
export function busPattern(queue: string, routingKey?: string): string {
  return routingKey === undefined ? queue : `${queue}:${routingKey}`;
}

/** The RPC context of a bus handler: `@Ctx() ctx: BusContext` then `ctx.getDelivery()`. */
export class BusContext extends BaseRpcContext<[Delivery]> {
  constructor(delivery: Delivery) {
    super([delivery]);
  }

  getDelivery(): Delivery {
    return this.args[0];
  }
}

/**
 * Thrown by a handler to dead-letter its delivery; a `@MessagePattern` handler first replies `replyBody` when given.
 * It is an `RpcException` whose error is itself, so it passes Nest's default RPC exception filter unchanged.
 */
export class DeadLetterError extends RpcException {
  constructor(
    readonly reason: string,
    readonly replyBody?: unknown,
  ) {
    super(reason);
    this.name = 'DeadLetterError';
  }

  override getError(): object {
    return this;
  }
}

/**
 * Nest custom transport over the `Bus` port: `@EventPattern` handlers decide the delivery's outcome
 * (their return value: `Outcome` | void, maybe as a Promise or Observable; a throw is `retryLater(message)`),
 * `@MessagePattern` handlers answer `bus.request` (reply with the result, then ack).
 */
export class BusServer extends Server implements CustomTransportStrategy {
  override readonly transportId = BUS_TRANSPORT;
  private subscriptions: Subscription[] = [];

  constructor(
    private readonly bus: Bus,
    private readonly options: BusServerOptions,
  ) {
    super();
  }

  listen(callback: (error?: unknown) => void): void {
    this.start().then(
      () => callback(),
      (error: unknown) => callback(error),
    );
  }

  /** The bus itself, for code that needs more than Nest's transport API. */
  unwrap<T>(): T {
    return this.bus as T;
  }

  /** The `Bus` port has no status events to forward (its adapters log and reconnect on their own). */
  on(event: string): never {
    throw new Error(`BusServer has no "${event}" event: the Bus adapter reports its own status`);
  }

  async close(): Promise<void> {
    const subscriptions = this.subscriptions.splice(0);
    await Promise.all(subscriptions.map((subscription) => subscription.cancel()));
  }

  private async start(): Promise<void> {
    try {
      for (const queue of this.options.queues) {
        const options = queue.prefetch === undefined ? {} : { prefetch: queue.prefetch };
        this.subscriptions.push(
          await this.bus.subscribe(
            queue.name,
            (delivery) => this.handle(queue.pattern ?? queue.name, delivery),
            options,
          ),
        );
      }
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  private async handle(queue: string, delivery: Delivery): Promise<Outcome> {
    const handler = this.messageHandlers.get(busPattern(queue, delivery.routingKey)) ?? this.messageHandlers.get(queue);
    if (!handler) return deadLetter(`no handler for ${busPattern(queue, delivery.routingKey)}`);
    const context = new BusContext(delivery);
    if (handler.isEventHandler) {
      try {
        return toOutcome(await run(handler, delivery.body, context));
      } catch (error) {
        return this.errorOutcome(error);
      }
    }
    try {
      const response = await run(handler, delivery.body, context);
      await delivery.reply?.(response);
      return ack();
    } catch (error) {
      if (error instanceof DeadLetterError && error.replyBody !== undefined) await delivery.reply?.(error.replyBody);
      return this.errorOutcome(error);
    }
  }

  /** A `DeadLetterError` dead-letters, an unavailable dependency waits, anything else is retried. */
  private errorOutcome(error: unknown): Outcome {
    if (error instanceof DeadLetterError) return deadLetter(error.reason);
    if (this.options.isUnavailable?.(error)) return waitFor(`waiting for a dependency: ${errorMessage(error)}`);
    return retryLater(errorMessage(error));
  }
}

/** Calls a Nest handler and settles its result: the value, the promised value or the observable's last value. */
async function run(handler: MessageHandler, body: unknown, context: BusContext): Promise<unknown> {
  const result: unknown = await handler(body, context);
  return isObservable(result) ? lastValueFrom(result, { defaultValue: undefined }) : result;
}

const SEVERITY: Record<Outcome['action'], number> = { ack: 0, replace: 1, retry: 2, 'dead-letter': 3 };

function isOutcome(value: unknown): value is Outcome {
  if (typeof value !== 'object' || value === null || !('action' in value)) return false;
  if (value.action === 'ack') return true;
  if (value.action === 'replace') return 'body' in value;
  return (
    (value.action === 'retry' || value.action === 'dead-letter') &&
    'reason' in value &&
    typeof value.reason === 'string'
  );
}

/**
 * The outcome an event handler returned: nothing (or any non-outcome) acks. Several handlers of one pattern
 * come back from Nest as `{ current, next }`; the most severe of their outcomes wins.
 */
function toOutcome(value: unknown): Outcome {
  if (isOutcome(value)) return value;
  if (typeof value === 'object' && value !== null && 'current' in value && 'next' in value) {
    const current = toOutcome(value.current);
    const next = toOutcome(value.next);
    return SEVERITY[next.action] > SEVERITY[current.action] ? next : current;
  }
  return ack();
}

/** Errors reach the transport through Nest's RPC exception filter, which turns unknown ones into `{ status, message }`. */
function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') {
    return error.message;
  }
  return typeof error === 'string' ? error : 'handler failed';
}

/**
 * Starts a Nest microservice whose controllers' `@EventPattern` / `@MessagePattern` handlers
 * consume the given queues of `bus`. Close the returned app to stop consuming.
 */
export async function listenOnBus(
  bus: Bus,
  module: DynamicModule,
  queues: BusServerQueue[],
  options: Omit<BusServerOptions, 'queues'> = {},
): Promise<INestMicroservice> {
  const app = await NestFactory.createMicroservice(module, {
    strategy: new BusServer(bus, { ...options, queues }),
    logger: false,
  });
  app.useGlobalFilters(new BusExceptionFilter());
  await app.listen();
  return app;
}
