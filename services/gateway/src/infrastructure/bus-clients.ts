import { randomUUID } from 'node:crypto';
import {
  Exchanges,
  RoutingKeys,
  type AgentCommand,
  type CommandReply,
  type PersistenceReply,
  type ReadQuery,
} from '@drover/contracts';
import { sealStartPayload } from '@drover/behaviors/catalog';
import { MessageTooLargeError, RequestTimeoutError, type Bus } from '@drover/messaging';
import { SealedValueError, type SecretBox } from '@drover/runtime';
import { currentRequestId } from '../correlation/request-id';
import { ApiError } from './api-error';

export interface GatewayConfig {
  commandTimeoutMs: number;
  queryTimeoutMs: number;
}

/** What the engine answered, or `pending` when it did not answer in time (the command stands). */
export type CommandResult = CommandReply | { pending: true; commandId: string };

/** The gateway's only ways out: commands to the engine, queries to the persistence agent. */
export class BusClients {
  constructor(
    private readonly bus: Bus,
    private readonly config: GatewayConfig,
    private readonly secrets?: SecretBox,
  ) {}

  static newCommandId(): string {
    return `gw-${randomUUID()}`;
  }

  /**
   * Sends a command and waits for the engine's answer. A start's secrets leave sealed; sealed
   * secrets it already carries must open for its agent (`secretsField` names them in the 400).
   */
  async send(command: AgentCommand, secretsField = 'secrets'): Promise<CommandResult> {
    // The request's id becomes the command's correlation, unless the command names its own.
    const requestId = currentRequestId();
    if (requestId && !command.correlationId) command = { ...command, correlationId: requestId };
    if (command.type === 'agent.start' && this.secrets) {
      try {
        command = { ...command, payload: sealStartPayload(this.secrets, command.agentId, command.payload).payload };
      } catch (error) {
        if (!(error instanceof SealedValueError)) throw error;
        throw ApiError.invalid([{ field: secretsField, message: error.message }]);
      }
    }
    try {
      return await this.bus.request<CommandReply>(Exchanges.commands, command.type, command, {
        timeoutMs: this.config.commandTimeoutMs,
        messageId: command.messageId,
      });
    } catch (error) {
      if (error instanceof RequestTimeoutError) return { pending: true, commandId: command.messageId };
      if (error instanceof MessageTooLargeError) throw tooLarge(error);
      throw new ApiError(503, 'unavailable', 'the bus is not reachable', undefined, error);
    }
  }

  /** A read-side answer; `not_found` becomes 404, silence 503. */
  async ask<T>(query: ReadQuery): Promise<T> {
    let reply: PersistenceReply<T>;
    try {
      reply = await this.bus.request<PersistenceReply<T>>(Exchanges.persistence, RoutingKeys.readQuery, query, {
        timeoutMs: this.config.queryTimeoutMs,
      });
    } catch (error) {
      if (error instanceof RequestTimeoutError)
        throw new ApiError(503, 'unavailable', 'the read side did not answer in time');
      if (error instanceof MessageTooLargeError) throw tooLarge(error);
      throw new ApiError(503, 'unavailable', 'the bus is not reachable', undefined, error);
    }
    if (reply.ok) return reply.result;
    const status = reply.error.code === 'not_found' ? 404 : reply.error.code === 'invalid_task' ? 400 : 500;
    const code = reply.error.code === 'not_found' && query.query === 'agent.get' ? 'agent_not_found' : reply.error.code;
    // A read-side failure's own words may name its store; the client gets a generic reason.
    if (status >= 500)
      throw new ApiError(status, code, 'the read side failed; try again', undefined, reply.error.message);
    throw new ApiError(status, code, reply.error.message, reply.error.details);
  }

  ping(): Promise<void> {
    return this.bus.ping();
  }
}

/** A command the bus would not carry: the client's to shrink, not an outage. */
function tooLarge(error: MessageTooLargeError): ApiError {
  return new ApiError(
    413,
    'payload_too_large',
    `the request is ${error.bytes} bytes as a message, more than ${error.maxBytes}`,
  );
}
