import { readFileSync } from 'node:fs';
import { type Command } from 'commander';
import type { ActivityView, AgentView, BulkActionResponse, CommandView, Page } from '@drover/contracts';
import { collect, type Context, parseLabels, positiveInt, seconds } from '../context';
import { CliError, ExitCode } from '../exit-codes';
import { activityLine, agentLines, labelsText, streamLine } from '../format';
import { followStream } from '../sse';

type ContextOf = (command: Command) => Context;

/** The answer of start, stop, restart, pause and resume (202), or the agent's view (200, a no-op). */
interface ActionAnswer {
  agentId: string;
  status: string;
  commandId?: string;
  outcome?: string;
}

/** The status each action leads to: what a bare `--wait` waits for. */
const TARGETS = { start: 'running', stop: 'stopped', restart: 'running', pause: 'paused', resume: 'running' } as const;
type Action = keyof typeof TARGETS;

const DESCRIPTIONS = {
  restart: 'start an agent again with its last start (behaviour, config, proxy, labels, secrets)',
  pause: 'pause an agent: its behaviour stops acting, its session stays',
  resume: 'resume a paused agent',
} as const;

const DEFAULT_WAIT_MS = 120_000;
const POLL_MS = 500;

/** `drover agents ...`: start, stop, restart, pause, resume, list, get and logs. */
export function agentsCommand(program: Command, contextOf: ContextOf): void {
  const agents = program.command('agents').description('start, stop and inspect agents');

  agents
    .command('list')
    .description('list agents (a page, or every page with --all)')
    .option('--status <status>', 'only agents in this status')
    .option('--behavior <name>', 'only agents of this behaviour')
    .option('--label <key=value>', 'only agents with this label (repeatable: all must match)', collect)
    .option('--limit <n>', 'agents per page (1-1000)', positiveInt('--limit', 1000))
    .option('--cursor <cursor>', 'the page after this cursor (the nextCursor of the previous page)')
    .option('--all', 'follow nextCursor until the last page')
    .action(async (opts: ListOptions, command: Command) => listAgents(contextOf(command), opts));

  agents
    .command('get <agentId>')
    .description("show one agent's view")
    .action(async (agentId: string, _opts: unknown, command: Command) => {
      const ctx = contextOf(command);
      const view = await ctx.gateway.get<AgentView>(`/api/agents/${encodeURIComponent(agentId)}`);
      if (ctx.out.json) ctx.out.value(view);
      else agentLines(view).forEach((line) => ctx.out.line(line));
    });

  withWait(
    agents
      .command('start <agentId>')
      .description('start an agent with a behaviour')
      .requiredOption('--behavior <name>', 'the behaviour to run (drover behaviors: GET /api/behaviors)')
      .option('--config <json>', "the behaviour's config as JSON")
      .option('--config-file <file>', "the behaviour's config from a JSON file ('-' for stdin)")
      .option('--proxy <url>', 'the proxy the agent browses through')
      .option('--label <key=value>', 'a label (repeatable)', collect),
  ).action(async (agentId: string, opts: StartOptions, command: Command) => {
    const ctx = contextOf(command);
    const labels = parseLabels(opts.label);
    const body = {
      agentId,
      behavior: opts.behavior,
      config: readConfig(opts),
      ...(opts.proxy ? { proxy: opts.proxy } : {}),
      ...(labels ? { labels } : {}),
    };
    const answer = await ctx.gateway.request<ActionAnswer>('POST', '/api/agents', { body });
    await reportAction(ctx, 'start', answer.status, answer.body, opts);
  });

  withWait(
    agents.command('stop <agentId>').description('stop an agent').option('--reason <text>', 'why (kept with the stop)'),
  ).action(async (agentId: string, opts: WaitOptions & { reason?: string }, command: Command) => {
    const ctx = contextOf(command);
    const answer = await ctx.gateway.request<ActionAnswer>('DELETE', `/api/agents/${encodeURIComponent(agentId)}`, {
      query: { reason: opts.reason },
    });
    await reportAction(ctx, 'stop', answer.status, answer.body, opts);
  });

  for (const action of ['restart', 'pause', 'resume'] as const) {
    const command = agents.command(`${action} <agentId>`).description(DESCRIPTIONS[action]);
    // The gateway takes a reason for restart and pause (as for stop); resume has none.
    if (action !== 'resume') command.option('--reason <text>', 'why (kept with the command)');
    withWait(command).action(async (agentId: string, opts: WaitOptions & { reason?: string }, command: Command) => {
      const ctx = contextOf(command);
      const answer = await ctx.gateway.request<ActionAnswer>(
        'POST',
        `/api/agents/${encodeURIComponent(agentId)}/${action}`,
        opts.reason ? { body: { reason: opts.reason } } : { body: {} },
      );
      await reportAction(ctx, action, answer.status, answer.body, opts);
    });
  }

  agents
    .command('bulk <action>')
    .description('stop, restart, pause or resume every agent a selector matches (at most 1000)')
    .option('--status <status>', 'agents in this status')
    .option('--behavior <name>', 'agents of this behaviour')
    .option('--label <key=value>', 'agents with this label (repeatable: all must match)', collect)
    .option('--all', 'every agent (needed when no other criterion is given)')
    .option('--reason <text>', 'why (for stop, restart and pause)')
    .action(async (action: string, opts: BulkOptions, command: Command) => {
      const ctx = contextOf(command);
      parseLabels(opts.label);
      const selector = {
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.behavior ? { behavior: opts.behavior } : {}),
        ...(opts.label?.length ? { label: opts.label } : {}),
        ...(opts.all ? { all: true } : {}),
      };
      const answer = await ctx.out.waiting(`${action} on the matching agents`, () =>
        ctx.gateway.request<BulkActionResponse>('POST', '/api/agents/actions', {
          body: { action, selector, ...(opts.reason ? { reason: opts.reason } : {}) },
        }),
      );
      const { matched, results } = answer.body;
      const failed = results.filter((result) => !result.ok);
      if (ctx.out.json) ctx.out.value(answer.body);
      else {
        if (results.length) {
          const rows = results.map((r) => [
            r.agentId,
            r.ok ? 'ok' : 'FAILED',
            r.status,
            r.outcome,
            r.error ? `${r.error.code}: ${r.error.message}` : '',
          ]);
          ctx.out.line(ctx.out.table(['AGENT', 'RESULT', 'STATUS', 'OUTCOME', 'ERROR'], rows));
        }
        ctx.out.note(`${action}: ${matched} matched, ${results.length - failed.length} ok, ${failed.length} failed`);
      }
      // A script learns from the exit code alone that some agents were not acted on.
      if (failed.length) {
        throw new CliError(ExitCode.apiError, 'partial_failure', `${failed.length} of ${matched} agents failed`);
      }
    });

  agents
    .command('labels <agentId> [pairs...]')
    .description("replace an agent's labels with these key=value pairs (none: remove them all)")
    .action(async (agentId: string, pairs: string[], _opts: unknown, command: Command) => {
      const ctx = contextOf(command);
      const labels = parseLabels(pairs, 'labels') ?? {};
      const answer = await ctx.gateway.request<ActionAnswer>(
        'PUT',
        `/api/agents/${encodeURIComponent(agentId)}/labels`,
        {
          body: { labels },
        },
      );
      if (ctx.out.json) ctx.out.value(answer.body);
      else
        ctx.out.line(
          `${agentId} labels ${labelsText(labels) || '(none)'} (${answer.status === 200 ? 'unchanged' : 'accepted'})`,
        );
    });

  agents
    .command('logs <agentId>')
    .description("an agent's activities, oldest first; --follow then streams its events and activities")
    .option('--limit <n>', 'how many recent activities (1-1000)', positiveInt('--limit', 1000), 20)
    .option('-f, --follow', 'keep streaming until Ctrl-C')
    .action(async (agentId: string, opts: { limit: number; follow?: boolean }, command: Command) => {
      const ctx = contextOf(command);
      const path = `/api/agents/${encodeURIComponent(agentId)}`;
      const page = await ctx.gateway.get<Page<ActivityView>>(`${path}/activities`, { limit: opts.limit });
      // The API pages newest first; a log reads oldest first, as tail does.
      for (const activity of [...page.items].reverse()) {
        if (ctx.out.json) ctx.out.value(activity);
        else ctx.out.line(activityLine(activity));
      }
      if (!opts.follow) return;
      await followStream(
        ctx.gateway,
        `${path}/events`,
        {},
        (message) => (ctx.out.json ? ctx.out.value(message.data) : ctx.out.line(streamLine(message))),
        {
          signal: ctx.interrupt,
          onOpen: () => ctx.out.note(`following ${ctx.gateway.url}${path}/events (Ctrl-C to stop)`),
          onReconnect: (ms, reason) => ctx.out.note(`stream dropped (${reason}); reconnecting in ${ms} ms`),
        },
      );
      ctx.interrupted();
    });
}

