import { describe, expect, it } from '@jest/globals';
import { StartAgent } from './commands.schema';
import { jsonBoundProblem, Limits } from './limits';
import { PersistenceTask } from './persistence.schema';
import { Activity } from './reports.schema';

const start = (config: unknown) => ({
  messageId: 'm-1',
  type: 'agent.start',
  agentId: 'a-1',
  payload: { behavior: 'http-monitor', config },
});

/** `{"a":{"a":...}}`, `levels` objects deep. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = {};
  for (let i = 1; i < levels; i++) value = { a: value };
  return value;
}

function issuesOf(result: { success: boolean; error?: { issues: { path: (string | number)[]; message: string }[] } }) {
  return (result.error?.issues ?? []).map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('size limits of commands, reports and persistence tasks', () => {
  it('accepts a config up to Limits.configBytes and refuses a larger one, naming payload.config', () => {
    const fits = { text: 'x'.repeat(Limits.configBytes - 20) };
    expect(StartAgent.safeParse(start(fits)).success).toBe(true);
    const big = StartAgent.safeParse(start({ text: 'x'.repeat(Limits.configBytes) }));
    expect(issuesOf(big)).toEqual([expect.stringMatching(/^payload\.config: is \d+ bytes as JSON, more than 65536$/)]);
  });

  it('refuses a config nested deeper than Limits.jsonDepth, however deep, without overflowing the stack', () => {
    expect(StartAgent.safeParse(start(nested(Limits.jsonDepth))).success).toBe(true);
    for (const levels of [Limits.jsonDepth + 1, 200_000]) {
      const result = StartAgent.safeParse(start(nested(levels)));
      expect(issuesOf(result)).toEqual([`payload.config: nests deeper than ${Limits.jsonDepth} levels`]);
    }
  });

  it('measures multi-byte text in bytes', () => {
    expect(jsonBoundProblem({ t: 'é'.repeat(600) }, 1000)).toMatch(/more than 1000/);
    expect(jsonBoundProblem({ t: 'e'.repeat(600) }, 1000)).toBe(undefined);
  });

  it('bounds an activity: message characters and details bytes', () => {
    expect(Activity.safeParse({ kind: 'k', ok: true, message: 'm'.repeat(Limits.activityMessageChars) }).success).toBe(
      true,
    );
    expect(
      Activity.safeParse({ kind: 'k', ok: true, message: 'm'.repeat(Limits.activityMessageChars + 1) }).success,
    ).toBe(false);
    const details = { text: 'x'.repeat(Limits.activityDetailsBytes) };
    expect(issuesOf(Activity.safeParse({ kind: 'k', ok: true, details }))).toEqual([
      expect.stringMatching(/^details: is \d+ bytes as JSON/),
    ]);
  });

  it('refuses persistence filters nested beyond Limits.filterDepth before recursing into them', () => {
    let filter: unknown = { field: 'a', op: 'eq', value: 1 };
    for (let i = 0; i < 100_000; i++) filter = { not: filter };
    const result = PersistenceTask.safeParse({ op: 'find', collection: 'notes', filter });
    expect(issuesOf(result)).toEqual([`filter: filters nest at most ${Limits.filterDepth} levels of and/or/not`]);
    const wide = { and: Array.from({ length: Limits.listItems + 1 }, () => ({ field: 'a', op: 'eq', value: 1 })) };
    expect(PersistenceTask.safeParse({ op: 'count', collection: 'notes', filter: wide }).success).toBe(false);
  });

  it('refuses a persistence document larger than Limits.documentBytes', () => {
    const document = { text: 'x'.repeat(Limits.documentBytes) };
    const result = PersistenceTask.safeParse({ op: 'insert', collection: 'notes', document });
    expect(issuesOf(result)).toEqual([expect.stringMatching(/^document: is \d+ bytes as JSON/)]);
  });
});
