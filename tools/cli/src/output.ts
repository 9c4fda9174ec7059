import Table from 'cli-table3';
import { createSpinner, type Spinner } from 'nanospinner';
import { type CliError } from './exit-codes';

/** A text stream the output writes to (process.stdout / process.stderr, or a fake in unit tests). */
export interface Sink {
  write(text: string): unknown;
  isTTY?: boolean;
  /** A terminal's width; 0 or unknown on a pseudo-terminal without a size. */
  columns?: number;
}

/**
 * Everything the CLI prints goes through here, so one switch (`--json`) decides the format: with
 * `--json` stdout carries only JSON (one value per line, the API's own bodies) and nothing
 * decorative is ever drawn; without it, tables and lines for people. Spinners are drawn on
 * stderr, and only when both stdout and stderr are terminals, so a pipe or a log file never
 * receives spinner frames.
 */
export class Output {
  constructor(
    readonly json: boolean,
    private readonly stdout: Sink = process.stdout,
    private readonly stderr: Sink = process.stderr,
  ) {}

  /** Whether a person watches: spinners, colours and screen clearing are allowed. */
  get interactive(): boolean {
    return !this.json && this.stdout.isTTY === true && this.stderr.isTTY === true;
  }

  /** One JSON value on one line (`--json`). */
  value(value: unknown): void {
    this.stdout.write(`${JSON.stringify(value)}\n`);
  }

  line(text = ''): void {
    this.stdout.write(`${text}\n`);
  }

  /** A note for people (next-page hints, reconnects): stderr, never in `--json` output. */
  note(text: string): void {
    if (!this.json) this.stderr.write(`${text}\n`);
  }

  /** Writes raw text (screen control for `top`). */
  raw(text: string): void {
    this.stdout.write(text);
  }

  /** A borderless, left-aligned table such as kubectl prints. */
  table(head: string[], rows: (string | number | undefined)[][]): string {
    const blank = Object.fromEntries(
      [
        'top',
        'top-mid',
        'top-left',
        'top-right',
        'bottom',
        'bottom-mid',
        'bottom-left',
        'bottom-right',
        'left',
        'left-mid',
        'mid',
        'mid-mid',
        'right',
        'right-mid',
      ].map((name) => [name, '']),
    );
    const table = new Table({
      head,
      chars: { ...blank, middle: '  ' },
      style: { head: this.interactive ? ['bold'] : [], border: [], 'padding-left': 0, 'padding-right': 0 },
    });
    for (const row of rows) table.push(row.map((cell) => (cell === undefined ? '' : String(cell))));
    // cli-table3 pads the last column too; trailing blanks only get in the way of a grep.
    return table
      .toString()
      .split('\n')
      .map((line) => line.trimEnd())
      .join('\n');
  }

  /**
   * Runs `work` behind a spinner (on a terminal) whose text `work` may update; the spinner is
   * cleared whatever the outcome, so the result is printed on a clean line.
   */
  async waiting<T>(text: string, work: (update: (text: string) => void) => Promise<T>): Promise<T> {
    let spinner: Spinner | undefined;
    // nanospinner divides by the width to know how many lines to clear: a terminal without one
    // (a bare pty) would have it clear lines forever.
    if (this.interactive && (this.stderr.columns ?? 0) > 0)
      spinner = createSpinner(text, { stream: this.stderr as NodeJS.WriteStream }).start();
    try {
      return await work((next) => spinner?.update({ text: next }));
    } finally {
      spinner?.clear();
      spinner?.stop();
    }
  }

  /** The error of a failed command: its JSON body on stdout with `--json`, else a line on stderr. */
  error(error: CliError): void {
    if (this.json) {
      this.value(error.body);
      return;
    }
    this.stderr.write(
      `error: ${error.code}: ${error.message}${error.requestId ? ` (request ${error.requestId})` : ''}\n`,
    );
    const details = error.body.error.details;
    if (Array.isArray(details)) {
      for (const detail of details as { field?: unknown; message?: unknown }[]) {
        // The gateway's message already names the fields of an invalid request.
        if (typeof detail?.field === 'string' && !error.message.includes(`${detail.field}:`))
          this.stderr.write(`  ${detail.field}: ${String(detail.message)}\n`);
      }
    }
  }
}
