import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { agentsCommand } from './commands/agents';
import { deadCommand } from './commands/dead';
import { eventsCommand } from './commands/events';
import { publishCommand } from './commands/publish';
import { topCommand } from './commands/top';
import { Context, type GlobalOptions } from './context';
import { CliError, ExitCode } from './exit-codes';
import { Output } from './output';

/** The gateway's own default (PORT 8080 on 127.0.0.1), as `npm start` runs it. */
export const DEFAULT_URL = 'http://127.0.0.1:8080';

export interface Io {
  stdout: { write(text: string): unknown; isTTY?: boolean };
  stderr: { write(text: string): unknown; isTTY?: boolean };
  env: Record<string, string | undefined>;
  /** Ctrl-C: follows and waits end with exit 130 when it fires. */
  interrupt: AbortSignal;
}

/** The `drover` program (commander): global options, then one module per command group. */
export function buildProgram(io: Io): Command {
  const program = new Command('drover')
    .description('Operate a Drover fleet from a shell: agents, live events, commands, dead letters, load')
    .version(readVersion(), '-V, --version')
    .option('--url <url>', `the gateway (env: DROVER_URL, default: ${DEFAULT_URL})`)
    .option('--api-key <key>', 'the API key, sent as Authorization: Bearer (env: DROVER_API_KEY)')
    .option('--json', 'print JSON only: the API answers, one value per line')
    .option('--request-id <id>', 'sent as X-Request-Id: the correlationId of the commands this run sends')
    .showHelpAfterError('(drover --help for usage)')
    .configureOutput({ writeOut: (text) => io.stdout.write(text), writeErr: (text) => io.stderr.write(text) })
    .exitOverride();
  program.addHelpText(
    'after',
    '\nExit codes: 0 ok, 1 the API or broker answered an error, 2 usage or validation error,\n' +
      '3 gateway or broker unreachable, 4 not found (404), 130 interrupted (Ctrl-C).',
  );

  const contextOf = (command: Command) => {
    const given = command.optsWithGlobals<Partial<GlobalOptions>>();
    // Flags win over the environment; the key is never shown as a default in --help.
    const apiKey = given.apiKey ?? io.env.DROVER_API_KEY;
    const options: GlobalOptions = {
      url: given.url ?? io.env.DROVER_URL ?? DEFAULT_URL,
      ...(apiKey ? { apiKey } : {}),
      json: given.json === true,
      ...(given.requestId ? { requestId: given.requestId } : {}),
    };
    return new Context(options, io.interrupt, new Output(options.json === true, io.stdout, io.stderr), io.env);
  };
  agentsCommand(program, contextOf);
  eventsCommand(program, contextOf);
  publishCommand(program, contextOf);
  deadCommand(program, contextOf);
  topCommand(program, contextOf);
  // Every subcommand reports usage errors through the same override (exit 2, not commander's 1).
  const override = (command: Command): void => {
    for (const sub of command.commands) {
      sub.exitOverride().configureOutput(program.configureOutput()).showHelpAfterError('(add --help for usage)');
      override(sub);
    }
  };
  override(program);
  return program;
}

/** Runs the CLI with `argv` (without node and the script) and resolves with the exit code. */
export async function runCli(argv: readonly string[], io: Io): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return ExitCode.ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and --version end with 0; anything commander refused is a usage error.
      return error.exitCode === 0 ? ExitCode.ok : ExitCode.usage;
    }
    const json = argv.includes('--json');
    const out = new Output(json, io.stdout, io.stderr);
    if (error instanceof CliError) {
      if (error.exitCode !== ExitCode.interrupted) out.error(error);
      return error.exitCode;
    }
    if (io.interrupt.aborted) return ExitCode.interrupted;
    out.error(new CliError(ExitCode.apiError, 'internal', (error as Error)?.stack ?? String(error)));
    return ExitCode.apiError;
  }
}

function readVersion(): string {
  // package.json sits at the repository (or image) root; dist/tools/cli/src is four levels down.
  for (const path of ['../../../package.json', '../../../../package.json']) {
    try {
      return (JSON.parse(readFileSync(join(__dirname, path), 'utf8')) as { version: string }).version;
    } catch {
      // try the next
    }
  }
  return '0.0.0';
}
