import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { call, describeError, imageUrl } from '../api';
import { act, actionsFor, applyEvent, formatLabels, maskSecrets, parseLabels } from '../agents';
import { ErrorLine, Json, Notice, StatusBadge, Time } from '../components';
import { addEntries, followFeed, historyEntries, summarize, type FeedState } from '../feed';
import { throttle } from '../throttle';
import type { ActivityView, AgentAction, AgentView, Behavior, FeedEntry, Page } from '../types';

/** Entries of the activity log shown before the live ones. */
const HISTORY = 30;

/**
 * One agent: its status and actions, its configuration (secrets masked), its latest screenshot,
 * and a live timeline of its events and activities from the stream.
 */
export function AgentPage({ agentId }: { agentId: string }) {
  const path = `/api/agents/${encodeURIComponent(agentId)}`;
  const [view, setView] = useState<AgentView>();
  const [secretFields, setSecretFields] = useState<string[]>([]);
  const [timeline, setTimeline] = useState<FeedEntry[]>([]);
  const [feed, setFeed] = useState<{ state: FeedState; detail?: string }>({ state: 'connecting' });
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();

  const load = useCallback(async () => {
    try {
      setView(await call<AgentView>(path));
      setError(undefined);
    } catch (failure) {
      setError(describeError(failure));
    }
  }, [path]);
  useEffect(() => void load(), [load]);

  // The behaviour's schema names the secret fields, which are masked whatever the API sent.
  useEffect(() => {
    if (!view?.behavior) return;
    call<{ items: Behavior[] }>('/api/behaviors').then(
      (list) => {
        const properties = list.items.find((b) => b.name === view.behavior)?.configSchema.properties ?? {};
        setSecretFields(Object.keys(properties).filter((name) => properties[name]?.['x-drover-secret'] === true));
      },
      () => undefined,
    );
  }, [view?.behavior]);

  // The timeline, live; events also refresh the view (at once, then at most once a second).
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const refresh = throttle(() => void loadRef.current(), 1_000);
    // The stream first, then the log of what came before: an entry in between is in one or both.
    const stop = followFeed(`${path}/events`, {
      entry: (entry) => {
        setTimeline((current) => addEntries(current, [entry]));
        if (entry.kind !== 'event') return;
        setView((current) => current && applyEvent(current, entry));
        refresh.call();
      },
      state: (state, detail) => setFeed({ state, detail }),
    });
    call<Page<ActivityView>>(`${path}/activities?limit=${HISTORY}`).then(
      (page) => setTimeline((current) => addEntries(current, historyEntries(page.items).reverse())),
      () => undefined,
    );
    return () => {
      stop();
      refresh.cancel();
    };
  }, [path]);

  // Without the stream (not reachable, or reconnecting), the view is read every 5 seconds instead.
  useEffect(() => {
    if (feed.state === 'live') return;
    const timer = window.setInterval(() => void loadRef.current(), 5_000);
    return () => window.clearInterval(timer);
  }, [feed.state]);

  const run = async (action: AgentAction) => {
    try {
      const answer = await act(agentId, action);
      setNotice(`${action}: ${answer.status}${answer.commandId ? ` (command ${answer.commandId})` : ''}`);
      setError(undefined);
      await load();
    } catch (failure) {
      setError(`${action}: ${describeError(failure)}`);
    }
  };

  return (
    <section class="agent">
      <h1>
        {agentId} <StatusBadge status={view?.status} />
      </h1>
      <ErrorLine error={error} />
      {notice ? <Notice>{notice}</Notice> : null}
      {view ? (
        <>
          <div class="actions">
            {actionsFor(view.status).map((action) => (
              <button type="button" data-action={action} onClick={() => void run(action)}>
                {action}
              </button>
            ))}
          </div>
          <dl class="facts">
            <dt>Behaviour</dt>
            <dd>{view.behavior ?? '—'}</dd>
            <dt>Started</dt>
            <dd data-fact="startedAt">
              <Time at={view.startedAt} />
            </dd>
            <dt>Stopped</dt>
            <dd>
              <Time at={view.stoppedAt} />
            </dd>
            <dt>Attempts</dt>
            <dd>{view.attempts}</dd>
            <dt>Session agent</dt>
            <dd data-fact="instanceId">{view.instanceId ?? '—'}</dd>
            {view.lastError ? (
              <>
                <dt>Last error</dt>
                <dd class="error">{view.lastError}</dd>
              </>
            ) : null}
          </dl>
          <Labels agentId={agentId} labels={view.labels} onSaved={() => void load()} />
        </>
      ) : null}
      <div class="columns">
        <div>
          <h2>
            Timeline <span class={`feed feed-${feed.state}`}>{feed.state}</span>
          </h2>
          {feed.detail && feed.state !== 'live' ? <p class="muted">{feed.detail}</p> : null}
          <ol class="timeline" id="timeline">
            {timeline.map((entry) => (
              <li
                key={entry.id}
                class={`entry entry-${entry.kind}`}
                data-type={entry.type}
                data-status={entry.status ?? ''}
              >
                <Time at={entry.occurredAt} /> <span class="type">{entry.type}</span>{' '}
                <StatusBadge status={entry.status} /> <span class="muted">{summarize(entry)}</span>
              </li>
            ))}
          </ol>
          {timeline.length === 0 ? <p class="muted">Nothing yet: new events and activities appear here.</p> : null}
        </div>
        <div>
          <Screenshot path={`${path}/screenshots/latest`} />
          <h2>Configuration</h2>
          {view ? (
            <Json
              value={{
                behavior: view.behavior,
                config: maskSecrets(view.config, secretFields),
                ...(view.proxy ? { proxy: view.proxy } : {}),
                ...(view.schedule ? { schedule: view.schedule } : {}),
                ...(view.egress ? { egress: view.egress } : {}),
              }}
            />
          ) : null}
        </div>
      </div>
    </section>
  );
}

