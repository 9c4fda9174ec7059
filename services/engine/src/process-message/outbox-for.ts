import { Exchanges, RoutingKeys, type AgentEvent, type StartSession, type StopSession } from '@drover/contracts';
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
  return messages;
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
