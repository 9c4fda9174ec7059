import { type Command } from 'commander';
import type { DeadLetterView, ReplayAccepted } from '@drover/contracts';
import { type Context, positiveInt } from '../context';

/** `drover dead list|show|replay`: messages the consumers refused, and sending one again. */
export function deadCommand(program: Command, contextOf: (command: Command) => Context): void {
  const dead = program.command('dead').description('dead letters: list, show, replay');

  dead
    .command('list')
    .description('list dead letters, newest first')
    .option('--queue <queue>', 'only those dead-lettered from this queue')
    .option('--limit <n>', 'per page (1-1000)', positiveInt('--limit', 1000))
    .option('--cursor <cursor>', 'the page after this cursor')
    .option('--all', 'follow nextCursor until the last page')
    .action(async (opts: { queue?: string; limit?: number; cursor?: string; all?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      const { items, nextCursor } = await ctx.gateway.pages<DeadLetterView>(
        '/api/dead-letters',
        { queue: opts.queue, limit: opts.limit },
        opts.cursor,
        opts.all,
      );
      if (ctx.out.json) {
        ctx.out.value({ items, nextCursor });
        return;
      }
      const rows = items.map((d) => [
        d.id,
        d.queue,
        d.type,
        d.agentId,
        d.deadLetteredAt,
        d.replayable ? (d.replays?.length ? `yes (${d.replays.length} done)` : 'yes') : 'no',
        d.reason.length > 60 ? `${d.reason.slice(0, 59)}…` : d.reason,
      ]);
      if (rows.length)
        ctx.out.line(ctx.out.table(['ID', 'QUEUE', 'TYPE', 'AGENT', 'AT', 'REPLAYABLE', 'REASON'], rows));
      else ctx.out.note('no dead letters');
      if (nextCursor) ctx.out.note(`more: --cursor ${nextCursor} (or --all)`);
    });

  dead
    .command('show <id>')
    .description('one dead letter with its (redacted) body')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = contextOf(command);
      const letter = await ctx.gateway.get<DeadLetterView>(`/api/dead-letters/${encodeURIComponent(id)}`);
      if (ctx.out.json) {
        ctx.out.value(letter);
        return;
      }
      const { body, replays, ...fields } = letter;
      for (const [field, value] of Object.entries(fields)) {
        ctx.out.line(`${`${field}:`.padEnd(16)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
      }
      for (const replay of replays ?? []) ctx.out.line(`${'replayed:'.padEnd(16)} ${replay.at} as ${replay.messageId}`);
      ctx.out.line('body:');
      ctx.out.line(JSON.stringify(body, null, 2));
    });

  dead
    .command('replay <id>')
    .description('publish a dead letter again to where it was first sent')
    .action(async (id: string, _opts: unknown, command: Command) => {
      const ctx = contextOf(command);
      const answer = await ctx.gateway.request<ReplayAccepted>(
        'POST',
        `/api/dead-letters/${encodeURIComponent(id)}/replay`,
      );
      if (ctx.out.json) ctx.out.value(answer.body);
      else ctx.out.line(`replayed ${answer.body.deadLetterId} as message ${answer.body.messageId}`);
    });
}
