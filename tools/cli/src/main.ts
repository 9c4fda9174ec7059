import { ExitCode } from './exit-codes';
import { runCli } from './program';

/**
 * `drover`: the entry point bin/drover.mjs runs. Ctrl-C aborts what follows or waits, which then
 * ends with exit 130; a second Ctrl-C (or one during a plain request) exits at once.
 */
const interrupt = new AbortController();
process.on('SIGINT', () => {
  if (interrupt.signal.aborted) process.exit(ExitCode.interrupted);
  interrupt.abort();
  // A plain request does not watch the signal: give it no more than a moment.
  setTimeout(() => process.exit(ExitCode.interrupted), 2_000).unref();
});

// `drover ... | head`: the reader left, so nothing more is worth writing.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

void runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  interrupt: interrupt.signal,
}).then((code) => {
  // Let stdout drain (a pipe) before leaving with the code.
  process.exitCode = code;
  if (code === ExitCode.interrupted) setImmediate(() => process.exit(code));
});
