import { type Command } from 'commander';
import { publishToBroker } from '../amqp-publish';
import { readCommandFile, validateCommands } from '../command-file';
import { type Context } from '../context';
import { CliError } from '../exit-codes';

/** What `POST /api/commands` answers (202). */
interface PublishAnswer {
  commandId: string;
  agentId: string;
  outcome: string;
  status: string;
}

/**
 * `drover publish <file|->`: command envelopes as they go on `drover.commands`, sent through the
 * gateway (`POST /api/commands`, one by one, stopping at the first the API refuses) or with
 * `--amqp` straight to RabbitMQ (all checked against the contracts first, then published on a
 * confirm channel).
 */
export function publishCommand(program: Command, contextOf: (command: Command) => Context): void {
  program
    .command('publish <file>')
    .description('publish command envelopes from a file or stdin (-): a JSON object, an array, or JSON Lines')
    .option('--amqp [url]', 'publish straight to RabbitMQ (default: $RABBITMQ_URL) and wait for the confirms')
    .action(async (file: string, opts: { amqp?: string | boolean }, command: Command) => {
      const ctx = contextOf(command);
      const commands = readCommandFile(file);
      if (opts.amqp !== undefined && opts.amqp !== false) {
        const url = opts.amqp === true ? ctx.env.RABBITMQ_URL : opts.amqp;
        if (!url) throw CliError.usage('--amqp: give the broker URL or set RABBITMQ_URL');
        const valid = validateCommands(commands);
        const published = await ctx.out.waiting(`publishing ${valid.length} command(s) to RabbitMQ`, () =>
          publishToBroker(url, valid),
        );
        for (const one of published) {
          if (ctx.out.json) ctx.out.value(one);
          else ctx.out.line(`${one.messageId} ${one.type} ${one.agentId}: confirmed by the broker`);
        }
        return;
      }
      await ctx.out.waiting(`publishing ${commands.length} command(s) through the gateway`, async (update) => {
        for (const [i, body] of commands.entries()) {
          update(`publishing command ${i + 1}/${commands.length} through the gateway`);
          const answer = await ctx.gateway.request<PublishAnswer>('POST', '/api/commands', { body });
          if (ctx.out.json) ctx.out.value(answer.body);
          else {
            const { messageId, type } = body as { messageId?: string; type?: string };
            ctx.out.line(
              `${messageId ?? answer.body.commandId} ${type ?? ''} ${answer.body.agentId}: ${answer.body.outcome} (${answer.body.status})`,
            );
          }
        }
      });
    });
}
