import { describe, expect, it } from '@jest/globals';
import { DROVER_TOPOLOGY, Queues } from '../topology';
import { topologyDeclarations } from './rabbitmq-config';
import { deadLetterPolicy, deadLetterQueueNames, managementEndpoint } from './rabbitmq-policies';

describe('dead-letter policy', () => {
  const week = 7 * 24 * 3_600_000;

  it('bounds length (oldest dropped first) and age', () => {
    const policy = deadLetterPolicy(DROVER_TOPOLOGY, { maxAgeMs: week, maxLength: 10_000 });
    expect(policy).toMatchObject({
      name: 'drover-dead-letters',
      'apply-to': 'queues',
      definition: { 'max-length': 10_000, overflow: 'drop-head', 'message-ttl': week },
    });
    expect(deadLetterPolicy(DROVER_TOPOLOGY, { maxAgeMs: null, maxLength: 5 })?.definition).toEqual({
      'max-length': 5,
      overflow: 'drop-head',
    });
    expect(deadLetterPolicy(DROVER_TOPOLOGY, { maxAgeMs: null, maxLength: null })).toBe(undefined);
  });

  it("matches every dead-letter queue of the topology and none of the other queues, nor anyone else's", () => {
    const pattern = new RegExp(deadLetterPolicy(DROVER_TOPOLOGY, { maxAgeMs: 1_000, maxLength: 1 })!.pattern);
    const declared = topologyDeclarations(DROVER_TOPOLOGY, '').map((declaration) => declaration.qualifiedName);
    const dead = declared.filter((name) => name.endsWith('.dead'));
    expect(dead).toContain(Queues.sessionAgentsDead);
    expect(dead).toContain(`${Queues.engineCommands}.dead`);
    expect(deadLetterQueueNames(DROVER_TOPOLOGY).sort()).toEqual(dead.sort());
    for (const name of declared) expect([name, pattern.test(name)]).toEqual([name, name.endsWith('.dead')]);
    for (const other of [
      'session-agent.sa-1',
      'engine.commands.dead.old',
      'my-engine.commands.dead',
      'engineXcommands.dead',
    ]) {
      expect([other, pattern.test(other)]).toEqual([other, false]);
    }
    const prefixed = new RegExp(deadLetterPolicy(DROVER_TOPOLOGY, { maxAgeMs: 1_000, maxLength: 1 }, 't1')!.pattern);
    expect(prefixed.test('t1.engine.commands.dead')).toBe(true);
    expect(prefixed.test('engine.commands.dead')).toBe(false);
  });

  it('finds the management API beside the broker, with its user and vhost, unless told where', () => {
    expect(managementEndpoint('amqp://drover:s%40cret@rabbitmq:5672/prod%2Fa')).toEqual({
      url: 'http://rabbitmq:15672',
      vhost: 'prod/a',
      username: 'drover',
      password: 's@cret',
    });
    expect(managementEndpoint('amqps://u:p@mq.example')).toMatchObject({ url: 'https://mq.example:15671', vhost: '/' });
    expect(managementEndpoint('amqp://127.0.0.1', 'https://admin:pw@mgmt.example:8443/rabbit/')).toEqual({
      url: 'https://mgmt.example:8443/rabbit',
      vhost: '/',
      username: 'admin',
      password: 'pw',
    });
  });
});
