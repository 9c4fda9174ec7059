import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUS_ROLES, type BusRole } from '@drover/contracts';
import { allowedSenders, DROVER_TOPOLOGY } from '@drover/messaging';
import { topologyDeclarations } from '@drover/messaging/rabbitmq';
import { repoRoot } from '../compose-checks';

interface Definitions {
  exchanges: { name: string; vhost: string; type: string; durable: boolean; auto_delete: boolean }[];
  queues: { name: string; vhost: string; durable: boolean; auto_delete: boolean; arguments: Record<string, unknown> }[];
  bindings: { source: string; destination: string; destination_type: string; routing_key: string }[];
  users: { name: string; password_hash: string; tags: string[] }[];
  permissions: { user: string; vhost: string; configure: string; write: string; read: string }[];
}

type Right = 'configure' | 'write' | 'read';

/** A run-time queue of each kind: a session agent's own queue and a bus instance's reply queue. */
const SESSION_AGENT_QUEUE = 'session-agent.sa-1.example.org';
const REPLY_QUEUE = 'drover.replies.8d7e5c1a-0b2f-4c1e-9f3a-2d6b7e8f9a01';
const GATEWAY_FEED_QUEUE = 'gateway.feed.5b0c6f0e-2a8d-4c3f-9e1b-7d2a4f6c8e10';
/** The default exchange, as permissions name it: retries and replies are published there. */
const DEFAULT_EXCHANGE = 'amq.default';

/**
 * deploy/rabbitmq/definitions.json (imported by the rabbitmq health check) declares exactly what the
 * services assert: any difference in a queue's arguments would make the broker refuse their declarations.
 */
