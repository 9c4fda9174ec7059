import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import type { AgentEvent } from '@drover/contracts';
import { decide, type DomainMessage } from './decide';
import { fold, type FoldableCommit } from './evolve';
import { backoffMs, DEFAULT_RECOVERY_POLICY, type RecoveryPolicy } from './recovery-policy';

const policy: RecoveryPolicy = {
  onInterrupt: 'restart',
  maxAttempts: 10,
  backoffInitialMs: 1_000,
  backoffMaxMs: 30_000,
};

describe('recovery back-off', () => {
  it('starts at the initial delay and doubles with each attempt until the cap', () => {
    const delays = Array.from({ length: 8 }, (_, i) => backoffMs(policy, i + 1));
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000]);
  });

  it('never exceeds the cap, also when it is no power-of-two multiple of the initial delay', () => {
    const odd: RecoveryPolicy = { ...policy, backoffInitialMs: 300, backoffMaxMs: 1_000 };
    expect([1, 2, 3, 4, 5].map((attempt) => backoffMs(odd, attempt))).toEqual([300, 600, 1_000, 1_000, 1_000]);
    // Exponents far past any float: still the cap, not Infinity or NaN.
    for (const attempt of [64, 1_024, 10_000]) expect(backoffMs(policy, attempt)).toBe(30_000);
  });

  it('grows monotonically: each delay is at least the previous one and at most twice it', () => {
    let previous = 0;
    for (let attempt = 1; attempt <= 40; attempt += 1) {
      const delay = backoffMs(DEFAULT_RECOVERY_POLICY, attempt);
      expect(delay).toBeGreaterThanOrEqual(previous);
      if (previous > 0) expect(delay).toBeLessThanOrEqual(2 * previous);
      expect(delay).toBeLessThanOrEqual(DEFAULT_RECOVERY_POLICY.backoffMaxMs);
      previous = delay;
    }
  });

  it('uses the initial delay for attempt 0 (an agent never started)', () => {
    expect(backoffMs(policy, 0)).toBe(1_000);
  });

  it('schedules each restart of a repeatedly lost agent after the next delay, capped, then gives up', () => {
    const agentId = 'flaky';
    const envelope = { messageId: 'm', agentId };
    const interrupt: DomainMessage = {
      ...envelope,
      type: 'agent.interrupt',
      payload: { reason: 'lease lapsed', instanceId: 'sa-1' },
    };
    const recoverCmd: DomainMessage = { ...envelope, type: 'agent.recover', payload: {} };
    const commits: FoldableCommit[] = [];
    let now = new Date('2026-01-01T00:00:00.000Z');
    const commit = (...events: AgentEvent[]) =>
      commits.push({ version: commits.length + 1, events, committedAt: now.toISOString() });
    const state = () => fold(agentId, commits);
    const decideNow = (message: DomainMessage) => {
      const decision = decide(state(), message, { now, policy: { ...policy, maxAttempts: 8 } });
      if (decision.kind === 'accept') commit(...decision.events);
      return decision;
    };

    commit({ type: 'agent.start-requested', data: { behavior: 'http-monitor', config: {}, attempt: 1 } });
    const delays: number[] = [];
    for (;;) {
      commit({ type: 'agent.started', data: { instanceId: 'sa-1', attempt: state().attempts } });
      decideNow(interrupt);
      const { status, retryAt } = state();
      if (status === 'failed') break;
      assert.ok(retryAt, 'an interrupted agent with attempts left has a restart time');
      delays.push(Date.parse(retryAt) - now.getTime());
      // Not before its time; then restarted with the next attempt.
      expect(decideNow(recoverCmd).kind).toBe('noop');
      now = new Date(retryAt);
      expect(decideNow(recoverCmd).kind).toBe('accept');
      expect(state().status).toBe('starting');
    }
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]);
    expect(state().attempts).toBe(8);
  });
});
