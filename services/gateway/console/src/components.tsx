import type { ComponentChildren } from 'preact';

export function StatusBadge({ status }: { status: string | undefined }) {
  return status ? <span class={`status status-${status}`}>{status}</span> : null;
}

export function ErrorLine({ error }: { error: string | undefined }) {
  return error ? (
    <p class="error" role="alert">
      {error}
    </p>
  ) : null;
}

export function Notice({ children }: { children: ComponentChildren }) {
  return (
    <p class="notice" role="status">
      {children}
    </p>
  );
}

/** Local time, to the second; the ISO value on hover. */
export function Time({ at }: { at: string | undefined }) {
  if (!at) return <span class="muted">—</span>;
  const date = new Date(at);
  return (
    <time dateTime={at} title={at}>
      {Number.isNaN(date.getTime()) ? at : date.toLocaleString()}
    </time>
  );
}

export function Json({ value }: { value: unknown }) {
  return <pre class="json">{JSON.stringify(value, null, 2)}</pre>;
}

/**
 * Previous and next over the API's cursor pages: `cursors` is the trail of cursors that led to
 * the current page (the first is undefined), so going back is dropping the last one.
 */
export function Pager({
  cursors,
  nextCursor,
  onChange,
  children,
}: {
  cursors: (string | undefined)[];
  nextCursor: string | null | undefined;
  onChange: (cursors: (string | undefined)[]) => void;
  children?: ComponentChildren;
}) {
  return (
    <div class="pager">
      <button type="button" disabled={cursors.length <= 1} onClick={() => onChange(cursors.slice(0, -1))}>
        ← Previous
      </button>
      {children}
      <button type="button" disabled={!nextCursor} onClick={() => nextCursor && onChange([...cursors, nextCursor])}>
        Next →
      </button>
    </div>
  );
}
