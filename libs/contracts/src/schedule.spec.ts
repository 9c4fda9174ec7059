import { describe, it } from 'node:test';
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
    assert.equal(rest.length, 0);
    assert.match(issue ?? '', /^payload\.schedule\.start: schedule\.start: invalid cron expression "61 \* \* \* \*"/);
    assert.match(issues({ stop: 'every evening' })[0] ?? '', /^payload\.schedule\.stop: schedule\.stop: invalid cron/);
  });

  it('refuses one-off dates, empty schedules, unknown fields and unknown time zones', () => {
    assert.match(issues({ start: '2027-01-01T00:00:00' })[0] ?? '', /^payload\.schedule\.start: .*not a recurring/);
    assert.match(issues({})[0] ?? '', /^payload\.schedule: a schedule needs a start or a stop/);
    assert.match(issues({ start: '0 8 * * *', every: 'day' })[0] ?? '', /^payload\.schedule: /);
    assert.match(
      issues({ start: '0 8 * * *', timezone: 'Mars/Olympus' })[0] ?? '',
      /^payload\.schedule\.timezone: schedule\.timezone: unknown IANA time zone "Mars\/Olympus"/,
    );
  });

  it('is part of the start payload (hence profiles), the start-requested event and the view', () => {
    const schedule = { start: '0 8 * * *' };
    assert.deepEqual(StartAgentPayload.parse({ behavior: 'b', schedule }).schedule, schedule);
    const event = { type: 'agent.start-requested', data: { behavior: 'b', config: {}, attempt: 1, schedule } };
    assert.equal(AgentEvent.safeParse(event).success, true);
    assert.equal(
      AgentView.safeParse({ agentId: 'a', status: 'stopped', attempts: 1, version: 2, schedule }).success,
      true,
    );
    assert.equal(AgentSchedule.safeParse({ stop: 'nope' }).success, false);
  });

  it('accepts the scheduler wake command with an ISO occurrence only', () => {
    const wake = {
      messageId: 'w',
      type: 'agent.wake',
      agentId: 'a-1',
      payload: { occurrence: '2026-01-01T08:00:00.000Z' },
    };
    assert.equal(AgentCommand.safeParse(wake).success, true);
    assert.equal(AgentCommand.safeParse({ ...wake, payload: {} }).success, false);
    assert.equal(AgentCommand.safeParse({ ...wake, payload: { occurrence: 'soon' } }).success, false);
  });
});