interface ListOptions {
  status?: string;
  behavior?: string;
  label?: string[];
  limit?: number;
  cursor?: string;
  all?: boolean;
}

async function listAgents(ctx: Context, opts: ListOptions): Promise<void> {
  parseLabels(opts.label); // a malformed pair is a usage error before anything is asked
  const { items, nextCursor } = await ctx.gateway.pages<AgentView>(
    '/api/agents',
    { status: opts.status, behavior: opts.behavior, label: opts.label, limit: opts.limit },
    opts.cursor,
    opts.all,
  );

  if (ctx.out.json) {
    ctx.out.value({ items, nextCursor });
    return;
  }
  const rows = items.map((view: AgentView & { labels?: unknown }) => [
    view.agentId,
    view.status,
    view.behavior,
    labelsText(view.labels),
    view.attempts,
    view.updatedAt ?? view.startedAt,
  ]);
  if (rows.length) ctx.out.line(ctx.out.table(['AGENT', 'STATUS', 'BEHAVIOR', 'LABELS', 'ATTEMPTS', 'UPDATED'], rows));
  else ctx.out.note('no agents');
  if (nextCursor) ctx.out.note(`more: --cursor ${nextCursor} (or --all)`);
}

interface BulkOptions {
  status?: string;
  behavior?: string;
  label?: string[];
  all?: boolean;
  reason?: string;
}

