import type { ActivityView, AgentView } from '@drover/contracts';
import { type StreamMessage } from './sse';

/** The fields of an agent that `agents get` shows, in this order (the rest is in `--json`). */
const AGENT_FIELDS = [
  'agentId',
  'status',
  'behavior',
  'labels',
  'proxy',
  'attempts',
  'version',
  'instanceId',
  'createdAt',
  'startedAt',
  'queuedAt',
  'retryAt',
  'stoppedAt',
  'updatedAt',
  'lastError',
  'schedule',
  'config',
] as const;

/** `key=value,key=value` of an agent's labels (the `labels` field the shared contract adds). */
export function labelsText(labels: unknown): string {
  if (!labels || typeof labels !== 'object') return '';
  return Object.entries(labels as Record<string, unknown>)
    .map(([key, value]) => `${key}=${String(value)}`)
    .join(',');
}

/** `agents get` for people: one `field: value` line per known field that is set. */
export function agentLines(view: AgentView & { labels?: unknown }): string[] {
  const record = view as Record<string, unknown>;
  return AGENT_FIELDS.filter((field) => record[field] !== undefined).map((field) => {
    const value = record[field];
    const text = field === 'labels' ? labelsText(value) : typeof value === 'string' ? value : JSON.stringify(value);
    return `${`${field}:`.padEnd(12)} ${text}`;
  });
}

/** One activity as a log line: `<time>  <ok|FAIL>  <kind>  <message>`. */
export function activityLine(activity: ActivityView): string {
  const details =
    activity.details && Object.keys(activity.details).length ? ` ${JSON.stringify(activity.details)}` : '';
  return `${activity.at}  ${activity.ok ? 'ok  ' : 'FAIL'}  ${activity.kind}  ${activity.message ?? ''}${details}`.trimEnd();
}

/** The shared contract's FeedEntry (what `data:` of the live stream carries). */
interface FeedEntry {
  id?: string;
  kind?: 'event' | 'activity';
  type?: string;
  agentId?: string;
  occurredAt?: string;
  status?: string;
  data?: unknown;
}

/** One stream message for people: `<time>  <agent>  <type>  [-> status]  <data>`. */
export function streamLine(message: StreamMessage): string {
  if (typeof message.data !== 'object' || message.data === null) {
    return `${message.event ?? 'message'}  ${String(message.data)}`;
  }
  const entry = message.data as FeedEntry;
  const data = entry.data as Partial<ActivityView> | undefined;
  let summary = '';
  if (entry.kind === 'activity' && data) {
    // An activity's data is `{ ok, message?, details?, instanceId }`: shown as `agents logs` shows it.
    const details = data.details && Object.keys(data.details).length ? JSON.stringify(data.details) : '';
    summary = [data.ok === false ? 'FAIL' : '', data.message ?? '', details].filter(Boolean).join(' ');
  } else if (data && typeof data === 'object' && Object.keys(data).length) {
    summary = JSON.stringify(data);
  }
  return [
    entry.occurredAt,
    entry.agentId,
    entry.type ?? message.event,
    entry.status ? `-> ${entry.status}` : '',
    summary,
  ]
    .filter((part) => part !== undefined && part !== '')
    .join('  ')
    .trimEnd();
}
