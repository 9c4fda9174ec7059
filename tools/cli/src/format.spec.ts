import { describe, expect, it } from '@jest/globals';
import { streamLine } from './format';

describe('streamLine (events --follow, agents logs --follow for people)', () => {
  it('shows an event with the status it leaves the agent in and its data', () => {
    const line = streamLine({
      id: '7',
      event: 'agent.started',
      data: {
        id: '7',
        kind: 'event',
        type: 'agent.started',
        agentId: 'mon-1',
        occurredAt: '2026-01-01T00:00:00Z',
        status: 'running',
        data: { attempt: 1 },
      },
    });
    expect(line).toBe('2026-01-01T00:00:00Z  mon-1  agent.started  -> running  {"attempt":1}');
  });

  it('shows an activity as the activity log does: FAIL when not ok, its message and details', () => {
    const entry = (data: Record<string, unknown>) => ({
      event: 'activity',
      data: {
        id: '8',
        kind: 'activity',
        type: 'http.check',
        agentId: 'mon-1',
        occurredAt: '2026-01-01T00:00:01Z',
        data,
      },
    });
    expect(streamLine(entry({ ok: true, details: { status: 200 }, instanceId: 'sa-1' }))).toBe(
      '2026-01-01T00:00:01Z  mon-1  http.check  {"status":200}',
    );
    expect(streamLine(entry({ ok: false, message: 'HTTP 503', instanceId: 'sa-1' }))).toBe(
      '2026-01-01T00:00:01Z  mon-1  http.check  FAIL HTTP 503',
    );
  });

  it('prints a message whose data is not JSON as it came', () => {
    expect(streamLine({ event: 'note', data: 'plain text' })).toBe('note  plain text');
  });
});
