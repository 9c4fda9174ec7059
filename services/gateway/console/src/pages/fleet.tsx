import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { call, describeError, query } from '../api';
import { act, actionsFor, formatLabels, parseLabels, sortBy } from '../agents';
import { ErrorLine, Notice, Pager, StatusBadge, Time } from '../components';
import { followFeed } from '../feed';
import { agentHref } from '../route';
import { throttle } from '../throttle';
import {
  AGENT_EVENT_TYPES,
  STATUSES,
  type AgentAction,
  type AgentView,
  type Behavior,
  type BulkResult,
  type Page,
} from '../types';

type SortField = 'agentId' | 'status' | 'behavior' | 'startedAt' | 'updatedAt';
const COLUMNS: [SortField, string][] = [
  ['agentId', 'Agent'],
  ['status', 'Status'],
  ['behavior', 'Behaviour'],
  ['startedAt', 'Started'],
  ['updatedAt', 'Updated'],
];
const PAGE_SIZES = [20, 50, 100];

interface Filters {
  status: string;
  behavior: string;
  label: string;
}

/**
 * The fleet: agents filtered by status, behaviour and labels (by the API), a page at a time
 * (the API's cursors), sorted within the page. Rows follow the live stream: any agent event
 * reloads the page, so statuses change without a reload.
 */
