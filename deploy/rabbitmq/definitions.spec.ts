import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { topologyDeclarations } from '@drover/messaging/rabbitmq';
import { repoRoot } from '../compose-checks';

interface Definitions {
  exchanges: { name: string; vhost: string; type: string; durable: boolean; auto_delete: boolean }[];
  queues: { name: string; vhost: string; durable: boolean; auto_delete: boolean; arguments: Record<string, unknown> }[];
  bindings: { source: string; destination: string; destination_type: string; routing_key: string }[];
  users?: unknown;
}

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

  it('holds no users or passwords (the default user comes from the rabbitmq_password secret)', () => {
    expect(definitions.users).toBe(undefined);
  });
});
