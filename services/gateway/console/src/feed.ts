import { fetchEventSource } from '@microsoft/fetch-event-source';
import { authHeaders, failure } from './api';
import type { FeedEntry } from './types';

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
 * Adds entries to a timeline, newest first, each once (a resumed stream may repeat the entry
 * it resumed from), keeping at most `limit`.
 */
export function addEntries(timeline: readonly FeedEntry[], entries: readonly FeedEntry[], limit = 500): FeedEntry[] {
  const seen = new Set(timeline.map((entry) => entry.id));
  const fresh = entries.filter((entry) => !seen.has(entry.id) && seen.add(entry.id));
  if (fresh.length === 0) return timeline as FeedEntry[];
  const merged = [...fresh.reverse(), ...timeline];
  merged.sort((a, b) => (a.occurredAt < b.occurredAt ? 1 : a.occurredAt > b.occurredAt ? -1 : 0));
  return merged.slice(0, limit);
}

/** A one-line summary of an entry's data: an activity's message, an event's reason or error. */
export function summarize(entry: FeedEntry): string {
  const data = (entry.data ?? {}) as Record<string, unknown>;
  const parts: string[] = [];
  if (entry.kind === 'activity') {
    if (data.ok === false) parts.push('failed');
    if (typeof data.message === 'string') parts.push(data.message);
  }
  for (const field of ['reason', 'error', 'instanceId', 'attempt']) {
    const value = data[field];
    if (typeof value === 'string' || typeof value === 'number') parts.push(`${field}: ${value}`);
  }
  return parts.join(' · ');
}
