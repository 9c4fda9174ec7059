import { afterEach, describe, expect, it, jest } from '@jest/globals';
import { ApiFailure, query } from './api';
import { actionsFor, applyEvent, maskSecrets, parseLabels, sortBy } from './agents';
import { addEntries, historyEntries, summarize } from './feed';
import { parseRoute } from './route';
import { configTemplate, secretFieldsOf } from './schema';
import { throttle } from './throttle';
import type { AgentView, FeedEntry, JsonSchema } from './types';

const entry = (id: string, occurredAt: string, more: Partial<FeedEntry> = {}): FeedEntry => ({
  id,
  kind: 'event',
  type: 'agent.started',
  agentId: 'a-1',
  occurredAt,
  data: {},
  ...more,
});

describe('the console timeline', () => {
  it('shows each entry once, newest first, even when a resumed stream repeats one', () => {
    let timeline = addEntries([], [entry('1', '2026-01-01T00:00:01Z'), entry('2', '2026-01-01T00:00:02Z')]);
    timeline = addEntries(timeline, [entry('2', '2026-01-01T00:00:02Z'), entry('3', '2026-01-01T00:00:03Z')]);
    expect(timeline.map((e) => e.id)).toEqual(['3', '2', '1']);
  });

  it('keeps arrival order among entries of the same instant, and at most `limit` entries', () => {
    const same = '2026-01-01T00:00:05Z';
    const timeline = addEntries([entry('a', same)], [entry('b', same), entry('c', same)], 2);
    expect(timeline.map((e) => e.id)).toEqual(['c', 'b']);
  });

  it("shows the activity log's copy of a streamed entry once, keeping the streamed one (it has the status)", () => {
    const live = entry('41', '2026-01-01T00:00:02.000Z', { status: 'running' });
    const history = historyEntries([
      { id: '2026-01-01T00:00:02.000Z|a-1:2:0', agentId: 'a-1', kind: 'agent.started', ok: true, at: live.occurredAt },
      {
        id: '2026-01-01T00:00:01.000Z|m-1',
        agentId: 'a-1',
        kind: 'page.check',
        ok: false,
        message: 'timeout',
        at: '2026-01-01T00:00:01.000Z',
      },
    ]);
    const timeline = addEntries(addEntries([], [live]), history);
    expect(timeline.map((e) => [e.type, e.kind, e.status])).toEqual([
      ['agent.started', 'event', 'running'],
      ['page.check', 'activity', undefined],
    ]);
    expect(summarize(timeline[1]!)).toBe('failed · timeout');
    // And the other way round: history first, then the stream sends the same event.
    expect(addEntries(addEntries([], history), [live]).filter((e) => e.type === 'agent.started')).toHaveLength(1);
  });

  it('updates the shown agent from an event at once: status, start, host, stop', () => {
    const view: AgentView = { agentId: 'a-1', status: 'starting', attempts: 1, version: 1 };
    const started = applyEvent(
      view,
      entry('7', '2026-01-01T00:00:02.000Z', {
        status: 'running',
        version: 2,
        data: { instanceId: 'vm-1', attempt: 1 },
      }),
    );
    expect(started).toMatchObject({
      status: 'running',
      startedAt: '2026-01-01T00:00:02.000Z',
      instanceId: 'vm-1',
      version: 2,
    });
    const stopped = applyEvent(
      started,
      entry('9', '2026-01-01T00:00:05.000Z', { type: 'agent.stopped', status: 'stopped' }),
    );
    expect(stopped).toMatchObject({ status: 'stopped', stoppedAt: '2026-01-01T00:00:05.000Z' });
    // An activity changes nothing.
    expect(applyEvent(stopped, entry('10', 'x', { kind: 'activity', type: 'page.check', data: { ok: true } }))).toEqual(
      stopped,
    );
  });

  it("summarizes an event's reason and an activity's failure", () => {
    expect(summarize(entry('1', 'x', { type: 'agent.stopped', data: { reason: 'by hand' } }))).toBe('reason: by hand');
    expect(
      summarize(entry('2', 'x', { kind: 'activity', type: 'http.check', data: { ok: false, message: 'timeout' } })),
    ).toBe('failed · timeout');
    const check = entry('3', 'x', {
      kind: 'activity',
      type: 'page.check',
      data: { ok: true, instanceId: 'vm-1', details: { status: 200, title: 'Home', changed: false, headers: {} } },
    });
    expect(summarize(check)).toBe('status: 200 · title: Home · changed: false');
  });
});

