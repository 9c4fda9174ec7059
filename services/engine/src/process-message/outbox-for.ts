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
import type { OutboxMessage } from '@drover/store';

/**
 * What one commit must tell the world: every event on `drover.events`, and the session work
 * it causes on `drover.dispatch`. Message ids derive from (agent, version) so a relay that
 * runs twice publishes the same ids and consumers drop the copy.
 */
export function outboxFor(after: AgentState, events: AgentEvent[], commandId: string, at: string): OutboxMessage[] {
  const { agentId, version } = after;
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
    messages.push(stopMessage(after, `${agentId}:${version}:stop`, at, after.instanceId));
  }

  // Pause and resume reach the session where it runs. A pause requested while starting is sent
  // when the session reports started (unless its start already asked for a paused session); a
  // resume while starting, when the start asked for a paused session.
  const placed = after.instanceId !== undefined;
  const startedNow = events.some((e) => e.type === 'agent.started');
  const paused = events.some((e) => e.type === 'agent.paused') || (startedNow && !after.startedPaused);
  const resumed = events.some((e) => e.type === 'agent.resumed') || (startedNow && after.startedPaused);
  if (placed && after.status === 'paused' && paused) {
    messages.push(controlMessage('session.pause', after, `${agentId}:${version}:pause`, at));
  } else if (placed && after.status === 'running' && resumed) {
    messages.push(controlMessage('session.resume', after, `${agentId}:${version}:resume`, at));
  }
  return messages;
}

function controlMessage(
  type: 'session.pause' | 'session.resume',
  state: AgentState,
  messageId: string,
  at: string,
): OutboxMessage {
  const body: PauseSession | ResumeSession = {
    messageId,
    type,
    agentId: state.agentId,
    attempt: state.attempts,
    occurredAt: at,
  };
  return { exchange: Exchanges.dispatch, routingKey: state.instanceId ?? '', messageId, body };
}

export function stopMessage(
  state: AgentState,
  messageId: string,
  at: string,
  instanceId: string,
  reason?: string,
): OutboxMessage {
  const stop: StopSession = {
    messageId,
    type: 'session.stop',
    agentId: state.agentId,
    attempt: state.attempts,
    ...(reason ? { reason } : {}),
    occurredAt: at,
  };
  return { exchange: Exchanges.dispatch, routingKey: instanceId, messageId, body: stop };
}
