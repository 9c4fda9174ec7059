import amqp from 'amqplib';
import { type AgentCommand, Exchanges } from '@drover/contracts';
import { CliError, ExitCode } from './exit-codes';

export interface Published {
  messageId: string;
  type: string;
  agentId: string;
  exchange: string;
  routingKey: string;
  confirmed: true;
}

/** The broker user of an AMQP URL (RabbitMQ's default `guest` when it names none). */
export function brokerUser(url: string): string {
  try {
    return decodeURIComponent(new URL(url).username) || 'guest';
  } catch {
    throw CliError.usage(`--amqp: not a URL: "${url}"`);
  }
}

/**
 * Publishes commands straight to `drover.commands` (routing key = the command's type), as
 * persistent JSON on a confirm channel, and resolves once the broker confirmed every one.
 *
 * - `user_id` is the connection's own broker user: RabbitMQ accepts no other, and Drover's
 *   consumers accept a command by that sender (`DROVER_BUS_USERS`, operator role).
 * - `mandatory`: a command no queue is bound for comes back instead of vanishing, and is an
 *   error (exit 1): nothing would ever read it.
 * - A broker that refuses the publish (no such exchange, no write permission) is exit 1; one that
 *   cannot be reached is exit 3.
 */
export async function publishToBroker(url: string, commands: readonly AgentCommand[]): Promise<Published[]> {
  const userId = brokerUser(url);
  let connection: amqp.ChannelModel;
  try {
    connection = await amqp.connect(url);
  } catch (error) {
    const message = (error as Error).message ?? '';
    // A refused login is the broker answering; a closed port is nothing answering.
    if (/ACCESS.REFUSED|NOT.ALLOWED|ConnectionClose/.test(message)) {
      throw new CliError(ExitCode.apiError, 'broker_refused', `the broker refused the connection: ${message}`);
    }
    throw CliError.unreachable('the broker', error);
  }
  const refused: string[] = [];
  const returned: string[] = [];
  connection.on('error', (error: Error) => refused.push(error.message));
  try {
    const channel = await connection.createConfirmChannel();
    channel.on('error', (error: Error) => refused.push(error.message));
    channel.on('return', (message: amqp.Message) => returned.push(String(message.properties.messageId)));
    const published: Published[] = [];
    for (const command of commands) {
      channel.publish(Exchanges.commands, command.type, Buffer.from(JSON.stringify(command)), {
        messageId: command.messageId,
        type: command.type,
        userId,
        persistent: true,
        mandatory: true,
        contentType: 'application/json',
        ...(command.correlationId ? { correlationId: command.correlationId } : {}),
      });
      published.push({
        messageId: command.messageId,
        type: command.type,
        agentId: command.agentId,
        exchange: Exchanges.commands,
        routingKey: command.type,
        confirmed: true,
      });
    }
    try {
      await channel.waitForConfirms();
    } catch (error) {
      refused.push((error as Error).message);
    }
    if (refused.length) {
      throw new CliError(ExitCode.apiError, 'broker_refused', `the broker refused the publish: ${refused[0]}`);
    }
    if (returned.length) {
      throw new CliError(
        ExitCode.apiError,
        'unroutable',
        `no queue is bound to ${Exchanges.commands} for ${returned.join(', ')}: nothing would read it (is Drover's topology declared on this vhost?)`,
      );
    }
    await channel.close().catch(() => undefined);
    return published;
  } finally {
    await connection.close().catch(() => undefined);
  }
}
