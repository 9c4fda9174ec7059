import { describe, expect, it } from '@jest/globals';
import { operand, selectors } from './promql';

describe('promql reading for the monitoring checks', () => {
  it('takes the operand of the last top-level comparison', () => {
    expect(operand('up{job="session-agent"} == 0')).toBe('up{job="session-agent"}');
    expect(operand('(sum(drover_scheduler_leader) or vector(0)) < 1')).toBe(
      '(sum(drover_scheduler_leader) or vector(0))',
    );
    expect(operand('max by (queue) (delta(drover_queue_messages{queue=~".+\\\\.dead"}[10m])) > 0')).toBe(
      'max by (queue) (delta(drover_queue_messages{queue=~".+\\\\.dead"}[10m]))',
    );
    // Matchers and quoted text hold no comparison.
    expect(operand('max by (queue) (drover_queue_messages{queue!~"a>b"})')).toBe(
      'max by (queue) (drover_queue_messages{queue!~"a>b"})',
    );
    expect(operand('sum(rate(x[5m])) / sum(rate(y[5m]))')).toBe('sum(rate(x[5m])) / sum(rate(y[5m]))');
  });

  it('lists the series selectors, not functions, with their matchers', () => {
    expect(
      selectors('histogram_quantile(0.99, sum by (le) (rate(drover_command_duration_seconds_bucket[5m]))) > 0.25'),
    ).toEqual(['drover_command_duration_seconds_bucket']);
    expect(selectors('sum by (queue) (increase(drover_bus_deliveries_total{outcome="dead-letter"}[5m]))')).toEqual([
      'drover_bus_deliveries_total{outcome="dead-letter"}',
    ]);
    expect(selectors('up{job=~"gateway|engine"} == 0 or up{job="x"}')).toEqual([
      'up{job=~"gateway|engine"}',
      'up{job="x"}',
    ]);
    expect(selectors('max by (queue) (drover_queue_messages{queue!~".+\\\\.dead"}) > 1000')).toEqual([
      'drover_queue_messages{queue!~".+\\\\.dead"}',
    ]);
  });
});
