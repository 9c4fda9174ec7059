import { useCallback, useEffect, useState } from 'preact/hooks';
import { call, describeError, query } from '../api';
import { ErrorLine, Json, Notice, Pager, Time } from '../components';
import { agentHref } from '../route';
import type { DeadLetterView, Page, ReplayAnswer } from '../types';

/**
 * Messages the bus dead-lettered, with the reason, the (redacted) body and their replays; a
 * replayable one can be published again to where it first went (`POST .../replay`).
 * `#/dead-letters/{queue}` opens it filtered by that queue.
 */
export function DeadLettersPage({ queue: initialQueue }: { queue?: string }) {
  const [queue, setQueue] = useState(initialQueue ?? '');
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<Page<DeadLetterView>>();
  const [open, setOpen] = useState<string>();
  const [error, setError] = useState<string>();
  const [notice, setNotice] = useState<string>();
  const cursor = cursors[cursors.length - 1];

  const load = useCallback(async () => {
    try {
      setPage(await call<Page<DeadLetterView>>(`/api/dead-letters${query({ queue, limit: 20, cursor })}`));
      setError(undefined);
    } catch (failure) {
      setError(describeError(failure));
    }
  }, [queue, cursor]);
  useEffect(() => void load(), [load]);

  const replay = async (letter: DeadLetterView) => {
    try {
      const answer = await call<ReplayAnswer>(`/api/dead-letters/${encodeURIComponent(letter.id)}/replay`, {
        method: 'POST',
      });
      setNotice(`Replayed dead letter ${answer.deadLetterId} as message ${answer.messageId}`);
      setError(undefined);
      await load();
    } catch (failure) {
      setError(`replay ${letter.id}: ${describeError(failure)}`);
    }
  };

  return (
    <section id="dead-letters">
      <h1>Dead letters</h1>
      <form class="filters" onSubmit={(event) => event.preventDefault()}>
        <label>
          Queue
          <input
            id="filter-queue"
            placeholder="engine.commands"
            value={queue}
            onChange={(event) => {
              setQueue(event.currentTarget.value.trim());
              setCursors([undefined]);
            }}
          />
        </label>
        <button type="button" onClick={() => void load()}>
          Refresh
        </button>
      </form>
      <ErrorLine error={error} />
      {notice ? <Notice>{notice}</Notice> : null}
      <table>
        <thead>
          <tr>
            <th>When</th>
            <th>Queue</th>
            <th>Type</th>
            <th>Agent</th>
            <th>Reason</th>
            <th>Deaths</th>
            <th>Replays</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {page?.items.map((letter) => (
            <>
              <tr data-dead-letter-id={letter.id}>
                <td>
                  <Time at={letter.deadLetteredAt} />
                </td>
                <td>{letter.queue}</td>
                <td>{letter.type ?? '—'}</td>
                <td>{letter.agentId ? <a href={agentHref(letter.agentId)}>{letter.agentId}</a> : '—'}</td>
                <td class="reason">
                  {letter.reason}
                  {letter.notReplayableReason ? (
                    <span class="muted not-replayable"> (not replayable: {letter.notReplayableReason})</span>
                  ) : null}
                </td>
                <td>{letter.deaths}</td>
                <td>{letter.replays.length}</td>
                <td class="actions">
                  <button type="button" onClick={() => setOpen(open === letter.id ? undefined : letter.id)}>
                    {open === letter.id ? 'Hide' : 'Body'}
                  </button>
                  <button
                    type="button"
                    data-action="replay"
                    disabled={!letter.replayable}
                    title={letter.replayable ? 'publish it again' : (letter.notReplayableReason ?? 'not replayable')}
                    onClick={() => void replay(letter)}
                  >
                    Replay
                  </button>
                </td>
              </tr>
              {open === letter.id ? (
                <tr class="detail">
                  <td colSpan={8}>
                    <p>
                      message {letter.messageId}, published to {letter.exchange} ({letter.routingKey}), filed from{' '}
                      {letter.deadLetterQueue ?? `${letter.queue}.dead`}
                    </p>
                    {letter.replays.length ? (
                      <p>
                        replays:{' '}
                        {letter.replays.map((r) => (
                          <span>
                            {r.messageId} (<Time at={r.at} />){' '}
                          </span>
                        ))}
                      </p>
                    ) : null}
                    <Json value={letter.body} />
                  </td>
                </tr>
              ) : null}
            </>
          ))}
        </tbody>
      </table>
      {page && page.items.length === 0 ? <p class="muted">No dead letters.</p> : null}
      <Pager cursors={cursors} nextCursor={page?.nextCursor} onChange={setCursors} />
    </section>
  );
}
