import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { Exchanges } from '@drover/contracts';
import { bindingMatches } from '../in-memory/in-memory-routing';
import { DROVER_TOPOLOGY, Queues, sessionAgentQueue, sessionAgentQueueExpiresMs } from '../topology';
import {
  CONSUMER_TEMPLATE,
  qualify,
  queueDeclarations,
  RASCAL_VHOST,
  type RascalVhost,
  REPLY_PUBLICATION,
  REPLY_SUBSCRIPTION,
  toRascalConfig,
  unqualify,
} from './rabbitmq-config';

const AMQP_URL = 'amqp://guest:guest@localhost:5672';

function vhostOf(prefix = ''): RascalVhost {
  const vhost = toRascalConfig(AMQP_URL, DROVER_TOPOLOGY, prefix, { replyQueue: 'replies.x' }).vhosts[RASCAL_VHOST];
  assert.ok(vhost);
  return vhost;
}

describe('toRascalConfig', () => {
  it('connects to the given URL and reconnects with backoff', () => {
    const config = toRascalConfig(AMQP_URL, DROVER_TOPOLOGY, '');
    expect(config.vhosts[RASCAL_VHOST]?.connections.map((c) => c.url)).toEqual([AMQP_URL]);
    expect(config.defaults.vhosts.connection.retry.strategy).toBe('exponential');
    expect(config.defaults.vhosts.connection.retry.max > 0).toBeTruthy();
  });

  it('connects to any node of a cluster, the processes spread over them at random', () => {
    const nodes = ['amqp://u:p@rabbit-1:5672', 'amqp://u:p@rabbit-2:5672', 'amqp://u:p@rabbit-3:5672'];
    const vhost = toRascalConfig(nodes, DROVER_TOPOLOGY, '').vhosts[RASCAL_VHOST];
    expect(vhost?.connections.map((c) => c.url)).toEqual(nodes);
    expect(vhost?.connectionStrategy).toBe('random');
  });

  it('lets 32 publishes await their confirm at once unless told otherwise (rascal pools 5)', () => {
    expect(vhostOf().publicationChannelPools.confirmPool.max).toBe(32);
    const narrow = toRascalConfig(AMQP_URL, DROVER_TOPOLOGY, '', { publishChannels: 4 }).vhosts[RASCAL_VHOST];
    expect(narrow?.publicationChannelPools.confirmPool.max).toBe(4);
  });

  it('declares every topology exchange durable with its type, plus the dead-letter exchange', () => {
    const vhost = vhostOf();
    for (const exchange of DROVER_TOPOLOGY.exchanges) {
      expect(vhost.exchanges[exchange.name]).toEqual({
        type: exchange.type,
        assert: true,
        options: { durable: true },
      });
    }
    expect(vhost.exchanges[Exchanges.dead]?.type).toBe('topic');
    const withoutDead = toRascalConfig(AMQP_URL, { exchanges: [{ name: 'x', type: 'direct' }], queues: [] }, '');
    expect(withoutDead.vhosts[RASCAL_VHOST]?.exchanges[Exchanges.dead]?.type).toBe('topic');
  });

  it('declares durable quorum queues with their delivery limit and dead-letter route', () => {
    const vhost = vhostOf();
    for (const spec of DROVER_TOPOLOGY.queues) {
      const queue = vhost.queues[spec.name];
      assert.ok(queue, spec.name);
      expect(queue.options.durable).toBe(true);
      expect(queue.options.arguments).toEqual({
        'x-queue-type': 'quorum',
        'x-delivery-limit': spec.deliveryLimit,
        'x-dead-letter-exchange': Exchanges.dead,
        'x-dead-letter-routing-key': spec.name,
      });
    }
  });

  it('gives every queue a durable dead-letter queue bound to the dead-letter exchange by the queue name', () => {
    const vhost = vhostOf();
    for (const spec of DROVER_TOPOLOGY.queues) {
      const dead = `${spec.name}.dead`;
      expect(vhost.queues[dead]?.options.durable).toBe(true);
      expect(vhost.queues[dead]?.options.arguments['x-queue-type']).toBe('quorum');
      expect(vhost.queues[dead]?.options.arguments['x-dead-letter-exchange']).toBe(undefined);
      expect(vhost.bindings[`${Exchanges.dead} -> ${dead}`]).toEqual({
        source: Exchanges.dead,
        destination: dead,
        destinationType: 'queue',
        bindingKeys: [spec.name],
      });
      assert.ok(vhost.subscriptions[dead], `a subscription for ${dead}`);
    }
  });

  it('binds each queue to its exchanges with all its patterns', () => {
    const vhost = vhostOf();
    expect(vhost.bindings[`${Exchanges.events} -> ${Queues.persistenceEvents}`]?.bindingKeys).toEqual([
      'agent.#',
      'command.#',
    ]);
    expect(vhost.bindings[`${Exchanges.reports} -> ${Queues.engineReports}`]?.bindingKeys).toEqual([
      'session.started',
      'session.stopped',
      'session.failed',
      'session.deferred',
    ]);
  });

  it('publishes with confirms, persistent and mandatory, one publication per exchange', () => {
    const vhost = vhostOf();
    for (const exchange of DROVER_TOPOLOGY.exchanges) {
      const publication = vhost.publications[exchange.name];
      expect(publication?.exchange).toBe(exchange.name);
      expect(publication?.confirm).toBe(true);
      expect(publication?.options).toEqual({ persistent: true, mandatory: true, contentType: 'application/json' });
    }
    expect(vhost.publications[REPLY_PUBLICATION]?.exchange).toBe('');
  });

  it('subscribes with manual acks, a bounded prefetch and JSON bodies', () => {
    const vhost = toRascalConfig(AMQP_URL, DROVER_TOPOLOGY, '', { prefetch: 7 }).vhosts[RASCAL_VHOST];
    for (const spec of DROVER_TOPOLOGY.queues) {
      const subscription = vhost?.subscriptions[spec.name];
      expect(subscription?.queue).toBe(spec.name);
      expect(subscription?.prefetch).toBe(7);
      expect(subscription?.options.noAck).toBe(false);
      expect(subscription?.contentType).toBe('application/json');
    }
    expect(vhostOf().subscriptions[Queues.engineCommands]?.prefetch).toBe(10);
  });

  it('declares an expiring, non-durable reply queue with its subscriptions', () => {
    const vhost = vhostOf();
    expect(vhost.queues['replies.x']?.options).toEqual({
      durable: false,
      arguments: { 'x-queue-type': 'classic', 'x-expires': 60_000 },
    });
    expect(vhost.subscriptions[REPLY_SUBSCRIPTION]?.queue).toBe('replies.x');
    expect(vhost.subscriptions[CONSUMER_TEMPLATE]?.queue).toBe('replies.x');
  });

  it('only checks the topology, binding nothing, when it may not declare it; the reply queue is declared', () => {
    const vhost = toRascalConfig(AMQP_URL, DROVER_TOPOLOGY, '', { replyQueue: 'replies.x', declareTopology: false })
      .vhosts[RASCAL_VHOST];
    assert.ok(vhost);
    for (const [name, exchange] of Object.entries(vhost.exchanges)) {
      expect({ name, assert: exchange.assert, check: exchange.check }).toEqual({ name, assert: false, check: true });
    }
    for (const [name, queue] of Object.entries(vhost.queues)) {
      const expected = name === 'replies.x' ? { assert: true, check: undefined } : { assert: false, check: true };
      expect({ name, assert: queue.assert, check: queue.check }).toEqual({ name, ...expected });
    }
    expect(vhost.bindings).toEqual({});
    // Its queues are consumed all the same.
    expect(vhost.subscriptions[Queues.engineCommands]?.queue).toBe(Queues.engineCommands);
  });

  it('applies the prefix to every exchange, queue, binding and dead-letter argument', () => {
    const vhost = vhostOf('test-1');
    const names = [...Object.keys(vhost.exchanges), ...Object.keys(vhost.queues)];
    expect(names.length > 0).toBeTruthy();
    for (const name of names) assert.ok(name.startsWith('test-1.'), name);
    for (const binding of Object.values(vhost.bindings)) {
      assert.ok(binding.source.startsWith('test-1.'), binding.source);
      assert.ok(binding.destination.startsWith('test-1.'), binding.destination);
    }
    const commands = vhost.queues[`test-1.${Queues.engineCommands}`];
    expect(commands?.options.arguments['x-dead-letter-exchange']).toBe(`test-1.${Exchanges.dead}`);
    // Routing keys and publication/subscription names stay unprefixed.
    expect(commands?.options.arguments['x-dead-letter-routing-key']).toBe(Queues.engineCommands);
    expect(vhost.publications[Exchanges.events]?.exchange).toBe(`test-1.${Exchanges.events}`);
    expect(vhost.subscriptions[Queues.engineCommands]?.queue).toBe(`test-1.${Queues.engineCommands}`);
    expect(vhost.queues['test-1.replies.x']?.options.durable).toBe(false);
  });
});

