import { type Command } from 'commander';
import type { FleetView } from '@drover/contracts';
import { type Context, seconds } from '../context';
import { CliError } from '../exit-codes';
import { type Output } from '../output';

/** Clear the screen and put the cursor home (on a terminal only). */
const CLEAR = '\x1b[2J\x1b[H';

/**
 * `drover top`: the fleet's load, refreshed every `--interval` seconds until Ctrl-C (exit 130);
 * `--once` prints one frame. On a terminal each frame replaces the last; piped, frames follow
 * each other; with `--json` each tick is one fleet JSON per line.
 */
export function topCommand(program: Command, contextOf: (command: Command) => Context): void {
  program
    .command('top')
    .description('a live fleet table: status counts, session agent capacity, queue depths, dead letters')
    .option('--interval <seconds>', 'refresh period', seconds('--interval'), 2_000)
    .option('--once', 'print one frame and exit')
    .action(async (opts: { interval: number; once?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      let frames = 0;
      while (!ctx.interrupt.aborted) {
        let fleet: FleetView;
        try {
          fleet = await ctx.gateway.get<FleetView>('/api/fleet');
        } catch (error) {
          // The first frame fails the command; later, a gateway restart only skips a frame.
          if (frames === 0 || opts.once || !(error instanceof CliError)) throw error;
          ctx.out.note(`${new Date().toISOString()} ${error.message} (retrying)`);
          await pause(opts.interval, ctx.interrupt);
          continue;
        }
        frames++;
        if (ctx.out.json) ctx.out.value(fleet);
        else
          ctx.out.raw(
            `${ctx.out.interactive ? CLEAR : frames > 1 ? '\n' : ''}${renderFleet(ctx.out, fleet, ctx.gateway.url)}\n`,
          );
        if (opts.once) return;
        await pause(opts.interval, ctx.interrupt);
      }
      ctx.interrupted();
    });
}

/** One frame of `top` as text. */
export function renderFleet(out: Output, fleet: FleetView, url: string, now = new Date()): string {
  const statuses = Object.entries(fleet.statusCounts).filter(([, n]) => n > 0);
  const total = statuses.reduce((sum, [, n]) => sum + n, 0);
  const capacity = fleet.sessionAgents.filter((s) => s.alive).reduce((sum, s) => sum + s.capacity, 0);
  const used = fleet.sessionAgents.filter((s) => s.alive).reduce((sum, s) => sum + s.sessions, 0);
  const deadByQueue = Object.entries(fleet.deadLetters.byQueue)
    .map(([queue, n]) => `${queue}: ${n}`)
    .join(', ');
  return [
    `drover ${url}  ${now.toISOString()}`,
    `agents ${total}  sessions ${used}/${capacity}  queued ${fleet.queued}  dead letters ${fleet.deadLetters.total}${deadByQueue ? ` (${deadByQueue})` : ''}`,
    '',
    statuses.length ? out.table(['STATUS', 'AGENTS'], statuses) : 'no agents',
    '',
    fleet.sessionAgents.length
      ? out.table(
          ['SESSION AGENT', 'SESSIONS', 'CAPACITY', 'LOAD', 'ALIVE', 'LAST SEEN'],
          fleet.sessionAgents.map((s) => [
            s.instanceId,
            s.sessions,
            s.capacity,
            s.capacity > 0 ? `${Math.round((100 * s.sessions) / s.capacity)}%` : '-',
            s.alive ? 'yes' : 'NO',
            s.lastSeenAt,
          ]),
        )
      : 'no session agents',
    '',
    fleet.queues.length
      ? out.table(
          ['QUEUE', 'MESSAGES', 'CONSUMERS'],
          fleet.queues.map((q) => [q.name, q.messages, q.consumers]),
        )
      : 'no queues reported',
    ...(fleet.queuesNote ? [`(${fleet.queuesNote})`] : []),
  ].join('\n');
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((done) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), done()), { once: true });
  });
}