describe('the console pages and filters', () => {
  it('reads the page and id from the fragment, the fleet by default', () => {
    expect(parseRoute('#/agents/a%2F1')).toEqual(['agents', 'a/1']);
    expect(parseRoute('#/dead-letters')).toEqual(['dead-letters', undefined]);
    expect(parseRoute('')).toEqual(['agents', undefined]);
    expect(parseRoute('#/nowhere/x')).toEqual(['agents', undefined]);
  });

  it('parses labels as key=value pairs and names a pair that is not one', () => {
    expect(parseLabels('team=growth, env=prod\nx=a=b')).toEqual({ labels: { team: 'growth', env: 'prod', x: 'a=b' } });
    expect(parseLabels('')).toEqual({ labels: {} });
    expect(parseLabels('team=growth oops')).toEqual({ error: '"oops" is not key=value' });
    expect(parseLabels('=x')).toEqual({ error: '"=x" is not key=value' });
  });

  it('builds query strings from the set filters only, repeating list values', () => {
    expect(query({ status: 'running', behavior: '', label: ['a=1', 'b=2'], cursor: undefined, limit: 20 })).toBe(
      '?status=running&label=a%3D1&label=b%3D2&limit=20',
    );
    expect(query({ status: '' })).toBe('');
  });

  it('sorts a page by a column, missing values last in either direction', () => {
    const rows = [{ id: 'b', at: '2' }, { id: 'a' }, { id: 'c', at: '1' }] as { id: string; at?: string }[];
    expect(sortBy(rows, 'at', 'asc').map((r) => r.id)).toEqual(['c', 'b', 'a']);
    expect(sortBy(rows, 'at', 'desc').map((r) => r.id)).toEqual(['b', 'c', 'a']);
  });

  it('offers resume for a paused agent, pause only where it is not a no-op, nothing for an idle one', () => {
    expect(actionsFor('paused')).toEqual(['resume', 'stop', 'restart']);
    expect(actionsFor('running')).toEqual(['stop', 'restart', 'pause']);
    expect(actionsFor('queued')).toEqual(['stop', 'restart']);
    expect(actionsFor('stopping')).toEqual(['restart']);
    expect(actionsFor('idle')).toEqual([]);
  });

  it('names each field of a 400 in one line', () => {
    const failure = new ApiFailure(400, 'invalid_request', 'invalid request', [
      { field: 'config.url', message: 'Invalid url' },
    ]);
    expect(failure.describe()).toBe('400 invalid_request: invalid request (config.url: Invalid url)');
  });
});

describe('the console keeps secrets out of sight', () => {
  const schema: JsonSchema = {
    type: 'object',
    required: ['url', 'intervalMs', 'password'],
    properties: {
      url: { type: 'string' },
      intervalMs: { type: 'integer', minimum: 500 },
      screenshot: { type: 'string', enum: ['never', 'always'], default: 'never' },
      selector: { type: 'string' },
      password: { type: 'string', writeOnly: true, 'x-drover-secret': true },
      script: { type: 'string', 'x-drover-secret': 'when secret is true' },
    },
  };

  it('asks for secret fields apart, and leaves them out of the config template', () => {
    expect(secretFieldsOf(schema)).toEqual(['password']);
    expect(configTemplate(schema)).toEqual({ url: '', intervalMs: 500, screenshot: 'never' });
  });

  it('masks the secret fields of a shown config, whatever the API sent', () => {
    expect(maskSecrets({ url: 'http://x', password: 'hunter2' }, ['password'])).toEqual({
      url: 'http://x',
      password: '***',
    });
    expect(maskSecrets(undefined, ['password'])).toBeUndefined();
  });
});

describe('the console reads the API again after events', () => {
  afterEach(() => void jest.useRealTimers());

  it('at once on the first event, and once more after a burst, never more than once a second', () => {
    jest.useFakeTimers();
    let reads = 0;
    const refresh = throttle(() => (reads += 1), 1_000);
    refresh.call();
    expect(reads).toBe(1);
    for (let i = 0; i < 5; i++) refresh.call();
    expect(reads).toBe(1);
    jest.advanceTimersByTime(1_000);
    expect(reads).toBe(2);
    jest.advanceTimersByTime(5_000);
    expect(reads).toBe(2);
    refresh.call();
    expect(reads).toBe(3);
    refresh.call();
    refresh.cancel();
    jest.advanceTimersByTime(5_000);
    expect(reads).toBe(3);
  });
});
