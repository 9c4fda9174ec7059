import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { Collections, type AgentCommand, type AgentView } from '@drover/contracts';
import type { Bus } from '@drover/messaging';
import { silentLogger } from '@drover/runtime';
import { openSqliteStore } from '@drover/store/sqlite';
import { SchedulerReadSide } from '../infrastructure/read-side';
import { Scheduler } from '../scheduler';
import { runSchedules } from './run-schedules';

// 08:00 and 18:00 in Paris are 07:00 and 17:00 UTC in winter, 06:00 and 16:00 in summer.
const schedule = { start: '0 8 * * *', stop: '0 18 * * *', timezone: 'Europe/Paris' };
const at = (iso: string) => new Date(iso);
const agent = (agentId: string, status: AgentView['status'], fields: Partial<AgentView> = {}): AgentView => ({
  agentId,
  status,
  attempts: 1,
  version: 4,
  schedule,
  ...fields,
});
const summary = (commands: AgentCommand[]) => commands.map((c) => [c.type, c.agentId, c.messageId, c.payload]);
const run = (agents: AgentView[], now: string, lastTickAt: string) =>
  runSchedules({ agents, sessionAgents: [] }, at(now), at(lastTickAt));

describe('scheduler: agent schedules', () => {
  it('wakes stopped and failed agents at a start occurrence inside the window, with occurrence ids', () => {
    const agents = [agent('s', 'stopped'), agent('f', 'failed'), agent('r', 'running'), agent('i', 'interrupted')];
    const commands = run(agents, '2026-01-05T07:00:00.400Z', '2026-01-05T06:59:59.400Z');
    const occurrence = '2026-01-05T07:00:00.000Z';
    expect(summary(commands)).toEqual([
      ['agent.wake', 's', `scheduler:wake:s:${occurrence}`, { occurrence }],
      ['agent.wake', 'f', `scheduler:wake:f:${occurrence}`, { occurrence }],
    ]);
    expect(commands[0]?.occurredAt).toBe('2026-01-05T07:00:00.400Z');
  });

  it('publishes nothing for occurrences outside (lastTickAt, now]', () => {
    const agents = [agent('s', 'stopped'), agent('r', 'running')];
    expect(run(agents, '2026-01-05T07:00:01.400Z', '2026-01-05T07:00:00.400Z')).toEqual([]);
    expect(run(agents, '2026-01-05T06:59:59.900Z', '2026-01-05T06:59:58.900Z')).toEqual([]);
    expect(run(agents, '2026-01-05T12:00:00.000Z', '2026-01-05T11:59:58.000Z')).toEqual([]);
    // The bounds: an occurrence at lastTickAt was the previous window's; one at now is this one's.
    expect(run(agents, '2026-01-05T07:00:01.000Z', '2026-01-05T07:00:00.000Z')).toEqual([]);
    expect(run(agents, '2026-01-05T07:00:00.000Z', '2026-01-05T06:59:59.000Z').length).toBe(1);
  });

  it('stops awake agents at a stop occurrence with the scheduled reason', () => {
    const agents = ['queued', 'starting', 'running', 'paused', 'interrupted', 'stopping', 'stopped', 'failed'].map(
      (status) => agent(status, status as AgentView['status']),
    );
    const occurrence = '2026-01-05T17:00:00.000Z';
    expect(summary(run(agents, '2026-01-05T17:00:00.300Z', '2026-01-05T16:59:59.300Z'))).toEqual(
      ['queued', 'starting', 'running', 'paused', 'interrupted'].map((id) => [
        'agent.stop',
        id,
        `scheduler:scheduled-stop:${id}:${occurrence}`,
        { reason: 'scheduled stop' },
      ]),
    );
  });

  it('follows the time zone across daylight saving time, and UTC without one', () => {
    expect(run([agent('s', 'stopped')], '2026-07-06T06:00:00.500Z', '2026-07-06T05:59:59.500Z').length).toBe(1);
    expect(run([agent('s', 'stopped')], '2026-07-06T07:00:00.500Z', '2026-07-06T06:59:59.500Z').length).toBe(0);
    const utc = agent('u', 'stopped', { schedule: { start: '0 8 * * *' } });
    expect(run([utc], '2026-07-06T08:00:00.500Z', '2026-07-06T07:59:59.500Z').length).toBe(1);
  });

  it('ignores agents without a schedule or without the matching half of it', () => {
    const { schedule: _none, ...plain } = agent('p', 'stopped');
    const stopOnly = agent('o', 'stopped', { schedule: { stop: '0 18 * * *' } });
    expect(run([plain, stopOnly], '2026-01-05T07:00:00.400Z', '2026-01-05T06:59:59.400Z')).toEqual([]);
  });

  it('gives overlapping windows (another tick, a new leader) the same ids', () => {
    const agents = [agent('s', 'stopped')];
    const old = run(agents, '2026-01-05T07:00:00.400Z', '2026-01-05T06:59:59.400Z');
    const takeover = run(agents, '2026-01-05T07:00:01.000Z', '2026-01-05T06:59:59.000Z');
    expect(summary(takeover)).toEqual(summary(old));
  });
});

describe('scheduler: schedules in the tick', () => {
  it('reads scheduled sleeping agents, looks back two ticks after taking over, then never replays', async () => {
    const store = openSqliteStore({ filename: ':memory:' });
    const agents = store.documents.collection(Collections.agents);
    const { schedule: _none, ...plain } = agent('plain', 'failed');
    await agents.insert({ _id: 'sleepy', ...agent('sleepy', 'stopped') });
    await agents.insert({ _id: 'plain', ...plain });
    await agents.insert({ _id: 'busy', ...agent('busy', 'running', { instanceId: 'sa-1' }) });
    const scheduled = await new SchedulerReadSide(store).scheduled();
    expect(scheduled.map((a) => a.agentId).sort()).toEqual(['busy', 'sleepy']);
    const published: string[] = [];
    const bus = {
      publish: async (_x: string, _k: string, body: AgentCommand) => void published.push(body.messageId),
      ping: async () => undefined,
    };
    let now = at('2026-01-05T07:00:01.500Z'); // the old leader died just before 08:00 Paris
    const scheduler = new Scheduler(
      { bus: bus as unknown as Bus, store, clock: { now: () => now }, logger: silentLogger() },
      { tickMs: 1_000, startTimeoutMs: 60_000 },
    );
    await scheduler.tick();
    expect(published).toEqual(['scheduler:wake:sleepy:2026-01-05T07:00:00.000Z']);
    now = at('2026-01-05T07:00:02.500Z');
    await scheduler.tick();
    assert.equal(published.length, 1, 'the next tick starts where the last one ended');
    await scheduler.stop();
    await store.close();
  });
});