/** The latest screenshot, fetched with the key on demand and shown from a blob URL. */
function Screenshot({ path }: { path: string }) {
  const [url, setUrl] = useState<string>();
  const [error, setError] = useState<string>();
  useEffect(() => () => void (url && URL.revokeObjectURL(url)), [url]);

  const open = async () => {
    try {
      setUrl(await imageUrl(path));
      setError(undefined);
    } catch (failure) {
      setError(describeError(failure));
    }
  };
  return (
    <div class="screenshot">
      <h2>
        Latest screenshot{' '}
        <button type="button" id="open-screenshot" onClick={() => void open()}>
          {url ? 'Refresh' : 'Show'}
        </button>
      </h2>
      <ErrorLine error={error} />
      {url ? (
        <a href={url} target="_blank" rel="noopener">
          <img id="latest-screenshot" src={url} alt="the agent's latest screenshot" />
        </a>
      ) : null}
    </div>
  );
}

/** Edits the agent's labels (`PUT /api/agents/{id}/labels`). */
function Labels({
  agentId,
  labels,
  onSaved,
}: {
  agentId: string;
  labels: Record<string, string> | undefined;
  onSaved: () => void;
}) {
  const [text, setText] = useState(formatLabels(labels));
  const [error, setError] = useState<string>();
  useEffect(() => setText(formatLabels(labels)), [labels]);

  const save = async (event: Event) => {
    event.preventDefault();
    const parsed = parseLabels(text);
    if ('error' in parsed) return setError(parsed.error);
    try {
      await call(`/api/agents/${encodeURIComponent(agentId)}/labels`, {
        method: 'PUT',
        body: { labels: parsed.labels },
      });
      setError(undefined);
      onSaved();
    } catch (failure) {
      setError(describeError(failure));
    }
  };
  return (
    <form class="labels-form" onSubmit={(event) => void save(event)}>
      <label>
        Labels
        <input value={text} placeholder="team=growth, env=prod" onInput={(e) => setText(e.currentTarget.value)} />
      </label>
      <button type="submit">Save labels</button>
      <ErrorLine error={error} />
    </form>
  );
}
