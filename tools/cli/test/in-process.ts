import { runCli } from '../src/program';

export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout's lines parsed as JSON (for `--json`). */
  values: () => unknown[];
}

/**
 * Runs the CLI in this process with captured output and the given environment (nothing of the
 * test's own environment leaks in); `interrupt` plays Ctrl-C.
 */
export async function cli(
  args: string[],
  options: { env?: Record<string, string>; interrupt?: AbortSignal; onStdout?: (text: string) => void } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, {
    stdout: {
      write: (text: string) => {
        stdout += text;
        options.onStdout?.(text);
      },
    },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
    interrupt: options.interrupt ?? new AbortController().signal,
  });
  return {
    code,
    stdout,
    stderr,
    values: () =>
      stdout
        .split('\n')
        .filter((line) => line.trim())
        .map((line) => JSON.parse(line) as unknown),
  };
}
