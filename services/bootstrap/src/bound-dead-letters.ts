import { DROVER_TOPOLOGY } from '@drover/messaging';
import type { Env, Logger, Retention } from '@drover/runtime';

/**
 * Bounds the broker's dead-letter queues as the profile's `retention.deadLetters` says, with a
 * RabbitMQ policy set through the management API (why a policy and not queue arguments:
 * `rabbitmq-policies.ts`, and docs/operations.md, "Retention"). Run by bootstrap at every deployment, so the
 * broker follows the profile; the standalone's in-memory bus bounds its own dead letters.
 */
export async function boundDeadLetters(env: Env, bounds: Retention['deadLetters'], logger: Logger): Promise<void> {
  if (!env.RABBITMQ_URL) return;
  const { applyPolicy, deadLetterPolicy, managementEndpoint, DEAD_LETTER_POLICY } =
    await import('@drover/messaging/rabbitmq');
  const endpoint = managementEndpoint(env.RABBITMQ_URL, env.RABBITMQ_MANAGEMENT_URL);
  const policy = deadLetterPolicy(DROVER_TOPOLOGY, bounds);
  try {
    await applyPolicy(endpoint, DEAD_LETTER_POLICY, policy);
  } catch (error) {
    // fetch reports a refused connection as "fetch failed", with the reason in `cause`.
    const reason = error instanceof Error && error.cause instanceof Error ? error.cause : error;
    const cause = `${(error as Error).message}${reason !== error ? `: ${(reason as Error).message}` : ''}`;
    throw new Error(
      `cannot set the dead-letter policy ${DEAD_LETTER_POLICY} through the RabbitMQ management API at ${endpoint.url} ` +
        `(${cause}); set RABBITMQ_MANAGEMENT_URL, or set both retention.deadLetters limits to null and bound the *.dead queues yourself`,
    );
  }
  logger.info(
    { policy: DEAD_LETTER_POLICY, vhost: endpoint.vhost, definition: policy?.definition ?? null },
    policy ? 'dead-letter queues bounded' : 'dead-letter queues unbounded (policy removed)',
  );
}
