import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Exchanges } from '@drover/contracts';
import { DROVER_TOPOLOGY, Queues, sessionAgentQueue } from '../topology';
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
    assert.equal(config.vhosts[RASCAL_VHOST]?.connection.url, AMQP_URL);
    assert.equal(config.defaults.vhosts.connection.retry.strategy, 'exponential');
    assert.ok(config.defaults.vhosts.connection.retry.max > 0);
  });

  it('lets 32 publishes await their confirm at once unless told otherwise (rascal pools 5)', () => {
    assert.equal(vhostOf().publicationChannelPools.confirmPool.max, 32);
    const narrow = toRascalConfig(AMQP_URL, DROVER_TOPOLOGY, '', { publishChannels: 4 }).vhosts[RASCAL_VHOST];
    assert.equal(narrow?.publicationChannelPools.confirmPool.max, 4);
  });

  it('declares every topology exchange durable with its type, plus the dead-letter exchange', () => {
    const vhost = vhostOf();
    for (const exchange of DROVER_TOPOLOGY.exchanges) {
      assert.deepEqual(vhost.exchanges[exchange.name], {
        type: exchange.type,
        assert: true,
        options: { durable: true },
      });
    }
    assert.equal(vhost.exchanges[Exchanges.dead]?.type, 'topic');
    const withoutDead = toRascalConfig(AMQP_URL, { exchanges: [{ name: 'x', type: 'direct' }], queues: [] }, '');
    assert.equal(withoutDead.vhosts[RASCAL_VHOST]?.exchanges[Exchanges.dead]?.type, 'topic');
  });

  it('declares durable quorum queues with their delivery limit and dead-letter route', () => {
    const vhost = vhostOf();
    for (const spec of DROVER_TOPOLOGY.queues) {
      const queue = vhost.queues[spec.name];
      assert.ok(queue, spec.name);
      assert.equal(queue.options.durable, true);
      assert.deepEqual(queue.options.arguments, {
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
      assert.equal(vhost.queues[dead]?.options.durable, true);
      assert.equal(vhost.queues[dead]?.options.arguments['x-queue-type'], 'quorum');
      assert.equal(vhost.queues[dead]?.options.arguments['x-dead-letter-exchange'], undefined);
      assert.deepEqual(vhost.bindings[`${Exchanges.dead} -> ${dead}`], {
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
    assert.deepEqual(vhost.bindings[`${Exchanges.events} -> ${Queues.persistenceEvents}`]?.bindingKeys, [
      'agent.#',
      'command.#',
    ]);
    assert.deepEqual(vhost.bindings[`${Exchanges.reports} -> ${Queues.engineReports}`]?.bindingKeys, [
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
      assert.equal(publication?.exchange, exchange.name);
      assert.equal(publication?.confirm, true);
      assert.deepEqual(publication?.options, { persistent: true, mandatory: true, contentType: 'application/json' });
    }
    assert.equal(vhost.publications[REPLY_PUBLICATION]?.exchange, '');
  });

  it('subscribes with manual acks, a bounded prefetch and JSON bodies', () => {
    const vhost = toRascalConfig(AMQP_URL, DROVER_TOPOLOGY, '', { prefetch: 7 }).vhosts[RASCAL_VHOST];
    for (const spec of DROVER_TOPOLOGY.queues) {
      const subscription = vhost?.subscriptions[spec.name];
      assert.equal(subscription?.queue, spec.name);
      assert.equal(subscription?.prefetch, 7);
      assert.equal(subscription?.options.noAck, false);
      assert.equal(subscription?.contentType, 'application/json');
    }
    assert.equal(vhostOf().subscriptions[Queues.engineCommands]?.prefetch, 10);
  });

  it('declares an expiring, non-durable reply queue with its subscriptions', () => {
    const vhost = vhostOf();
    assert.deepEqual(vhost.queues['replies.x']?.options, {
      durable: false,
      arguments: { 'x-queue-type': 'classic', 'x-expires': 60_000 },
    });
    assert.equal(vhost.subscriptions[REPLY_SUBSCRIPTION]?.queue, 'replies.x');
    assert.equal(vhost.subscriptions[CONSUMER_TEMPLATE]?.queue, 'replies.x');
  });

  it('applies the prefix to every exchange, queue, binding and dead-letter argument', () => {
    const vhost = vhostOf('test-1');
    const names = [...Object.keys(vhost.exchanges), ...Object.keys(vhost.queues)];
    assert.ok(names.length > 0);
    for (const name of names) assert.ok(name.startsWith('test-1.'), name);
    for (const binding of Object.values(vhost.bindings)) {
      assert.ok(binding.source.startsWith('test-1.'), binding.source);
      assert.ok(binding.destination.startsWith('test-1.'), binding.destination);
    }
    const commands = vhost.queues[`test-1.${Queues.engineCommands}`];
    assert.equal(commands?.options.arguments['x-dead-letter-exchange'], `test-1.${Exchanges.dead}`);
    // Routing keys and publication/subscription names stay unprefixed.
    assert.equal(commands?.options.arguments['x-dead-letter-routing-key'], Queues.engineCommands);
    assert.equal(vhost.publications[Exchanges.events]?.exchange, `test-1.${Exchanges.events}`);
    assert.equal(vhost.subscriptions[Queues.engineCommands]?.queue, `test-1.${Queues.engineCommands}`);
    assert.equal(vhost.queues['test-1.replies.x']?.options.durable, false);
  });
});

describe('queueDeclarations', () => {
  it('declares a run-time queue like a topology queue', () => {
    const [main, dead] = queueDeclarations(sessionAgentQueue('abc'), 'p');
    assert.equal(main?.qualifiedName, 'p.session-agent.abc');
    assert.deepEqual(main?.bindings, [{ exchange: `p.${Exchanges.dispatch}`, pattern: 'abc' }]);
    assert.equal(main?.options.arguments['x-queue-type'], 'quorum');
    assert.equal(dead?.qualifiedName, 'p.session-agent.abc.dead');
    assert.deepEqual(dead?.bindings, [{ exchange: `p.${Exchanges.dead}`, pattern: 'session-agent.abc' }]);
  });

  it('uses a classic queue for auto-delete queues (quorum queues cannot auto-delete)', () => {
    const [main] = queueDeclarations({ name: 'tmp', bindings: [], autoDelete: true }, '');
    assert.equal(main?.options.autoDelete, true);
    assert.equal(main?.options.arguments['x-queue-type'], 'classic');
    assert.equal(main?.options.arguments['x-delivery-limit'], undefined);
  });

  it('honours a named dead-letter queue, none, and the default delivery limit', () => {
    const named = queueDeclarations({ name: 'a', bindings: [], deadLetterQueue: 'graveyard' }, '');
    assert.deepEqual(
      named.map((d) => d.qualifiedName),
      ['a', 'graveyard'],
    );
    assert.equal(named[0]?.options.arguments['x-delivery-limit'], 5);
    const none = queueDeclarations({ name: 'b', bindings: [], deadLetterQueue: false }, '');
    assert.equal(none.length, 1);
    assert.equal(none[0]?.options.arguments['x-dead-letter-exchange'], undefined);
  });
});

describe('qualify', () => {
  it('prefixes names only when a prefix is given, and strips it again', () => {
    assert.equal(qualify('', 'drover.events'), 'drover.events');
    assert.equal(qualify('t', 'drover.events'), 't.drover.events');
    assert.equal(unqualify('t', 't.drover.events'), 'drover.events');
    assert.equal(unqualify('t', 'drover.events'), 'drover.events');
    assert.equal(unqualify('', 'drover.events'), 'drover.events');
  });
});
