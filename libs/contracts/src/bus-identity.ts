/**
 * Who is who on the bus (docs/security.md, "Trust boundaries on the bus"). A message's sender is the broker
 * user in its AMQP `user_id`, which RabbitMQ checks against the publishing connection's user; a
 * setting maps those users to the roles below (`DROVER_BUS_USERS`). Without it, nobody is told
 * apart (the embedded bus, tests that connect as `guest`) and only the checks that need no sender
 * apply.
 */
export const BUS_SERVICE_ROLES = [
  'engine',
  'gateway',
  'session-agent',
  'persistence-agent',
  'scheduler',
  'bootstrap',
] as const;

/** A service's role, or `operator`: people publishing commands and generic tasks by hand. */
export const BUS_ROLES = [...BUS_SERVICE_ROLES, 'operator'] as const;
export type BusRole = (typeof BUS_ROLES)[number];

/**
 * Message id prefixes that Drover's own publishers use for the commands they derive: their ids are
 * deterministic (a tick or a profile always sends the same id), so an outside command taking one
 * first would make the real one a "duplicate" of it. Only the owning role may use them.
 */
export const RESERVED_MESSAGE_ID_PREFIXES: Readonly<Record<string, BusRole>> = {
  'scheduler:': 'scheduler',
  'bootstrap:': 'bootstrap',
};

/** The reserved prefix `messageId` starts with, if any. */
export function reservedPrefixOf(messageId: string): string | undefined {
  return Object.keys(RESERVED_MESSAGE_ID_PREFIXES).find((prefix) => messageId.startsWith(prefix));
}

/** Why `role` (undefined: not told apart) may not use `messageId`, or undefined when it may. */
export function reservedPrefixError(messageId: string, role: BusRole | undefined): string | undefined {
  const prefix = reservedPrefixOf(messageId);
  if (prefix === undefined || RESERVED_MESSAGE_ID_PREFIXES[prefix] === role) return undefined;
  return `messageId prefix "${prefix}" is reserved for the ${RESERVED_MESSAGE_ID_PREFIXES[prefix]}`;
}

/** Broker user name → its role: who is who on the bus (`DROVER_BUS_USERS`). */
export type BusUsers = ReadonlyMap<string, BusRole>;

/**
 * Parses `role=user[,user...]` entries separated by `;` or new lines, e.g.
 * `engine=drover-engine;gateway=drover-gateway;...;operator=drover-operator,alice`. Every service
 * role needs at least one user (a role left out would silence that service); `operator` is
 * optional. Throws naming the first problem.
 */
export function parseBusUsers(spec: string): BusUsers {
  const users = new Map<string, BusRole>();
  const roles = new Set<BusRole>();
  for (const entry of spec.split(/[;\n]/).map((part) => part.trim())) {
    if (!entry) continue;
    const match = /^([a-z-]+)\s*=\s*(.+)$/.exec(entry);
    if (!match) throw new Error(`"${entry}" is not role=user[,user...]`);
    const role = match[1] as BusRole;
    if (!BUS_ROLES.includes(role)) throw new Error(`unknown role "${match[1]}" (roles: ${BUS_ROLES.join(', ')})`);
    for (const user of match[2]!.split(',').map((name) => name.trim())) {
      if (!user) continue;
      const earlier = users.get(user);
      if (earlier && earlier !== role) throw new Error(`user "${user}" is listed as ${earlier} and as ${role}`);
      users.set(user, role);
      roles.add(role);
    }
  }
  const missing = BUS_SERVICE_ROLES.filter((role) => !roles.has(role));
  if (missing.length) throw new Error(`no user for ${missing.join(', ')}`);
  return users;
}
