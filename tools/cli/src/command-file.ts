import { readFileSync } from 'node:fs';
import { AgentCommand, describeZodError, reservedPrefixError } from '@drover/contracts';
import { CliError } from './exit-codes';

/**
 * The commands of a file (or stdin with `-`): one JSON object, a JSON array of them, or JSON
 * Lines (one object per line). Everything is parsed before anything is sent, so a typo on line
 * 40 never leaves the first 39 commands published.
 */
export function readCommandFile(path: string): unknown[] {
  let text: string;
  try {
    text = readFileSync(path === '-' ? 0 : path, 'utf8');
  } catch (error) {
    throw CliError.usage(`cannot read "${path}": ${(error as Error).message}`);
  }
  return parseCommands(text, path === '-' ? 'stdin' : path);
}

export function parseCommands(text: string, source: string): unknown[] {
  if (!text.trim()) throw CliError.usage(`${source}: no command in it`);
  let whole: unknown;
  try {
    whole = JSON.parse(text);
  } catch {
    whole = undefined;
  }
  if (whole !== undefined) {
    const commands = Array.isArray(whole) ? (whole as unknown[]) : [whole];
    if (!commands.length) throw CliError.usage(`${source}: an empty array`);
    commands.forEach((command, i) => {
      if (typeof command !== 'object' || command === null || Array.isArray(command)) {
        throw CliError.usage(`${source}${Array.isArray(whole) ? ` [${i}]` : ''}: a command is a JSON object`);
      }
    });
    return commands;
  }
  const commands: unknown[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    try {
      commands.push(JSON.parse(line));
    } catch (error) {
      throw CliError.usage(`${source} line ${i + 1}: not valid JSON: ${(error as Error).message}`);
    }
    if (typeof commands.at(-1) !== 'object' || commands.at(-1) === null || Array.isArray(commands.at(-1))) {
      throw CliError.usage(`${source} line ${i + 1}: a command is a JSON object`);
    }
  });
  return commands;
}

/**
 * Each command checked against the contracts' `AgentCommand` (what the engine accepts from
 * `drover.commands`) and the message id prefixes reserved for the scheduler and bootstrap; the
 * first invalid one is a usage error naming its fields, e.g. `[1] payload.behavior: Required`.
 */
export function validateCommands(commands: readonly unknown[]): AgentCommand[] {
  return commands.map((command, i) => {
    const parsed = AgentCommand.safeParse(command);
    const where = commands.length > 1 ? `[${i}] ` : '';
    if (parsed.success) {
      // Ids the scheduler and bootstrap derive are theirs alone (as the gateway checks): taking
      // one first would make theirs a "duplicate" of this command.
      const reserved = reservedPrefixError(parsed.data.messageId, 'operator');
      if (reserved) {
        throw CliError.usage(`${where}invalid command: messageId: ${reserved}`, {
          index: i,
          issues: [{ field: 'messageId', message: reserved }],
        });
      }
      return parsed.data;
    }
    throw CliError.usage(`${where}invalid command: ${describeZodError(parsed.error)}`, {
      index: i,
      issues: parsed.error.issues.map((issue) => ({ field: issue.path.join('.') || '(root)', message: issue.message })),
    });
  });
}
