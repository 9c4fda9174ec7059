import { useEffect, useState } from 'preact/hooks';
import { call, describeError } from '../api';
import { ErrorLine, StatusBadge, Time } from '../components';
import type { FleetLoad } from '../types';

/** How loaded the fleet is (`GET /api/fleet`), refreshed every 5 seconds. */
export function LoadPage() {
  const [load, setLoad] = useState<FleetLoad>();
  const [error, setError] = useState<string>();

  useEffect(() => {
    let stopped = false;
    const refresh = async () => {
      try {
        const next = await call<FleetLoad>('/api/fleet');
        if (!stopped) {
          setLoad(next);
          setError(undefined);
        }
      } catch (failure) {
        if (!stopped) setError(describeError(failure));
      }
    };
    void refresh();
    const timer = window.setInterval(() => void refresh(), 5_000);
    return () => {
      stopped = true;
      window.clearInterval(timer);
    };
  }, []);

  const capacity = load?.sessionAgents.filter((s) => s.alive).reduce((sum, s) => sum + s.capacity, 0) ?? 0;
  const used = load?.sessionAgents.filter((s) => s.alive).reduce((sum, s) => sum + s.sessions, 0) ?? 0;
  return (
    <section id="load">
      <h1>Load</h1>
      <ErrorLine error={error} />
      {load ? (
        <>
          <div class="cards">
            <div class="card">
              <span class="big">
                {used}/{capacity}
              </span>
              sessions in use (live session agents)
            </div>
            <div class="card">
              <span class="big" id="queued">
                {load.queued}
              </span>
              agents queued for a slot
            </div>
            <div class="card">
              <span class="big" id="dead-letter-total">
                <a href="#/dead-letters">{load.deadLetters.total}</a>
              </span>
              dead letters
            </div>
          </div>
          <h2>Agents by status</h2>
          <p class="counts">
            {Object.entries(load.statusCounts).map(([status, count]) => (
              <span>
                <StatusBadge status={status} /> {count}
              </span>
            ))}
          </p>
          <h2>Session agents</h2>
          <table>
            <thead>
              <tr>
                <th>Instance</th>
                <th>Use</th>
                <th>Sessions</th>
                <th>Capacity</th>
                <th>Alive</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {load.sessionAgents.map((agent) => (
                <tr>
                  <td>{agent.instanceId}</td>
                  <td>
                    <meter min={0} max={Math.max(agent.capacity, 1)} value={agent.sessions} />
                  </td>
                  <td>{agent.sessions}</td>
                  <td>{agent.capacity}</td>
                  <td>{agent.alive ? 'yes' : 'no'}</td>
                  <td>
                    <Time at={agent.lastSeenAt} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          <h2>Dead letters by queue</h2>
          <p class="counts" id="dead-letters-by-queue">
            {Object.entries(load.deadLetters.byQueue).map(([queue, count]) => (
              <span>
                <a href={`#/dead-letters/${encodeURIComponent(queue)}`}>{queue}</a> {count}
              </span>
            ))}
            {Object.keys(load.deadLetters.byQueue).length === 0 ? <span class="muted">none</span> : null}
          </p>
          <h2>Queues</h2>
          {load.queuesNote ? <p class="muted">{load.queuesNote}</p> : null}
          <table>
            <thead>
              <tr>
                <th>Queue</th>
                <th>Messages</th>
                <th>Consumers</th>
              </tr>
            </thead>
            <tbody>
              {load.queues.map((queue) => (
                <tr>
                  <td>{queue.name}</td>
                  <td>{queue.messages}</td>
                  <td>{queue.consumers}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
    </section>
  );
}
