import { Limits } from '@drover/contracts';
import { MessageTooLargeError, type Delivery, type Handler, type Outcome } from './bus.port';
import { ack, retryLater } from './outcomes';

/*
 * Delivery settings shared by both bus adapters (in-memory and RabbitMQ) and the topology, so a
 * message is retried and dead-lettered alike whichever adapter carries it.
 */

/** Deliveries after which a failing message is dead-lettered, where a queue sets no limit of its own. */
export const DEFAULT_DELIVERY_LIMIT = 5;
/** Unacknowledged deliveries per subscription, where the subscriber asks for none. */
export const DEFAULT_PREFETCH = 10;
/** Delay before the n-th retry (index `attempt - 1`); the last entry repeats. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 5000, 15_000];
const FALLBACK_RETRY_DELAY_MS = 1000;

/** The delay before retrying a delivery that failed on its `attempt`-th try. */
export function retryDelay(delaysMs: readonly number[], attempt: number): number {
  return delaysMs[attempt - 1] ?? delaysMs[delaysMs.length - 1] ?? FALLBACK_RETRY_DELAY_MS;
}

/** Runs a handler: nothing returned acks, a throw asks for a retry with the error's message. */
export async function invoke(handler: Handler, delivery: Delivery): Promise<Outcome> {
  try {
    return (await handler(delivery)) ?? ack();
  } catch (error) {
    return retryLater(error instanceof Error ? error.message : String(error));
  }
}

/** JSON text of a message body, refusing what JSON cannot carry (as a broker would). */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value) as string | undefined;
  if (text === undefined) throw new TypeError('message body is not JSON-serialisable');
  return text;
}

/**
 * The largest message either adapter sends, as JSON bytes (1 MiB). The broker's own
 * `max_message_size` (deploy/rabbitmq) is larger, so an oversized message fails here with a
 * `MessageTooLargeError` naming it instead of the broker closing the channel under every publish on it.
 */
export const MAX_MESSAGE_BYTES = Limits.messageBytes;

/** `toJson`, refusing a body larger than `maxBytes` (`MessageTooLargeError`). */
export function messageJson(exchange: string, routingKey: string, body: unknown, maxBytes = MAX_MESSAGE_BYTES): string {
  const text = toJson(body);
  // Characters first: a string of n characters is at least n bytes; bytes only when it could be close.
  if (text.length * 3 > maxBytes) {
    const bytes = Buffer.byteLength(text);
    if (bytes > maxBytes) throw new MessageTooLargeError(exchange, routingKey, bytes, maxBytes);
  }
  return text;
}

/** Waits for `work`, but no longer than `ms` (closing a bus with handlers that hang). */
export async function waitAtMost(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
  });
  try {
    await Promise.race([work.then(() => undefined), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
