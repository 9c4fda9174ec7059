import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Exchanges, type CommandReply } from '@drover/contracts';
import { DEFAULT_RECOVERY_POLICY, foldHead } from '@drover/domain';
import { DROVER_TOPOLOGY } from '@drover/messaging';
import { InMemoryBus } from '@drover/messaging/in-memory';
import { SecretBox, silentLogger, systemClock } from '@drover/runtime';
import type { Store } from '@drover/store';
import { Engine } from '../src/engine';

/** The baseline agent's commits: a multiple of 50, as the long one's default. */
export const SHORT_HISTORY = 100;

export interface StreamLoadFigures {
  /** Commits of the long-lived agent. */
  history: number;
  shortMs: number;
  longMs: number;
}

/**
 * How long the engine takes to load and fold an agent with `history` commits (runs of start,
 * started, stop, stopped, committed by a real engine) against one with 100: the median of
 * `samples` loads each. A snapshot is taken every 50 commits, so both load a snapshot and the
 * same number of commits after it: the two should be about the same, where without snapshots
 * the first would read 100 times as many commits.
 */
export async function streamLoad(store: Store, history: number, samples = 200): Promise<StreamLoadFigures> {
  const bus = new InMemoryBus(DROVER_TOPOLOGY, { retryDelaysMs: [5] });
  const engine = new Engine(
    { bus, store, clock: systemClock, logger: silentLogger(), secrets: SecretBox.fresh() },
    { policy: DEFAULT_RECOVERY_POLICY },
  );
  await engine.start();
  try {
    const tag = Date.now().toString(36);
    const [short, long] = [`short-${tag}`, `long-${tag}`];
    await cycle(bus, store, short, SHORT_HISTORY / 4);
    await cycle(bus, store, long, Math.ceil(history / 4));
    return {
      history,
      shortMs: await medianLoadMs(store, short, samples),
      longMs: await medianLoadMs(store, long, samples),
    };
  } finally {
    await engine.stop();
    await bus.close();
  }
}

/** `runs` times: start, the session reports started, stop, the session reports stopped. */
async function cycle(bus: InMemoryBus, store: Store, agentId: string, runs: number): Promise<void> {
  const command = async (type: string, messageId: string, payload: Record<string, unknown>) => {
    const reply = await bus.request<CommandReply>(
      Exchanges.commands,
      type,
      { messageId, type, agentId, payload },
      { timeoutMs: 10_000 },
    );
    if (!reply.ok) throw new Error(`${messageId}: ${reply.error.message}`);
  };
  const report = async (type: string, messageId: string, version: number) => {
    await bus.publish(Exchanges.reports, type, {
      messageId,
      type,
      agentId,
      instanceId: 'bench-sa',
      attempt: 1,
      payload: {},
      occurredAt: new Date().toISOString(),
    });
    while ((await store.streams.loadHead(agentId)).commits.at(-1)?.version !== version) await sleep(1);
  };
  const config = { url: 'http://127.0.0.1:9/', intervalMs: 3_600_000 };
  for (let run = 0; run < runs; run += 1) {
    await command('agent.start', `${agentId}-start-${run}`, { behavior: 'http-monitor', config });
    await report('session.started', `${agentId}-started-${run}`, run * 4 + 2);
    await command('agent.stop', `${agentId}-stop-${run}`, {});
    await report('session.stopped', `${agentId}-stopped-${run}`, run * 4 + 4);
  }
}

async function medianLoadMs(store: Store, agentId: string, samples: number): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < samples; i += 1) {
    const started = performance.now();
    foldHead(agentId, await store.streams.loadHead(agentId));
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}
