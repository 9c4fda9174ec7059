import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { operand, selectors } from './promql';

describe('promql reading for the monitoring checks', () => {
  it('takes the operand of the last top-level comparison', () => {
    assert.equal(operand('up{job="session-agent"} == 0'), 'up{job="session-agent"}');
    assert.equal(
      operand('(sum(drover_scheduler_leader) or vector(0)) < 1'),
      '(sum(drover_scheduler_leader) or vector(0))',
    );
    assert.equal(
      operand('max by (queue) (delta(drover_queue_messages{queue=~".+\\\\.dead"}[10m])) > 0'),
      'max by (queue) (delta(drover_queue_messages{queue=~".+\\\\.dead"}[10m]))',
    );
    // Matchers and quoted text hold no comparison.
    assert.equal(
      operand('max by (queue) (drover_queue_messages{queue!~"a>b"})'),
      'max by (queue) (drover_queue_messages{queue!~"a>b"})',
    );
    assert.equal(operand('sum(rate(x[5m])) / sum(rate(y[5m]))'), 'sum(rate(x[5m])) / sum(rate(y[5m]))');
  });

  it('lists the series selectors, not functions, with their matchers', () => {
    assert.deepEqual(
      selectors('histogram_quantile(0.99, sum by (le) (rate(drover_command_duration_seconds_bucket[5m]))) > 0.25'),
      ['drover_command_duration_seconds_bucket'],
    );
    assert.deepEqual(selectors('sum by (queue) (increase(drover_bus_deliveries_total{outcome="dead-letter"}[5m]))'), [
      'drover_bus_deliveries_total{outcome="dead-letter"}',
    ]);
    assert.deepEqual(selectors('up{job=~"gateway|engine"} == 0 or up{job="x"}'), [
      'up{job=~"gateway|engine"}',
      'up{job="x"}',
    ]);
    assert.deepEqual(selectors('max by (queue) (drover_queue_messages{queue!~".+\\\\.dead"}) > 1000'), [
      'drover_queue_messages{queue!~".+\\\\.dead"}',
    ]);
  });
});
