import { describe, expect, it } from '@jest/globals';
import { staleSessionReason } from './session-currency';

describe('staleSessionReason: what the read side drops', () => {
  const view = (attempts: number, instanceId?: string) => ({
    agentId: 'a-1',
    attempts,
    ...(instanceId ? { instanceId } : {}),
  });

  it('accepts the current session, and anything for an agent it has no view of yet', () => {
    expect(staleSessionReason(view(2, 'sa-2'), { attempt: 2, instanceId: 'sa-2' })).toBeUndefined();
    expect(staleSessionReason(undefined, { attempt: 1, instanceId: 'sa-1' })).toBeUndefined();
  });

  it('accepts the current attempt before the view knows where it runs (starting)', () => {
    expect(staleSessionReason(view(2), { attempt: 2, instanceId: 'sa-2' })).toBeUndefined();
  });

  it('accepts a newer attempt than the view: the view has not caught up with the restart', () => {
    expect(staleSessionReason(view(2), { attempt: 3, instanceId: 'sa-3' })).toBeUndefined();
  });

  it('drops an older attempt, wherever it runs', () => {
    expect(staleSessionReason(view(2), { attempt: 1, instanceId: 'sa-1' })).toMatch(/attempt 1 of a-1 is stale/);
    expect(staleSessionReason(view(2, 'sa-1'), { attempt: 1, instanceId: 'sa-1' })).toMatch(/stale/);
  });

  it('drops the current attempt sent from another instance than the one it was placed on', () => {
    expect(staleSessionReason(view(2, 'sa-2'), { attempt: 2, instanceId: 'sa-1' })).toMatch(
      /runs on sa-2, not on sa-1/,
    );
  });

  it('drops a stale session of an earlier run, whose attempt can be higher after a new start', () => {
    // Run 1 reached attempt 3 on sa-1; the user started the agent again: attempt 1, on sa-2.
    expect(staleSessionReason(view(1, 'sa-2'), { attempt: 3, instanceId: 'sa-1' })).toMatch(/runs on sa-2/);
  });
});