export function FleetPage() {
  const [filters, setFilters] = useState<Filters>({ status: '', behavior: '', label: '' });
  const [limit, setLimit] = useState(20);
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<Page<AgentView>>();
  const [sort, setSort] = useState<{ field: SortField; direction: 'asc' | 'desc' }>({
    field: 'agentId',
    direction: 'asc',
  });
  const [behaviors, setBehaviors] = useState<string[]>([]);
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const cursor = cursors[cursors.length - 1];

  // Loads overlap (a filter change while the stream's refresh is in flight); only the answer to
  // the latest one is shown, so a slow answer to an older filter never replaces a newer one.
  const latestLoad = useRef(0);
  const load = useCallback(async () => {
    const labels = parseLabels(filters.label);
    if ('error' in labels) return setError(`Label filter: ${labels.error}`);
    const ticket = ++latestLoad.current;
    try {
      const label = Object.entries(labels.labels).map(([key, value]) => `${key}=${value}`);
      const answer = await call<Page<AgentView>>(
        `/api/agents${query({ status: filters.status, behavior: filters.behavior, label, limit, cursor })}`,
      );
      if (ticket !== latestLoad.current) return;
      setPage(answer);
      setError(undefined);
    } catch (failure) {
      if (ticket === latestLoad.current) setError(describeError(failure));
    }
  }, [filters, limit, cursor]);

  useEffect(() => void load(), [load]);
  useEffect(() => {
    call<{ items: Behavior[] }>('/api/behaviors').then(
      (list) => setBehaviors(list.items.map((b) => b.name)),
      () => undefined,
    );
  }, []);

  // Any event of any agent may change this page: reload it (at once, then at most once a second).
  const loadRef = useRef(load);
  loadRef.current = load;
  useEffect(() => {
    const refresh = throttle(() => void loadRef.current(), 1_000);
    const stop = followFeed(`/api/events${query({ type: AGENT_EVENT_TYPES.join(',') })}`, {
      entry: (entry) => entry.kind === 'event' && refresh.call(),
      state: () => undefined,
    });
    return () => {
      stop();
      refresh.cancel();
    };
  }, []);

  const filter = (change: Partial<Filters>) => {
    setFilters({ ...filters, ...change });
    setCursors([undefined]);
  };
  const run = async (agentId: string, action: AgentAction) => {
    try {
      const answer = await act(agentId, action);
      setNotice(`${action} ${agentId}: ${answer.status}${answer.commandId ? ` (command ${answer.commandId})` : ''}`);
      setError(undefined);
      await load();
    } catch (failure) {
      setError(`${action} ${agentId}: ${describeError(failure)}`);
    }
  };
  const rows = page ? sortBy(page.items, sort.field, sort.direction) : [];

  return (
    <section>
      <h1>Agents</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Status
          <select
            id="filter-status"
            value={filters.status}
            onChange={(event) => filter({ status: event.currentTarget.value })}
          >
            <option value="">any</option>
            {STATUSES.map((status) => (
              <option value={status}>{status}</option>
            ))}
          </select>
        </label>
        <label>
          Behaviour
          <select
            id="filter-behavior"
            value={filters.behavior}
            onChange={(event) => filter({ behavior: event.currentTarget.value })}
          >
            <option value="">any</option>
            {behaviors.map((name) => (
              <option value={name}>{name}</option>
            ))}
          </select>
        </label>
        <label>
          Labels
          <input
            id="filter-label"
            placeholder="team=growth env=prod"
            value={filters.label}
            onChange={(event) => filter({ label: event.currentTarget.value })}
          />
        </label>
        <label>
          Per page
          <select
            value={String(limit)}
            onChange={(event) => {
              setLimit(Number(event.currentTarget.value));
              setCursors([undefined]);
            }}
          >
            {PAGE_SIZES.map((size) => (
              <option value={String(size)}>{size}</option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </form>
      <BulkActions filters={filters} onDone={() => void load()} />
      <ErrorLine error={error} />
      {notice ? <Notice>{notice}</Notice> : null}
      <table class="fleet">
        <thead>
          <tr>
            {COLUMNS.map(([field, title]) => (
              <th>
                <button
                  type="button"
                  class="link"
                  onClick={() =>
                    setSort({
                      field,
                      direction: sort.field === field && sort.direction === 'asc' ? 'desc' : 'asc',
                    })
                  }
                >
                  {title}
                  {sort.field === field ? (sort.direction === 'asc' ? ' ▲' : ' ▼') : ''}
                </button>
              </th>
            ))}
            <th>Labels</th>
            <th>Actions</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((agent) => (
            <tr data-agent-id={agent.agentId}>
              <td>
                <a href={agentHref(agent.agentId)}>{agent.agentId}</a>
              </td>
              <td>
                <StatusBadge status={agent.status} />
              </td>
              <td>{agent.behavior ?? ''}</td>
              <td>
                <Time at={agent.startedAt} />
              </td>
              <td>
                <Time at={agent.updatedAt} />
              </td>
              <td class="labels">{formatLabels(agent.labels)}</td>
              <td class="actions">
                {actionsFor(agent.status).map((action) => (
                  <button type="button" data-action={action} onClick={() => void run(agent.agentId, action)}>
                    {action}
                  </button>
                ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {page && page.items.length === 0 ? <p class="muted">No agent matches.</p> : null}
      <Pager cursors={cursors} nextCursor={page?.nextCursor} onChange={setCursors}>
        <span class="muted">page {cursors.length} (sorting applies to this page)</span>
      </Pager>
    </section>
  );
}

/** One action for every agent the filters match (`POST /api/agents/actions`), confirmed by a second click. */
function BulkActions({ filters, onDone }: { filters: Filters; onDone: () => void }) {
  const [action, setAction] = useState<AgentAction>('stop');
  const [armed, setArmed] = useState(false);
  const [result, setResult] = useState<string>();
  const [error, setError] = useState<string>();
  const filtered = Boolean(filters.status || filters.behavior || filters.label.trim());

  const apply = async () => {
    if (!armed) return setArmed(true);
    setArmed(false);
    const labels = parseLabels(filters.label);
    if ('error' in labels) return setError(`Label filter: ${labels.error}`);
    const criteria = {
      ...(filters.status ? { status: filters.status } : {}),
      ...(filters.behavior ? { behavior: filters.behavior } : {}),
      ...(Object.keys(labels.labels).length ? { label: labels.labels } : {}),
    };
    // No filter: the whole fleet, which the API wants said explicitly.
    const selector = Object.keys(criteria).length ? criteria : { all: true };
    try {
      const answer = await call<BulkResult>('/api/agents/actions', {
        method: 'POST',
        body: { action, selector, reason: `${action} from the console` },
      });
      const failed = answer.results.filter((r) => !r.ok);
      setResult(
        `${action}: ${answer.matched} matched, ${answer.results.length - failed.length} done` +
          (failed.length
            ? `, ${failed.length} refused (${failed.map((r) => `${r.agentId}: ${r.error?.message}`).join('; ')})`
            : ''),
      );
      setError(undefined);
      onDone();
    } catch (failure) {
      setError(describeError(failure));
    }
  };

  return (
    <div class="bulk">
      <select value={action} onChange={(event) => setAction(event.currentTarget.value as AgentAction)}>
        {(['stop', 'restart', 'pause', 'resume'] as const).map((name) => (
          <option value={name}>{name}</option>
        ))}
      </select>
      <button type="button" class={armed ? 'danger' : ''} onClick={() => void apply()} onBlur={() => setArmed(false)}>
        {armed
          ? `Confirm: ${action} ${filtered ? 'every matching agent' : 'EVERY agent of the fleet'}`
          : 'Apply to every matching agent'}
      </button>
      {result ? <span class="muted">{result}</span> : null}
      <ErrorLine error={error} />
    </div>
  );
}
