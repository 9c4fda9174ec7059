import { brokerUrls } from './broker-urls';
import type { Topology } from '../bus.port';
import { deadLetterQueueOf, qualify } from './rabbitmq-config';

/**
 * Bounds of the dead-letter queues as a RabbitMQ policy (docs/operations.md, "Retention").
 *
 * A policy, not queue arguments: RabbitMQ refuses to redeclare an existing queue whose `x-`
 * arguments differ (PRECONDITION_FAILED, 406), and the services redeclare every queue on each
 * (re)connection. Adding `x-max-length` or `x-message-ttl` to the declarations would therefore stop
 * every service of a deployment whose `*.dead` queues already exist, until those queues were
 * deleted with their messages. A policy changes no declaration: the broker applies it to existing
 * and future queues at once, and changing the bounds later is one more `PUT`.
 */

/** The policy's name in the vhost. */
export const DEAD_LETTER_POLICY = 'drover-dead-letters';
/**
 * RabbitMQ applies one policy per queue, the matching one of highest priority; an operator's own
 * policy over these queues with a higher priority replaces this one (give it these keys too).
 */
export const DEAD_LETTER_POLICY_PRIORITY = 1;

/** The profile's `retention.deadLetters`; `null` is no limit. */
export interface DeadLetterBounds {
  maxAgeMs: number | null;
  maxLength: number | null;
}

export interface RabbitPolicy {
  name: string;
  pattern: string;
  'apply-to': 'queues';
  priority: number;
  definition: Record<string, string | number>;
}

/** Where the management HTTP API answers, and as whom. */
export interface ManagementEndpoint {
  url: string;
  vhost: string;
  username: string;
  password: string;
}

/** Every dead-letter queue of the topology, by its name on the broker. */
export function deadLetterQueueNames(topology: Topology, prefix = ''): string[] {
  const own = topology.queues.filter((spec) => !spec.sharedDeadLetter).map(deadLetterQueueOf);
  const shared = (topology.sharedDeadLetterQueues ?? []).map((spec) => spec.name);
  return [...new Set([...own, ...shared])]
    .filter((name): name is string => name !== undefined)
    .map((name) => qualify(prefix, name));
}

/**
 * The policy bounding exactly the topology's dead-letter queues (none of anyone else's queues in
 * the vhost): the oldest dead letter goes first once `maxLength` are waiting, and any goes once
 * it waited `maxAgeMs` (quorum queues honour `message-ttl` from RabbitMQ 3.10). Undefined when
 * both bounds are off.
 */
export function deadLetterPolicy(topology: Topology, bounds: DeadLetterBounds, prefix = ''): RabbitPolicy | undefined {
  const definition: Record<string, string | number> = {};
  if (bounds.maxLength !== null) {
    definition['max-length'] = bounds.maxLength;
    definition.overflow = 'drop-head';
  }
  if (bounds.maxAgeMs !== null) definition['message-ttl'] = bounds.maxAgeMs;
  if (Object.keys(definition).length === 0) return undefined;
  const names = deadLetterQueueNames(topology, prefix).map((name) => name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return {
    name: DEAD_LETTER_POLICY,
    pattern: `^(?:${names.join('|')})$`,
    'apply-to': 'queues',
    priority: DEAD_LETTER_POLICY_PRIORITY,
    definition,
  };
}

/**
 * The management API of the broker `amqpUrl` names: `managementUrl` when given (its user and
 * password, if it has them, win), else the same host on RabbitMQ's management port (15672, or
 * 15671 over TLS for `amqps`), with the AMQP URL's user and password and its vhost.
 */
export function managementEndpoint(amqpUrl: string, managementUrl?: string): ManagementEndpoint {
  // A cluster's policies are the cluster's: the first node's management API sets them.
  const amqp = new URL(brokerUrls(amqpUrl)[0]!);
  const vhost = amqp.pathname.length > 1 ? decodeURIComponent(amqp.pathname.slice(1)) : '/';
  const base = managementUrl
    ? new URL(managementUrl)
    : new URL(amqp.protocol === 'amqps:' ? `https://${amqp.hostname}:15671` : `http://${amqp.hostname}:15672`);
  const username = decodeURIComponent(base.username || amqp.username || 'guest');
  const password = decodeURIComponent(base.password || amqp.password || 'guest');
  base.username = '';
  base.password = '';
  return { url: base.toString().replace(/\/$/, ''), vhost, username, password };
}

/**
 * Sets the policy (a `PUT` replaces one of the same name), or removes it when `policy` is
 * undefined (both bounds turned off), so the broker always holds what the profile says.
 */
export async function applyPolicy(
  endpoint: ManagementEndpoint,
  name: string,
  policy: RabbitPolicy | undefined,
): Promise<void> {
  const path = `/api/policies/${encodeURIComponent(endpoint.vhost)}/${encodeURIComponent(name)}`;
  const auth = Buffer.from(`${endpoint.username}:${endpoint.password}`).toString('base64');
  const response = await fetch(`${endpoint.url}${path}`, {
    method: policy ? 'PUT' : 'DELETE',
    headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
    ...(policy
      ? {
          body: JSON.stringify({
            pattern: policy.pattern,
            definition: policy.definition,
            priority: policy.priority,
            'apply-to': policy['apply-to'],
          }),
        }
      : {}),
    signal: AbortSignal.timeout(10_000),
  });
  if (response.ok || (!policy && response.status === 404)) return;
  const text = await response.text().catch(() => '');
  throw new Error(`RabbitMQ management API ${endpoint.url}: policy ${name}: ${response.status} ${text}`.trim());
}
