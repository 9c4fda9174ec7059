import { describe, expect, it } from '@jest/globals';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentCommand, AgentView, Page, ReadQuery } from '@drover/contracts';
import { ApiError } from '../infrastructure/api-error';
import type { BusClients, CommandResult } from '../infrastructure/bus-clients';
import { runBulkAction } from './bulk-actions';

/** A read side of `count` agents (`a-000`...), paged as the persistence agent pages them, and an engine. */
function fakeClients(count: number, answer: (command: AgentCommand) => Promise<CommandResult>) {
  const ids = Array.from({ length: count }, (_, n) => `a-${String(n).padStart(3, '0')}`);
  const sent: AgentCommand[] = [];
  const queries: ReadQuery[] = [];
  const clients = {
    ask: async (query: ReadQuery): Promise<Page<AgentView>> => {
      queries.push(query);
      assert(query.query === 'agent.list');
      const from = query.cursor ? ids.indexOf(query.cursor) + 1 : 0;
      const items = ids.slice(from, from + query.limit).map((agentId) => ({ agentId, status: 'running' }) as AgentView);
      const more = from + query.limit < ids.length;
      return { items, nextCursor: more ? items.at(-1)!.agentId : null };
    },
    send: async (command: AgentCommand) => {
      sent.push(command);
      return answer(command);
    },
  } as unknown as BusClients;
  return { clients, sent, queries };
}

function assert(condition: boolean): asserts condition {
  if (!condition) throw new Error('unexpected query');
}

const paused = (command: AgentCommand): CommandResult => ({
  ok: true,
  commandId: command.messageId,
  agentId: command.agentId,
  outcome: 'accepted',
  view: { agentId: command.agentId, status: 'paused', attempts: 1, version: 3 },
});

describe('bulk actions', () => {
  it('refuses a selector matching more than 1000 agents with a 400 naming selector, before sending anything', async () => {
    const { clients, sent } = fakeClients(1_001, async (c) => paused(c));
    const refusal = await runBulkAction(clients, { action: 'pause', selector: { all: true } }).catch((e: unknown) => e);
    expect(refusal).toBeInstanceOf(ApiError);
    expect((refusal as ApiError).status).toBe(400);
    expect((refusal as ApiError).details).toEqual([{ field: 'selector', message: expect.stringMatching(/1000/) }]);
    expect(sent).toEqual([]);
  });

  it('acts on exactly 1000 across pages, at most 8 commands at a time, answering each in id order', async () => {
    let inFlight = 0;
    let most = 0;
    const { clients, sent, queries } = fakeClients(1_000, async (command) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await sleep(1);
      inFlight -= 1;
      return paused(command);
    });
    const answer = await runBulkAction(clients, {
      action: 'pause',
      selector: { label: { team: 'growth' }, status: 'running' },
      reason: 'maintenance',
    });
    expect(queries.length).toBe(2);
    expect(queries[0]).toMatchObject({ labels: { team: 'growth' }, status: 'running' });
    expect(answer.matched).toBe(1_000);
    expect(answer.results.map((r) => r.agentId)).toEqual(sent.map((c) => c.agentId).sort());
    expect(answer.results[0]).toMatchObject({ agentId: 'a-000', ok: true, status: 'paused', outcome: 'accepted' });
    expect(sent.every((c) => c.type === 'agent.pause' && c.payload.reason === 'maintenance')).toBe(true);
    expect(most).toBeLessThanOrEqual(8);
    expect(most).toBeGreaterThan(1);
  });

  it('answers each agent: a rejection, a pending command and an unreachable bus are results, not a failure', async () => {
    const { clients } = fakeClients(3, async (command) => {
      if (command.agentId === 'a-000') {
        return {
          ok: false,
          commandId: command.messageId,
          agentId: command.agentId,
          error: { code: 'agent_not_found', message: 'gone' },
        };
      }
      if (command.agentId === 'a-001') return { pending: true, commandId: command.messageId };
      throw new ApiError(503, 'unavailable', 'the bus is not reachable');
    });
    const answer = await runBulkAction(clients, { action: 'restart', selector: { behavior: 'http-monitor' } });
    expect(answer.results.map((r) => [r.agentId, r.ok, r.outcome, r.error?.code])).toEqual([
      ['a-000', false, undefined, 'agent_not_found'],
      ['a-001', true, 'pending', undefined],
      ['a-002', false, undefined, 'unavailable'],
    ]);
  });
});
