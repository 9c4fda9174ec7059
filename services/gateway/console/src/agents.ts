import { call } from './api';
import type { AgentAction, AgentStatus, AgentView, CommandAnswer, FeedEntry } from './types';

/**
 * The actions worth offering for an agent in this status (docs/acting-on-agents.md); the API
 * still decides, and answers a no-op or a 409 that says why.
 */
export function actionsFor(status: string): AgentAction[] {
  switch (status as AgentStatus) {
    case 'running':
    case 'starting':
      return ['stop', 'restart', 'pause'];
    case 'paused':
      return ['resume', 'stop', 'restart'];
    case 'queued':
    case 'interrupted':
      return ['stop', 'restart'];
    case 'stopping':
    case 'stopped':
    case 'failed':
      return ['restart'];
    default:
      return [];
  }
}

/** Sends one action: stop is `DELETE /api/agents/{id}`, the others `POST /api/agents/{id}/{action}`. */
export function act(agentId: string, action: AgentAction): Promise<CommandAnswer> {
  const path = `/api/agents/${encodeURIComponent(agentId)}`;
  return action === 'stop'
    ? call<CommandAnswer>(`${path}?reason=${encodeURIComponent('stopped from the console')}`, { method: 'DELETE' })
    : call<CommandAnswer>(`${path}/${action}`, { method: 'POST' });
}

/**
 * Labels as typed: `key=value` pairs separated by commas, spaces or new lines. Returns the
 * labels, or the first pair that is not `key=value`.
 */
export function parseLabels(text: string): { labels: Record<string, string> } | { error: string } {
  const labels: Record<string, string> = {};
  for (const pair of text.split(/[\s,]+/).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0) return { error: `"${pair}" is not key=value` };
    labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return { labels };
}

export const formatLabels = (labels: Record<string, string> | undefined): string =>
  Object.entries(labels ?? {})
    .map(([key, value]) => `${key}=${value}`)
    .join(', ');

/** The value shown for a secret: the API already sends `***`; the console never shows more. */
export const MASK = '***';

/**
 * A copy of `config` with every field the behaviour's schema marks secret masked, whatever the
 * API sent (it masks them already; this keeps the console safe against a field it missed).
 */
export function maskSecrets(
  config: Record<string, unknown> | undefined,
  secretFields: readonly string[],
): Record<string, unknown> | undefined {
  if (!config) return config;
  const copy: Record<string, unknown> = { ...config };
  for (const field of secretFields) if (copy[field] !== undefined && copy[field] !== null) copy[field] = MASK;
  return copy;
}

/** Sorts a page of rows by one field, missing values last. */
export function sortBy<T>(rows: readonly T[], field: keyof T, direction: 'asc' | 'desc'): T[] {
  const sign = direction === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const x = a[field];
    const y = b[field];
    if (x === y) return 0;
    if (x === undefined || x === null) return 1;
    if (y === undefined || y === null) return -1;
    return (x < y ? -1 : 1) * sign;
  });
}

/**
 * The view as an event from the stream leaves it, for what the event says plainly (the status,
 * when it started or stopped, where it runs); the page reads the whole view again right after.
 */
export function applyEvent(view: AgentView, entry: FeedEntry): AgentView {
  if (entry.kind !== 'event') return view;
  const data = (entry.data ?? {}) as Record<string, unknown>;
  const next: AgentView = { ...view, ...(entry.status ? { status: entry.status as AgentStatus } : {}) };
  if (entry.version !== undefined && entry.version > view.version) next.version = entry.version;
  if (entry.type === 'agent.started') {
    next.startedAt = entry.occurredAt;
    if (typeof data.instanceId === 'string') next.instanceId = data.instanceId;
    if (typeof data.attempt === 'number') next.attempts = data.attempt;
  }
  if (entry.type === 'agent.stopped') next.stoppedAt = entry.occurredAt;
  if (entry.type === 'agent.failed' && typeof data.error === 'string') next.lastError = data.error;
  if (entry.type === 'agent.labeled' && typeof data.labels === 'object' && data.labels !== null) {
    next.labels = data.labels as Record<string, string>;
  }
  return next;
}
