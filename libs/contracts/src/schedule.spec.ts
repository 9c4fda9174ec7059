import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { AgentCommand, AgentSchedule, StartAgentPayload } from './commands.schema';
import { AgentEvent } from './events.schema';
import { AgentView } from './views.schema';

const start = (schedule: unknown) => ({
  messageId: 'm-1',
  type: 'agent.start',
  agentId: 'a-1',
  payload: { behavior: 'http-monitor', schedule },
});

/** The issues of a refused start, as `path: message`. */
function issues(schedule: unknown): string[] {
  const result = AgentCommand.safeParse(start(schedule));
  assert.equal(result.success, false, `expected ${JSON.stringify(schedule)} to be refused`);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('agent schedule contract', () => {
  it('accepts 5- and 6-field cron expressions, a start or a stop alone, and IANA time zones', () => {
    for (const schedule of [
      { start: '0 8 * * 1-5', stop: '0 18 * * 1-5', timezone: 'Europe/Paris' },
      { start: '*/30 * * * * *' },
      { stop: '@daily' },
      { start: '0 8 * * *', timezone: 'UTC' },
    ]) {
      assert.equal(AgentCommand.safeParse(start(schedule)).success, true, JSON.stringify(schedule));
    }
  });

  it('names the field of a bad cron expression', () => {
    const [issue, ...rest] = issues({ start: '61 * * * *', stop: '0 18 * * *' });
    expect(rest.length).toBe(0);
    expect(issue ?? '').toMatch(/^payload\.schedule\.start: schedule\.start: invalid cron expression "61 \* \* \* \*"/);
    expect(issues({ stop: 'every evening' })[0] ?? '').toMatch(
      /^payload\.schedule\.stop: schedule\.stop: invalid cron/,
    );
  });

  it('refuses one-off dates, empty schedules, unknown fields and unknown time zones', () => {
    expect(issues({ start: '2027-01-01T00:00:00' })[0] ?? '').toMatch(/^payload\.schedule\.start: .*not a recurring/);
    expect(issues({})[0] ?? '').toMatch(/^payload\.schedule: a schedule needs a start or a stop/);
    expect(issues({ start: '0 8 * * *', every: 'day' })[0] ?? '').toMatch(/^payload\.schedule: /);
    expect(issues({ start: '0 8 * * *', timezone: 'Mars/Olympus' })[0] ?? '').toMatch(
      /^payload\.schedule\.timezone: schedule\.timezone: unknown IANA time zone "Mars\/Olympus"/,
    );
  });

  it('is part of the start payload (hence profiles), the start-requested event and the view', () => {
    const schedule = { start: '0 8 * * *' };
    expect(StartAgentPayload.parse({ behavior: 'b', schedule }).schedule).toEqual(schedule);
    const event = { type: 'agent.start-requested', data: { behavior: 'b', config: {}, attempt: 1, schedule } };
    expect(AgentEvent.safeParse(event).success).toBe(true);
    expect(AgentView.safeParse({ agentId: 'a', status: 'stopped', attempts: 1, version: 2, schedule }).success).toBe(
      true,
    );
    expect(AgentSchedule.safeParse({ stop: 'nope' }).success).toBe(false);
  });

  it('accepts the scheduler wake command with an ISO occurrence only', () => {
    const wake = {
      messageId: 'w',
      type: 'agent.wake',
      agentId: 'a-1',
      payload: { occurrence: '2026-01-01T08:00:00.000Z' },
    };
    expect(AgentCommand.safeParse(wake).success).toBe(true);
    expect(AgentCommand.safeParse({ ...wake, payload: {} }).success).toBe(false);
    expect(AgentCommand.safeParse({ ...wake, payload: { occurrence: 'soon' } }).success).toBe(false);
  });
});