interface WaitOptions {
  wait?: string | boolean;
  timeout: number;
}

interface StartOptions extends WaitOptions {
  behavior: string;
  config?: string;
  configFile?: string;
  proxy?: string;
  label?: string[];
}

function withWait(command: Command): Command {
  return command
    .option('--wait [status]', 'wait until the agent reaches this status (default: where the command leads)')
    .option('--timeout <seconds>', 'how long --wait waits', seconds('--timeout'), DEFAULT_WAIT_MS);
}

/** The config of `--config` or `--config-file`: a JSON object, else a usage error naming the flag. */
function readConfig(opts: StartOptions): Record<string, unknown> {
  if (opts.config !== undefined && opts.configFile !== undefined) {
    throw CliError.usage('--config and --config-file: give one of them');
  }
  const flag = opts.config !== undefined ? '--config' : '--config-file';
  let text = opts.config;
  if (opts.configFile !== undefined) {
    try {
      text = readFileSync(opts.configFile === '-' ? 0 : opts.configFile, 'utf8');
    } catch (error) {
      throw CliError.usage(`--config-file: cannot read "${opts.configFile}": ${(error as Error).message}`);
    }
  }
  if (text === undefined) return {};
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw CliError.usage(`${flag}: not valid JSON: ${(error as Error).message}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) {
    throw CliError.usage(`${flag}: must be a JSON object`);
  }
  return config as Record<string, unknown>;
}

/** Prints a command's answer, then waits for `--wait` if asked. */
async function reportAction(ctx: Context, action: Action, httpStatus: number, answer: ActionAnswer, opts: WaitOptions) {
  if (ctx.out.json) ctx.out.value(answer);
  else if (httpStatus === 200) ctx.out.line(`${answer.agentId} ${answer.status} (nothing to ${action})`);
  else ctx.out.line(`${answer.agentId} ${answer.status} (${action} accepted, command ${answer.commandId ?? '?'})`);
  if (opts.wait === undefined || opts.wait === false) return;
  const target = opts.wait === true ? TARGETS[action] : opts.wait;
  const view = await waitForStatus(ctx, answer, target, opts.timeout);
  if (ctx.out.json) ctx.out.value(view);
  else ctx.out.line(`${view.agentId} ${view.status}`);
}

/**
 * Polls the agent's view until it reaches `target`. The read side lags the engine a little, so a
 * view is judged only once it is at least as new as the command's own transition (the version
 * the command log records); without a command id (a no-op) the current view is judged at once.
 * `failed`, or `stopped` when not waiting for it, ends the wait with exit 1 once seen twice in a row.
 */
async function waitForStatus(
  ctx: Context,
  answer: ActionAnswer,
  target: string,
  timeoutMs: number,
): Promise<AgentView> {
  const path = `/api/agents/${encodeURIComponent(answer.agentId)}`;
  const deadline = Date.now() + timeoutMs;
  let minVersion: number | undefined = answer.commandId ? undefined : 0;
  let last: AgentView | undefined;
  let endedAt: number | undefined;
  return ctx.out.waiting(`waiting for ${answer.agentId} to be ${target}`, async (update) => {
    while (Date.now() < deadline) {
      if (ctx.interrupt.aborted) ctx.interrupted();
      if (minVersion === undefined && answer.commandId) {
        const command = await ctx.gateway
          .get<CommandView>(`/api/commands/${encodeURIComponent(answer.commandId)}`)
          .catch((error: unknown) => {
            if (error instanceof CliError && error.exitCode === ExitCode.notFound) return undefined;
            throw error;
          });
        if (command?.state === 'rejected') {
          throw new CliError(
            ExitCode.apiError,
            command.error?.code ?? 'rejected',
            command.error?.message ?? 'rejected',
          );
        }
        if (command?.state === 'noop') minVersion = 0;
        else if (command?.version !== undefined) minVersion = command.version;
      }
      last = await ctx.gateway.get<AgentView>(path);
      update(`waiting for ${answer.agentId} to be ${target} (now ${last.status})`);
      if (minVersion !== undefined && last.version >= minVersion) {
        if (last.status === target) return last;
        const ended = last.status === 'failed' || (last.status === 'stopped' && target !== 'stopped');
        // A restart commits `stopped` and the next start together: the read side may show the
        // first for a moment. An end is believed once it held over two polls.
        const held = ended && endedAt === last.version;
        endedAt = ended ? last.version : undefined;
        if (held) {
          throw new CliError(
            ExitCode.apiError,
            `agent_${last.status}`,
            `${last.agentId} is ${last.status}${last.lastError ? `: ${last.lastError}` : ''} (waited for ${target})`,
          );
        }
      }
      await new Promise((done) => setTimeout(done, POLL_MS));
    }
    throw new CliError(
      ExitCode.apiError,
      'wait_timeout',
      `${answer.agentId} is ${last?.status ?? 'unknown'} after ${timeoutMs / 1000} s (waited for ${target})`,
    );
  });
}
