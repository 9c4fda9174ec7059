import { Exchanges, RoutingKeys, type PersistenceReply, type PersistenceTask } from '@drover/contracts';
import type { Bus } from '@drover/messaging';

const TASK_TIMEOUT_MS = 5_000;

/** Generic persistence tasks over the bus: how a session agent keeps state without a store. */
export async function runTask<T>(bus: Bus, task: PersistenceTask): Promise<T> {
  const reply = await bus.request<PersistenceReply<T>>(Exchanges.persistence, RoutingKeys.persistenceTask, task, {
    timeoutMs: TASK_TIMEOUT_MS,
  });
  if (!reply.ok) throw new Error(`persistence task ${task.op} on ${task.collection}: ${reply.error.message}`);
  return reply.result;
}
