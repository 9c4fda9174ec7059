import { randomUUID } from 'node:crypto';
import { Exchanges } from '@drover/contracts';
import type { Bus } from '@drover/messaging';
import type { Clock, Logger } from '@drover/runtime';

export type ReportType =
  'session.started' | 'session.stopped' | 'session.failed' | 'session.deferred' | 'session.activity';

/** Publishes session reports for the engine and the read side; a failed publish is logged, never thrown. */
export class SessionReporter {
  constructor(private readonly deps: { bus: Bus; clock: Clock; logger: Logger; instanceId: string }) {}

  /** Publishes one report of `attempt` of the agent's session. */
  async report(type: ReportType, agentId: string, attempt: number, payload: object): Promise<void> {
    return this.reportFor(undefined, type, agentId, attempt, payload);
  }

  /** As `report`, carrying the correlation of the dispatch the session runs (when it has one). */
  async reportFor(
    correlationId: string | undefined,
    type: ReportType,
    agentId: string,
    attempt: number,
    payload: object,
  ): Promise<void> {
    const messageId = randomUUID();
    const body = {
      messageId,
      type,
      agentId,
      instanceId: this.deps.instanceId,
      attempt,
      payload,
      occurredAt: this.deps.clock.now().toISOString(),
      ...(correlationId ? { correlationId } : {}),
    };
    try {
      await this.deps.bus.publish(Exchanges.reports, type, body, { messageId });
    } catch (error) {
      this.deps.logger.warn({ agentId, type, err: (error as Error).message }, 'report not published');
    }
  }
}