describe('deploy/rabbitmq/definitions.json', () => {
  const definitions = JSON.parse(
    readFileSync(join(repoRoot(), 'deploy/rabbitmq/definitions.json'), 'utf8'),
  ) as Definitions;
  // The topology's queues, their dead-letter queues and the shared dead-letter queues (session-agents.dead).
  const declarations = topologyDeclarations(DROVER_TOPOLOGY, '');

  it('declares the exchanges of the topology, durable, with their types', () => {
    const expected = DROVER_TOPOLOGY.exchanges.map((exchange) => [exchange.name, exchange.type]).sort();
    const actual = definitions.exchanges.map((exchange) => [exchange.name, exchange.type]).sort();
    expect(actual).toEqual(expected);
    for (const exchange of definitions.exchanges) assert.ok(exchange.durable && !exchange.auto_delete, exchange.name);
  });

  it('declares every queue and dead-letter queue with the arguments the bus asserts', () => {
    const expected = Object.fromEntries(
      declarations.map((declaration) => [declaration.qualifiedName, declaration.options.arguments]),
    );
    const actual = Object.fromEntries(definitions.queues.map((queue) => [queue.name, queue.arguments]));
    expect(actual).toEqual(expected);
    for (const queue of definitions.queues) {
      assert.ok(queue.durable && !queue.auto_delete && queue.vhost === '/', queue.name);
    }
  });

  it('binds them as the topology does', () => {
    const key = (source: string, destination: string, pattern: string) => `${source} -> ${destination} (${pattern})`;
    const expected = declarations.flatMap((declaration) =>
      declaration.bindings.map((binding) => key(binding.exchange, declaration.qualifiedName, binding.pattern)),
    );
    const actual = definitions.bindings.map((binding) => key(binding.source, binding.destination, binding.routing_key));
    expect(actual.sort()).toEqual(expected.sort());
  });

  describe('users and permissions', () => {
    const exchanges = DROVER_TOPOLOGY.exchanges.map((exchange) => exchange.name);
    const queues = declarations.map((declaration) => declaration.qualifiedName);
    const resources = [...exchanges, ...queues, SESSION_AGENT_QUEUE, GATEWAY_FEED_QUEUE, REPLY_QUEUE, DEFAULT_EXCHANGE];
    const topology = [...exchanges, ...queues];
    const dead = 'drover.dead';
    /**
     * What each role may do, resource by resource: the least its code needs. Every service declares and consumes
     * its own reply queue; consumers forward dead letters to `drover.dead` and republish retries (and replies)
     * through the default exchange; only bootstrap declares and binds the shared topology (the others check it).
     */
    const expected: Record<BusRole, Record<Right, string[]>> = {
      engine: {
        configure: [REPLY_QUEUE],
        write: ['drover.events', 'drover.dispatch', dead, DEFAULT_EXCHANGE],
        read: ['engine.commands', 'engine.reports', REPLY_QUEUE],
      },
      gateway: {
        // Its live feed queue: declared, bound to drover.events (write on the queue, read on the exchange), consumed.
        configure: [REPLY_QUEUE, GATEWAY_FEED_QUEUE],
        write: ['drover.commands', 'drover.persistence', GATEWAY_FEED_QUEUE],
        read: [REPLY_QUEUE, 'drover.events', GATEWAY_FEED_QUEUE],
      },
      'session-agent': {
        // Its own queue: declared, bound to drover.dispatch (write on the queue, read on the exchange), consumed.
        configure: [REPLY_QUEUE, SESSION_AGENT_QUEUE],
        write: ['drover.reports', 'drover.persistence', dead, DEFAULT_EXCHANGE, SESSION_AGENT_QUEUE],
        read: ['sessions.pending', SESSION_AGENT_QUEUE, 'drover.dispatch', REPLY_QUEUE],
      },
      'persistence-agent': {
        configure: [REPLY_QUEUE],
        // drover.events: the live feed's entries (`feed.*`); the sender rules keep it off `agent.*` consumers.
        write: [dead, DEFAULT_EXCHANGE, 'drover.events'],
        // Its own queues, and every dead-letter queue: the dead-letter keeper files what dies.
        read: [
          'persistence.events',
          'persistence.reports',
          'persistence.heartbeats',
          'persistence.commands',
          'persistence.tasks',
          ...declarations.map((queue) => queue.name).filter((name) => name.endsWith('.dead')),
          REPLY_QUEUE,
        ],
      },
      scheduler: { configure: [REPLY_QUEUE], write: ['drover.commands'], read: [REPLY_QUEUE] },
      bootstrap: {
        configure: [...topology, REPLY_QUEUE],
        write: [...topology, REPLY_QUEUE],
        read: [...topology, REPLY_QUEUE],
      },
      operator: {
        configure: [REPLY_QUEUE],
        write: ['drover.commands', 'drover.persistence'],
        read: [REPLY_QUEUE],
      },
    };
    const permissionsOf = (role: BusRole) => {
      const found = definitions.permissions.find((permission) => permission.user === `drover-${role}`);
      assert.ok(found, `no permissions for drover-${role}`);
      return found;
    };

    it('declares one user per role, drover-<role>, none with a password in clear or a hash', () => {
      expect(definitions.users.map((user) => user.name).sort()).toEqual(
        BUS_ROLES.map((role) => `drover-${role}`).sort(),
      );
      for (const user of definitions.users) {
        // Password-less until deploy/rabbitmq/set-passwords.sh sets it from the service's secret file.
        expect(user.password_hash).toBe('');
        expect(Object.keys(user).filter((key) => /password/.test(key) && key !== 'password_hash')).toEqual([]);
      }
      expect(definitions.users.find((user) => user.name === 'drover-bootstrap')?.tags).toEqual(['policymaker']);
      for (const role of BUS_ROLES.filter((r) => r !== 'bootstrap' && r !== 'operator')) {
        expect(definitions.users.find((user) => user.name === `drover-${role}`)?.tags).toEqual([]);
      }
    });

    it.each(BUS_ROLES)('gives drover-%s exactly the rights its code needs on every topology name', (role) => {
      const permissions = permissionsOf(role);
      expect(permissions.vhost).toBe('/');
      for (const right of ['configure', 'write', 'read'] as const) {
        const pattern = new RegExp(permissions[right]);
        const granted = resources.filter((resource) => pattern.test(resource));
        expect({ right, granted: granted.sort() }).toEqual({ right, granted: [...expected[role][right]].sort() });
      }
    });

    it('lets every sender the consumers accept publish to an exchange that routes to their queue', () => {
      const routes = DROVER_TOPOLOGY.queues.flatMap((queue) =>
        queue.bindings.map((binding) => ({ queue: queue.name, exchange: binding.exchange, key: binding.pattern })),
      );
      for (const { queue, exchange, key } of routes) {
        // A topic pattern's `*` stands for a word: the scheduler's and the users' command types are words.
        const keys = key === 'agent.*' ? ['agent.start', 'agent.stop', 'agent.recover', 'agent.wake'] : [key];
        for (const routingKey of keys) {
          for (const role of allowedSenders(queue, routingKey) ?? []) {
            assert.ok(
              new RegExp(permissionsOf(role).write).test(exchange),
              `${role} cannot publish ${routingKey} to ${exchange}`,
            );
          }
        }
      }
      for (const role of allowedSenders(SESSION_AGENT_QUEUE, 'sa-1.example.org') ?? []) {
        assert.ok(new RegExp(permissionsOf(role).write).test('drover.dispatch'), role);
      }
      for (const role of allowedSenders(GATEWAY_FEED_QUEUE, 'feed.event') ?? []) {
        assert.ok(new RegExp(permissionsOf(role).write).test('drover.events'), role);
      }
    });
  });
});
