import amqp from 'amqplib';

/** A command event as an operator publishes it: its `messageId` and `type` become AMQP properties. */
export interface PublishedCommand extends Record<string, unknown> {
  messageId: string;
  type: string;
}

/**
 * Publishes command events straight to `drover.commands` over their own connection, persistent
 * and confirmed, as an operator's script would; resolves once the broker confirmed them all.
 */
export async function publishCommands(url: string, commands: PublishedCommand[]): Promise<void> {
  const connection = await amqp.connect(url);
  try {
    const channel = await connection.createConfirmChannel();
    for (const command of commands) {
      channel.publish('drover.commands', command.type, Buffer.from(JSON.stringify(command)), {
        messageId: command.messageId,
        persistent: true,
        contentType: 'application/json',
      });
    }
    await channel.waitForConfirms();
  } finally {
    await connection.close();
  }
}
