import {
  Exchanges,
  RoutingKeys,
  type AgentEvent,
  type PauseSession,
  type ResumeSession,
  type StartSession,
  type StopSession,
} from '@drover/contracts';
import type { AgentState } from '@drover/domain';
import type { Commit, OutboxMessage } from '@drover/store';

/**
 * What one commit must tell the world: every event on `drover.events`, and the session work
 * it causes on `drover.dispatch`. Message ids derive from (agent, version) so a relay that
 * runs twice publishes the same ids and consumers drop the copy.
 */
export function outboxFor(
  after: AgentState,
  events: AgentEvent[],
  commandId: string,
  at: string,
  correlationId?: string,
): OutboxMessage[] {
  const { agentId, version } = after;
  const correlation = correlationId ? { correlationId } : {};
  const messages: OutboxMessage[] = events.map((event, index) => {
    const messageId = `${agentId}:${version}:${index}`;
    return {
      exchange: Exchanges.events,
      routingKey: event.type,
      messageId,
      body: {
        messageId,
        type: event.type,
        agentId,
        version,
        commandId,
        occurredAt: at,
        data: event.data,
        eventsInCommit: events.length,
        ...correlation,
      },
    };
  });

  const startsSession = events.some((e) =>
    ['agent.start-requested', 'agent.dequeued', 'agent.restarted'].includes(e.type),
  );
  if (startsSession && after.status === 'starting' && after.behavior) {
    const start: StartSession = {
      messageId: `${agentId}:${version}:start`,
      type: 'session.start',
      agentId,
      attempt: after.attempts,
      behavior: after.behavior,
      config: after.config ?? {},
      ...(after.proxy ? { proxy: after.proxy } : {}),
      ...(after.secrets ? { secrets: after.secrets } : {}),
      ...(after.egress ? { egress: after.egress } : {}),
      ...(after.paused ? { paused: true } : {}),
      occurredAt: at,
      ...correlation,
    };
    messages.push({
      exchange: Exchanges.dispatch,
      routingKey: RoutingKeys.pendingSessions,
      messageId: start.messageId,
      body: start,
    });
  }

  // A stop reaches the session once we know where it runs; a stop requested while starting
  // is sent when `session.started` arrives (the `agent.started` event while stopping).
  const needsStop = events.some((e) => e.type === 'agent.stop-requested' || e.type === 'agent.started');
  if (needsStop && after.status === 'stopping' && after.instanceId) {
    messages.push(stopMessage(after, `${agentId}:${version}:stop`, at, after.instanceId, undefined, correlationId));
  }

  // Pause and resume reach the session where it runs. A pause requested while starting is sent
  // when the session reports started (unless its start already asked for a paused session); a
  // resume while starting, when the start asked for a paused session.
  const placed = after.instanceId !== undefined;
  const startedNow = events.some((e) => e.type === 'agent.started');
  const paused = events.some((e) => e.type === 'agent.paused') || (startedNow && !after.startedPaused);
  const resumed = events.some((e) => e.type === 'agent.resumed') || (startedNow && after.startedPaused);
  if (placed && after.status === 'paused' && paused) {
    messages.push(controlMessage('session.pause', after, `${agentId}:${version}:pause`, at, correlationId));
  } else if (placed && after.status === 'running' && resumed) {
    messages.push(controlMessage('session.resume', after, `${agentId}:${version}:resume`, at, correlationId));
  }
  return messages;
}

function controlMessage(
  type: 'session.pause' | 'session.resume',
  state: AgentState,
  messageId: string,
  at: string,
  correlationId: string | undefined,
): OutboxMessage {
  const body: PauseSession | ResumeSession = {
    messageId,
    type,
    agentId: state.agentId,
    attempt: state.attempts,
    occurredAt: at,
    ...(correlationId ? { correlationId } : {}),
  };
  return { exchange: Exchanges.dispatch, routingKey: state.instanceId ?? '', messageId, body };
}

export function stopMessage(
  state: AgentState,
  messageId: string,
  at: string,
  instanceId: string,
  reason?: string,
  correlationId?: string,
): OutboxMessage {
  const stop: StopSession = {
    messageId,
    type: 'session.stop',
    agentId: state.agentId,
    attempt: state.attempts,
    ...(reason ? { reason } : {}),
    occurredAt: at,
    ...(correlationId ? { correlationId } : {}),
  };
  return { exchange: Exchanges.dispatch, routingKey: instanceId, messageId, body: stop };
}

/**
 * The correlation a commit is made under: the message's own (a command's `X-Request-Id`, or a
 * session report's, copied from its dispatch), else the stream's: the correlation of the latest
 * loaded commit that has one (kept on the events of its outbox). So an event a scheduler command
 * causes in a run (dequeued, recovered) is found under the request that started the run.
 */
export function correlationFor(message: { correlationId?: string }, commits: readonly Commit[]): string | undefined {
  if (message.correlationId) return message.correlationId;
  for (let i = commits.length - 1; i >= 0; i--) {
    for (const out of commits[i]!.outbox) {
      const body = out.body as { correlationId?: unknown } | undefined;
      if (typeof body?.correlationId === 'string') return body.correlationId;
    }
  }
  return undefined;
}
