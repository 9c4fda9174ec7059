import type { Bus } from '@drover/messaging';
import type { Logger } from '@drover/runtime';
import type { Commit, Outbox } from '@drover/store';

/**
 * Publishes a commit's outbox with confirms, then marks it dispatched. The messages of one
 * commit go out together and wait for their confirms together (one broker round trip instead
 * of one per message: `npm run bench` p50 5.0 -> 2.8 ms). Nothing relies on their order: they
 * go to different consumers, and the read side orders events by version. One agent's commits
 * still leave in commit order, because the agent lock is held until the relay is done.
 */
export async function relayCommit(bus: Bus, outbox: Outbox, commit: Commit, at: string): Promise<void> {
  await Promise.all(
    commit.outbox.map((message) =>
      bus.publish(message.exchange, message.routingKey, message.body, { messageId: message.messageId }),
    ),
  );
  await outbox.markDispatched(commit.agentId, commit.version, at);
}

/**
 * Relays what a crash or a failed publish left behind. Only commits older than `graceMs` are
 * swept, so it does not race the engine's own relay of a fresh commit.
 */
export class OutboxSweeper {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;

  constructor(
    private readonly deps: { bus: Bus; outbox: Outbox; logger: Logger; now: () => Date },
    private readonly options: { intervalMs: number; graceMs: number; batch: number },
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** One pass; returns how many commits it relayed. */
  async sweep(graceMs = this.options.graceMs): Promise<number> {
    if (this.running) return 0;
    let relayed = 0;
    this.running = (async () => {
      const before = new Date(this.deps.now().getTime() - graceMs).toISOString();
      const pending = await this.deps.outbox.pending(this.options.batch, before);
      for (const commit of pending) {
        await relayCommit(this.deps.bus, this.deps.outbox, commit, this.deps.now().toISOString());
        relayed += 1;
      }
      if (relayed > 0) this.deps.logger.info({ relayed }, 'outbox sweeper relayed commits left behind');
    })()
      .catch((error: Error) => this.deps.logger.warn({ err: error.message }, 'outbox sweep failed'))
      .finally(() => (this.running = undefined));
    await this.running;
    return relayed;
  }
}
