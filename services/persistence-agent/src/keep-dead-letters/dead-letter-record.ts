import { createHash } from 'node:crypto';
import { Exchanges, redactDeadLetterBody, type DeadLetterView } from '@drover/contracts';
import {
  allowedSenders,
  DEATH_AT_HEADER,
  DEATH_QUEUE_HEADER,
  DEATH_REASON_HEADER,
  INSTANCE_HEADER,
  INVALID_CONTENT_HEADER,
  SENDER_HEADER,
  type Delivery,
} from '@drover/messaging';

/** The stored form of a dead letter: the view, keyed by its id, plus `key`, which orders the list newest first. */
export type DeadLetterDoc = Omit<DeadLetterView, 'id'> & { _id: string; key: string };

/** Headers shown with a dead letter: Drover's death headers, the instance, the sender, the broker's death record. */
const SHOWN_HEADERS = [
  DEATH_REASON_HEADER,
  DEATH_QUEUE_HEADER,
  DEATH_AT_HEADER,
  INSTANCE_HEADER,
  SENDER_HEADER,
  INVALID_CONTENT_HEADER,
  'x-death',
  'x-first-death-reason',
  'x-first-death-queue',
  'x-first-death-exchange',
];

/** One entry of RabbitMQ's `x-death` header (set when the broker itself dead-letters, e.g. its delivery limit). */
interface XDeath {
  queue?: unknown;
  reason?: unknown;
  count?: unknown;
  exchange?: unknown;
  'routing-keys'?: unknown;
  time?: unknown;
}

/**
 * A dead letter as the keeper files it, from its delivery out of `deadLetterQueue`. Its id is a
 * digest of the dead-letter queue, the queue it died in and its message id (and, without one,
 * its body), so a redelivery files nothing new. Where it was published comes from the delivery
 * (both adapters give a dead letter back the exchange and routing key it was first published
 * with), or from the broker's `x-death` when the broker dead-lettered it through the queue's DLX.
 */
export function deadLetterRecord(delivery: Delivery, deadLetterQueue: string, now: Date): DeadLetterDoc {
  const headers = delivery.headers;
  const xDeath = Array.isArray(headers['x-death']) ? (headers['x-death'] as XDeath[]) : [];
  const first = xDeath[0];
  const byBroker = delivery.exchange === Exchanges.dead && first !== undefined;
  const exchange = byBroker ? text(first.exchange) : delivery.exchange;
  const routingKeys = byBroker && Array.isArray(first['routing-keys']) ? (first['routing-keys'] as unknown[]) : [];
  const routingKey = byBroker ? text(routingKeys[0]) : delivery.routingKey;
  const queue =
    text(headers[DEATH_QUEUE_HEADER]) || text(headers['x-first-death-queue']) || deadLetterQueue.replace(/\.dead$/, '');
  const brokerReason = text(headers['x-first-death-reason']) || text(first?.reason);
  const reason =
    text(headers[DEATH_REASON_HEADER]) || (brokerReason ? `dead-lettered by the broker: ${brokerReason}` : 'unknown');
  const deaths = xDeath.reduce((sum, death) => sum + (typeof death.count === 'number' ? death.count : 0), 0) || 1;
  const deadLetteredAt = isoTime(headers[DEATH_AT_HEADER]) ?? isoTime(first?.time) ?? now.toISOString();
  const body = delivery.body as Record<string, unknown> | null;
  const messageId = delivery.messageId || (typeof body?.messageId === 'string' ? body.messageId : '');
  const digest = createHash('sha256')
    .update(
      [
        deadLetterQueue,
        queue,
        messageId || text(headers[INVALID_CONTENT_HEADER]) || JSON.stringify(delivery.body),
      ].join('\n'),
    )
    .digest('hex')
    .slice(0, 32);
  const redacted = redactDeadLetterBody(delivery.body);
  const notReplayable = whyNotReplayable({
    exchange,
    routingKey,
    queue,
    body: delivery.body,
    redacted: redacted.changed,
    invalidContent: text(headers[INVALID_CONTENT_HEADER]),
  });
  const shown = Object.fromEntries(
    SHOWN_HEADERS.filter((name) => name in headers).map((name) => [name, headers[name]]),
  );
  return {
    _id: digest,
    key: `${deadLetteredAt}|${digest}`,
    queue,
    deadLetterQueue,
    exchange,
    routingKey,
    messageId,
    ...(typeof body?.type === 'string' ? { type: body.type } : {}),
    ...(typeof body?.agentId === 'string' ? { agentId: body.agentId } : {}),
    reason,
    deadLetteredAt,
    filedAt: now.toISOString(),
    deaths,
    headers: shown,
    body: redacted.body,
    replayable: notReplayable === undefined,
    ...(notReplayable ? { notReplayableReason: notReplayable } : {}),
    replays: [],
  };
}

/**
 * Only what the gateway's broker user may publish can be replayed through the API: user commands
 * on `drover.commands` (the sender rules of `allowedSenders`); and only a body stored as it died,
 * since a replay republishes the stored body.
 */
function whyNotReplayable(letter: {
  exchange: string;
  routingKey: string;
  queue: string;
  body: unknown;
  redacted: boolean;
  invalidContent: string;
}): string | undefined {
  if (letter.invalidContent) {
    return `its content is not JSON (${letter.invalidContent}) and is not kept: it may hold anything, secrets included`;
  }
  if (letter.exchange !== Exchanges.commands) {
    return `only commands (exchange ${Exchanges.commands}) are replayed through the API; this message came from ${letter.exchange || 'the default exchange'}`;
  }
  if (!(allowedSenders(letter.queue, letter.routingKey) ?? []).includes('gateway')) {
    return `the gateway may not send ${letter.routingKey} commands (they are the scheduler's)`;
  }
  if (typeof letter.body !== 'object' || letter.body === null || Array.isArray(letter.body)) {
    return 'the body is not a command envelope';
  }
  if (letter.redacted) {
    return 'the body held secrets in clear and is stored redacted; send a corrected command instead';
  }
  return undefined;
}

function text(value: unknown): string {
  if (typeof value === 'string') return value;
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  return '';
}

/** An ISO string, a Date, or AMQP's timestamp (seconds) as ISO, else undefined. */
function isoTime(value: unknown): string | undefined {
  if (typeof value === 'string' && !Number.isNaN(Date.parse(value))) return new Date(value).toISOString();
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'number') return new Date(value * 1000).toISOString();
  const stamped = value as { value?: unknown } | undefined;
  if (stamped && typeof stamped.value === 'number') return new Date(stamped.value * 1000).toISOString();
  return undefined;
}
