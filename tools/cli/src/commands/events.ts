import { type Command } from 'commander';
import { type Context } from '../context';
import { streamLine } from '../format';
import { followStream } from '../sse';

/**
 * `drover events`: the gateway's live stream of events and activities, filtered by agent, type
 * and status, until Ctrl-C (exit 130). It always follows (the stream has no end); `--follow` is
 * accepted so the command reads like `agents logs --follow`.
 */
export function eventsCommand(program: Command, contextOf: (command: Command) => Context): void {
  program
    .command('events')
    .description('stream events and activities as they happen (until Ctrl-C)')
    .option('--agent <agentId>', 'only this agent')
    .option('--type <types>', 'only these types, comma-separated (agent.started, activity, http.check, ...)')
    .option('--status <status>', 'only entries that leave the agent in this status')
    .option('--last-event-id <id>', 'resume after this feed id')
    .option('-f, --follow', 'follow the stream (the default)')
    .action(
      async (opts: { agent?: string; type?: string; status?: string; lastEventId?: string }, command: Command) => {
        const ctx = contextOf(command);
        await followStream(
          ctx.gateway,
          '/api/events',
          { agentId: opts.agent, type: opts.type, status: opts.status },
          (message) => (ctx.out.json ? ctx.out.value(message.data) : ctx.out.line(streamLine(message))),
          {
            signal: ctx.interrupt,
            onOpen: () => ctx.out.note(`following ${ctx.gateway.url}/api/events (Ctrl-C to stop)`),
            ...(opts.lastEventId ? { lastEventId: opts.lastEventId } : {}),
            onReconnect: (ms, reason) => ctx.out.note(`stream dropped (${reason}); reconnecting in ${ms} ms`),
          },
        );
        ctx.interrupted();
      },
    );
}
