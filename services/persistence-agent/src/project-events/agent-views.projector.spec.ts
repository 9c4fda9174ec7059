import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import assert from 'node:assert/strict';
import { Collections, Exchanges, type AgentView, type PublishedAgentEvent } from '@drover/contracts';
import { agentView, fold } from '@drover/domain';

import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { BusContext } from '@drover/messaging/nest';
import { silentLogger } from '@drover/runtime';
import type { Store } from '@drover/store';
import { openSqliteStore } from '@drover/store/sqlite';
import { FeedWriter } from '../record-feed/feed-writer';
import { AgentViewsProjector } from './agent-views.projector';

const start = {
  type: 'agent.start-requested',
  data: { behavior: 'http-monitor', config: { url: 'http://x/', token: 't' }, proxy: 'http://u:pw@p:1', attempt: 1 },
};
const started = { type: 'agent.started', data: { instanceId: 'sa-1', attempt: 1 } };
const stopRequested = { type: 'agent.stop-requested', data: { reason: 'user' } };
const stopped = { type: 'agent.stopped', data: {} };

describe('agent views projector', () => {
  let store: Store;
  let projector: AgentViewsProjector;
  let loads: jest.SpiedFunction<Store['streams']['loadHead']>;

  beforeEach(() => {
    store = openSqliteStore({ filename: ':memory:' });
    projector = new AgentViewsProjector(store, new FeedWriter(store, new InMemoryBus(DROVER_TOPOLOGY), silentLogger()));
    loads = jest.spyOn(store.streams, 'loadHead');
  });
  afterEach(async () => {
    await store.close();
  });

  /** Commits one event to the stream, as the engine does, and returns it as published. */
  async function commit(version: number, event: { type: string; data: Record<string, unknown> }) {
    const committedAt = new Date(Date.UTC(2026, 0, 1, 0, 0, version)).toISOString();
    const lease = await store.locks.acquire('agent:a-1', 'test-engine', 60_000);
    assert.ok(lease);
    const commandId = `cmd-${version}`;
    await store.streams.append(
      { agentId: 'a-1', version, commandId, events: [event] as never, outbox: [], committedAt },
      lease,
    );
    const messageId = `a-1:${version}:0`;
    return { messageId, ...event, agentId: 'a-1', version, commandId, occurredAt: committedAt, eventsInCommit: 1 };
  }
  const deliver = (event: PublishedAgentEvent) =>
    projector.onEvent(
      new BusContext({
        body: event,
        exchange: Exchanges.events,
        routingKey: event.type,
        messageId: event.messageId,
        headers: {},
        attempt: 1,
      }),
    );
  const view = async () => (await store.documents.collection(Collections.agents).get('a-1')) as AgentView | undefined;
  /** The fold of every commit (these streams are far shorter than a snapshot's interval). */
  const folded = async () => agentView(fold('a-1', await store.streams.load('a-1')));

  it('applies events in order to the stored view without reading the stream', async () => {
    for (const [index, event] of [start, started, stopRequested, stopped].entries()) {
      await deliver(await commit(index + 1, event));
    }
    expect(loads).not.toHaveBeenCalled();
    const { _id, ...stored } = (await view()) as AgentView & { _id: string };
    expect(_id).toBe('a-1');
    expect(stored).toEqual(await folded());
    expect(stored).toMatchObject({ status: 'stopped', version: 4, proxy: 'http://***:***@p:1' });
    expect(stored).not.toHaveProperty('instanceId'); // cleared by the stop, as the fold clears it
    const command = await store.documents.collection(Collections.commands).get('cmd-4');
    expect(command).toMatchObject({ state: 'accepted', status: 'stopped', version: 4 });
  });

  it('repairs a gap (a lost event) by rebuilding from the stream', async () => {
    await deliver(await commit(1, start));
    await commit(2, started); // its event is lost
    await deliver(await commit(3, stopRequested));
    expect(loads).toHaveBeenCalledTimes(1);
    expect(await view()).toMatchObject({ ...(await folded()), status: 'stopping', instanceId: 'sa-1', version: 3 });
  });

  it('changes nothing for an older or repeated event', async () => {
    const first = await commit(1, start);
    const second = await commit(2, started);
    await deliver(first);
    await deliver(second);
    const before = await view();
    await deliver(first);
    await deliver(second);
    expect(await view()).toEqual(before);
    expect(loads).not.toHaveBeenCalled();
  });
});
