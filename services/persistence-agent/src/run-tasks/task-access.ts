import {
  Collections,
  INTERNAL_COLLECTIONS,
  SessionCollections,
  type BusRole,
  type PersistenceTask,
} from '@drover/contracts';

const READS: ReadonlySet<PersistenceTask['op']> = new Set(['find', 'findOne', 'count']);

/** Collections a role may read and write through generic tasks; `all` is any but Drover's own. */
interface Access {
  read: readonly string[] | 'all';
  write: readonly string[] | 'all-but-internal';
}

const NONE: Access = { read: [], write: [] };
const SESSION_AGENT_COLLECTIONS = Object.values(SessionCollections);

/**
 * Who may touch which collection through generic tasks (docs/security.md, "Trust boundaries on the bus"),
 * by the sender's role (its verified `user_id`). Drover's own collections (`agents`, `activities`,
 * `commands`, `session_agents`) are never written this way, and the engine's streams, leases and
 * outbox are not documents at all, so no task reaches them. Services with no use for tasks get none.
 */
export const TASK_ACCESS: Readonly<Record<BusRole, Access>> = {
  'session-agent': { read: SESSION_AGENT_COLLECTIONS, write: SESSION_AGENT_COLLECTIONS },
  gateway: { read: [Collections.agents, Collections.activities], write: [] },
  operator: { read: 'all', write: 'all-but-internal' },
  engine: NONE,
  'persistence-agent': NONE,
  scheduler: NONE,
  bootstrap: NONE,
};

/** When senders are not told apart (no `DROVER_BUS_USERS`): any collection, Drover's own read-only. */
const UNKNOWN_SENDER: Access = { read: 'all', write: 'all-but-internal' };

/** Why `role` may not run `task`, or undefined when it may. */
export function taskAccessError(task: PersistenceTask, role: BusRole | undefined): string | undefined {
  const access = role ? TASK_ACCESS[role] : UNKNOWN_SENDER;
  const reading = READS.has(task.op);
  const scope = reading ? access.read : access.write;
  const allowed =
    scope === 'all' ||
    (scope === 'all-but-internal' ? !INTERNAL_COLLECTIONS.includes(task.collection) : scope.includes(task.collection));
  if (allowed) return undefined;
  const who = role ? `the ${role}` : 'a generic task';
  const may =
    scope === 'all-but-internal'
      ? `any collection but ${INTERNAL_COLLECTIONS.join(', ')}`
      : scope.length === 0
        ? 'none'
        : scope.join(', ');
  return `${who} may not ${reading ? 'read' : 'write'} collection ${task.collection} (it may ${reading ? 'read' : 'write'}: ${may})`;
}
