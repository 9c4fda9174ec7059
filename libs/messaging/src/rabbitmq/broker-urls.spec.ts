import { describe, expect, it } from '@jest/globals';
import { brokerUrls } from './broker-urls';

describe('RABBITMQ_URL with the nodes of a cluster', () => {
  it('is one URL, or several separated by commas (spaces allowed)', () => {
    expect(brokerUrls('amqp://u:p@rabbit-1:5672')).toEqual(['amqp://u:p@rabbit-1:5672']);
    expect(brokerUrls('amqp://u:p@rabbit-1:5672/v, amqp://u:p@rabbit-2:5672/v,')).toEqual([
      'amqp://u:p@rabbit-1:5672/v',
      'amqp://u:p@rabbit-2:5672/v',
    ]);
  });

  it('refuses nodes that disagree on the user or the virtual host, naming the hosts', () => {
    expect(() => brokerUrls('amqp://a:p@r1:5672,amqp://b:p@r2:5672')).toThrow(
      /same user and virtual host \(r1:5672 and r2:5672/,
    );
    expect(() => brokerUrls('amqp://a:p@r1:5672/one,amqp://a:p@r2:5672/two')).toThrow(/same user and virtual host/);
  });

  it('refuses what is not an amqp URL without printing its password', () => {
    expect(() => brokerUrls('http://u:secret@r1:15672')).toThrow('"http://u:***@r1:15672" is not an amqp://');
    expect(() => brokerUrls(' , ')).toThrow('names no broker');
  });
});
