import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUS_ROLES, type BusRole, type BusUsers } from '@drover/contracts';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { RabbitMqBus } from '@drover/messaging/rabbitmq';

const MANAGEMENT = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://127.0.0.1:15672';
const AUTH = `Basic ${Buffer.from('guest:guest').toString('base64')}`;

interface Permission {
  user: string;
  configure: string;
  write: string;
  read: string;
}

/** One broker user per role, with the permissions deploy/rabbitmq/definitions.json gives `drover-<role>`. */
export interface RoleUsers {
  /** The user of each role (`drover-<role>-<suffix>`: unique on a broker other tests share). */
  names: Record<BusRole, string>;
  /** Who is who, as `DROVER_BUS_USERS` would say. */
  users: BusUsers;
  /** An AMQP URL logging in as the role's user on the vhost. */
  url(role: BusRole): string;
  /**
   * Drover's bus logged in as the role's user (closed by `delete`); only bootstrap's user may
   * declare the topology, the others check it.
   */
  connect(role: BusRole, options?: { declareTopology?: boolean; connectionName?: string }): Promise<RabbitMqBus>;
  /** Closes the buses `connect` opened, then removes the users. */
  delete(): Promise<void>;
}

async function management(method: string, path: string, body?: unknown): Promise<void> {
  const response = await fetch(`${MANAGEMENT}/api${path}`, {
    method,
    headers: { authorization: AUTH, 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  if (!response.ok && response.status !== 404) {
    throw new Error(`RabbitMQ management ${method} ${path}: ${response.status} ${await response.text()}`);
  }
}

/**
 * Creates a user per role on `vhost` with the tags and permission regexes of definitions.json (whose vhost is
 * `/`), so a test exercises the very permissions a deployment gets. `baseUrl` is the broker's AMQP URL without a vhost.
 */
export async function createRoleUsers(repoRoot: string, baseUrl: string, vhost: string): Promise<RoleUsers> {
  const definitions = JSON.parse(readFileSync(join(repoRoot, 'deploy/rabbitmq/definitions.json'), 'utf8')) as {
    permissions: Permission[];
    users: { name: string; tags: string[] }[];
  };
  const suffix = randomUUID().slice(0, 8);
  const password = randomUUID();
  const names = Object.fromEntries(BUS_ROLES.map((role) => [role, `drover-${role}-${suffix}`])) as Record<
    BusRole,
    string
  >;
  for (const role of BUS_ROLES) {
    const permission = definitions.permissions.find((p) => p.user === `drover-${role}`);
    if (!permission) throw new Error(`definitions.json has no permissions for drover-${role}`);
    const tags = definitions.users.find((user) => user.name === `drover-${role}`)?.tags ?? [];
    await management('PUT', `/users/${names[role]}`, { password, tags: tags.join(',') });
    const { configure, write, read } = permission;
    await management('PUT', `/permissions/${encodeURIComponent(vhost)}/${names[role]}`, { configure, write, read });
  }
  const base = new URL(baseUrl);
  const url = (role: BusRole): string => {
    const roleUrl = new URL(base.href);
    roleUrl.username = names[role];
    roleUrl.password = password;
    roleUrl.pathname = `/${encodeURIComponent(vhost)}`;
    return roleUrl.href;
  };
  const buses: RabbitMqBus[] = [];
  return {
    names,
    users: new Map(BUS_ROLES.map((role) => [names[role], role])),
    url,
    connect: async (role, { declareTopology = false, connectionName } = {}) => {
      const bus = await RabbitMqBus.connect(url(role), DROVER_TOPOLOGY, {
        declareTopology,
        retryDelaysMs: [20],
        ...(connectionName ? { connectionName } : {}),
      });
      buses.push(bus);
      return bus;
    },
    delete: async () => {
      for (const bus of buses.splice(0)) await bus.close();
      for (const role of BUS_ROLES) await management('DELETE', `/users/${names[role]}`);
    },
  };
}
