import { fetchEventSource } from '@microsoft/fetch-event-source';
import { authHeaders, failure } from './api';
import type { ActivityView, FeedEntry } from './types';

export type FeedState = 'connecting' | 'live' | 'retrying' | 'closed';

export interface FeedHandlers {
  entry: (entry: FeedEntry) => void;
  state: (state: FeedState, detail?: string) => void;
}

/** A failure not worth retrying (a refused key, a bad filter): the feed closes and says why. */
class FatalFeedError extends Error {}

/**
 * Follows the live stream at `path` (server-sent events) until the returned function is called.
 * `EventSource` cannot send the key header, so this is fetch-based
 * (`@microsoft/fetch-event-source`); after a dropped connection it reconnects with
 * `Last-Event-ID`, so the server resumes after the last entry seen and nothing is missed or
 * repeated. A 401 signs out; other 4xx answers close the feed with the API's message.
 */
export function followFeed(path: string, handlers: FeedHandlers): () => void {
  const controller = new AbortController();
  handlers.state('connecting');
  fetchEventSource(path, {
    headers: authHeaders(),
    signal: controller.signal,
    // Keep following while the tab is hidden: the timeline must not skip what happened meanwhile.
    openWhenHidden: true,
    async onopen(res) {
      if (res.ok && res.headers.get('content-type')?.startsWith('text/event-stream')) {
        handlers.state('live');
        return;
      }
      const error = await failure(res, true);
      if (res.status >= 400 && res.status < 500 && res.status !== 429) throw new FatalFeedError(error.describe());
      throw new Error(error.describe());
    },
    onmessage(message) {
      if (!message.data) return;
      try {
        handlers.entry(JSON.parse(message.data) as FeedEntry);
      } catch {
        // A message that is not a feed entry: nothing to show.
      }
    },
    onclose() {
      // The server ended the stream (a restart, a balancer's timeout): resume where it stopped.
      throw new Error('the stream closed');
    },
    onerror(error: unknown) {
      if (error instanceof FatalFeedError) throw error;
      handlers.state('retrying', error instanceof Error ? error.message : String(error));
      return 2_000;
    },
  }).catch((error: unknown) => {
    if (!controller.signal.aborted) handlers.state('closed', error instanceof Error ? error.message : String(error));
  });
  return () => controller.abort();
}

/**
 * Adds entries to a timeline, newest first, each once, keeping at most `limit`. An entry is
 * known by its id (a resumed stream may repeat the entry it resumed from); an entry of the
 * activity log and one of the stream are the same when they have the same type and time (their
 * ids differ).
 */
export function addEntries(timeline: readonly FeedEntry[], entries: readonly FeedEntry[], limit = 500): FeedEntry[] {
  const seen = new Set(timeline.flatMap(keysOf));
  const fresh = entries.filter((entry) => {
    const [id, same] = keysOf(entry);
    if (seen.has(id!) || seen.has(counterpart(same!))) return false;
    seen.add(id!).add(same!);
    return true;
  });
  if (fresh.length === 0) return timeline as FeedEntry[];
  const merged = [...fresh.reverse(), ...timeline];
  merged.sort((a, b) => (a.occurredAt < b.occurredAt ? 1 : a.occurredAt > b.occurredAt ? -1 : 0));
  return merged.slice(0, limit);
}

const LOG_PREFIX = 'log:';
/** Its id, and its type and time under the name of its source (the log or the stream). */
const keysOf = (entry: FeedEntry): string[] => [
  `id:${entry.id}`,
  `${entry.id.startsWith(LOG_PREFIX) ? 'log' : 'stream'}:${entry.type}|${entry.occurredAt}`,
];
/** The same type and time as seen from the other source. */
const counterpart = (key: string): string =>
  key.startsWith('log:') ? `stream:${key.slice(4)}` : `log:${key.slice('stream:'.length)}`;

/**
 * The activity log (`GET /api/agents/{id}/activities`, which holds the agent's events too) as
 * timeline entries: what happened before the stream was opened, which starts with what happens
 * next. They carry no status; entries from the stream do.
 */
export function historyEntries(activities: readonly ActivityView[]): FeedEntry[] {
  return activities.map((activity) => ({
    id: `${LOG_PREFIX}${activity.id}`,
    kind: activity.kind.startsWith('agent.') ? 'event' : 'activity',
    type: activity.kind,
    agentId: activity.agentId,
    occurredAt: activity.at,
    data: {
      ok: activity.ok,
      ...(activity.message ? { message: activity.message } : {}),
      ...(activity.details ? { details: activity.details } : {}),
    },
  }));
}

/** A one-line summary of an entry's data: an activity's outcome and details, an event's reason or error. */
export function summarize(entry: FeedEntry): string {
  const data = (entry.data ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  if (entry.kind === 'activity') {
    if (data.ok === false) parts.push('failed');
    if (typeof data.message === 'string') parts.push(data.message);
    const details = (data.details ?? {}) as Record<string, unknown>;
    parts.push(...scalars(details, Object.keys(details)).slice(0, 4));
    return parts.join(' · ');
  }
  return scalars(data, ['reason', 'error', 'attempt', 'instanceId']).join(' · ');
}

/** `name: value` of the fields that hold a string, a number or a boolean. */
function scalars(record: Record<string, unknown>, names: readonly string[]): string[] {
  return names.flatMap((name) => {
    const value = record[name];
    return ['string', 'number', 'boolean'].includes(typeof value) ? [`${name}: ${String(value)}`] : [];
  });
}