describe('queueDeclarations', () => {
  it("declares a session agent's own queue as a durable classic queue that expires, dead-lettering to the shared queue", () => {
    const declarations = queueDeclarations(sessionAgentQueue('host.a-1', 20_000), 'p');
    expect(declarations.length).toBe(1); // no `.dead` of its own
    const [main] = declarations;
    expect(main?.qualifiedName).toBe('p.session-agent.host.a-1');
    expect(main?.bindings).toEqual([{ exchange: `p.${Exchanges.dispatch}`, pattern: 'host.a-1' }]);
    expect(main?.options).toEqual({
      durable: true,
      arguments: {
        'x-queue-type': 'classic',
        'x-expires': 20_000,
        'x-dead-letter-exchange': `p.${Exchanges.dead}`,
        'x-dead-letter-routing-key': 'session-agent.host.a-1',
      },
    });
  });

  it('binds the shared dead-letter queue once, with a pattern every session-agent queue name matches', () => {
    const vhost = vhostOf('p');
    const shared = DROVER_TOPOLOGY.sharedDeadLetterQueues?.find((spec) => spec.name === Queues.sessionAgentsDead);
    assert.ok(shared);
    expect(vhost.queues[`p.${Queues.sessionAgentsDead}`]?.options).toEqual({
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    expect(vhost.bindings[`p.${Exchanges.dead} -> p.${Queues.sessionAgentsDead}`]?.bindingKeys).toEqual([
      shared.pattern,
    ]);
    // Dead letters are routed by the queue's name, on the topic exchange drover.dead.
    for (const id of ['sa-1', 'host.example.org-1a2b3c4d']) {
      expect(bindingMatches('topic', shared.pattern, sessionAgentQueue(id, 1000).name)).toBe(true);
    }
    for (const other of DROVER_TOPOLOGY.queues) expect(bindingMatches('topic', shared.pattern, other.name)).toBe(false);
    const spec = sessionAgentQueue('sa-1', 1000);
    expect(spec.sharedDeadLetter).toEqual({
      queue: Queues.sessionAgentsDead,
      headers: { 'x-drover-instance': 'sa-1' },
    });
  });

  it('derives the expiry of a session-agent queue from the heartbeat lease', () => {
    expect(sessionAgentQueueExpiresMs(30_000)).toBe(60_000);
  });

  it('uses a classic queue for auto-delete queues (quorum queues cannot auto-delete)', () => {
    const [main] = queueDeclarations({ name: 'tmp', bindings: [], autoDelete: true }, '');
    expect(main?.options.autoDelete).toBe(true);
    expect(main?.options.arguments['x-queue-type']).toBe('classic');
    expect(main?.options.arguments['x-delivery-limit']).toBe(undefined);
  });

  it('honours a named dead-letter queue, none, and the default delivery limit', () => {
    const named = queueDeclarations({ name: 'a', bindings: [], deadLetterQueue: 'graveyard' }, '');
    expect(named.map((d) => d.qualifiedName)).toEqual(['a', 'graveyard']);
    expect(named[0]?.options.arguments['x-delivery-limit']).toBe(5);
    const none = queueDeclarations({ name: 'b', bindings: [], deadLetterQueue: false }, '');
    expect(none.length).toBe(1);
    expect(none[0]?.options.arguments['x-dead-letter-exchange']).toBe(undefined);
  });
});

describe('qualify', () => {
  it('prefixes names only when a prefix is given, and strips it again', () => {
    expect(qualify('', 'drover.events')).toBe('drover.events');
    expect(qualify('t', 'drover.events')).toBe('t.drover.events');
    expect(unqualify('t', 't.drover.events')).toBe('drover.events');
    expect(unqualify('t', 'drover.events')).toBe('drover.events');
    expect(unqualify('', 'drover.events')).toBe('drover.events');
  });
});
