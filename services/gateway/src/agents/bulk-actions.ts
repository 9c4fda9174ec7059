import {
  MAX_BULK_AGENTS,
  type AgentCommand,
  type AgentView,
  type BulkActionRequest,
  type BulkActionResponse,
  type Page,
} from '@drover/contracts';
import { ApiError } from '../infrastructure/api-error';
import { BusClients } from '../infrastructure/bus-clients';

/** Commands in flight at once in one bulk action: the engine is not flooded, the answer comes in time. */
const CONCURRENCY = 8;
/** Agents read per page while the selector is resolved. */
const PAGE = 500;

type BulkResult = BulkActionResponse['results'][number];

/** The command one bulk action sends one agent. */
export function commandFor(action: BulkActionRequest['action'], agentId: string, reason?: string): AgentCommand {
  const messageId = BusClients.newCommandId();
  const payload = reason ? { reason } : {};
  switch (action) {
    case 'stop':
      return { messageId, type: 'agent.stop', agentId, payload };
    case 'restart':
      return { messageId, type: 'agent.restart', agentId, payload };
    case 'pause':
      return { messageId, type: 'agent.pause', agentId, payload };
    case 'resume':
      return { messageId, type: 'agent.resume', agentId, payload: {} };
  }
}

/**
 * A bulk action: the agents the selector matches on the read side (paged in id order, at most
 * `MAX_BULK_AGENTS`, else a 400 naming `selector` before anything is sent), then one command per
 * agent, `CONCURRENCY` at a time, each answered in the result: the engine's outcome, or its error.
 */
export async function runBulkAction(clients: BusClients, request: BulkActionRequest): Promise<BulkActionResponse> {
  const { status, behavior, label } = request.selector;
  const agentIds: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await clients.ask<Page<AgentView>>({
      query: 'agent.list',
      limit: PAGE,
      ...(status ? { status } : {}),
      ...(behavior ? { behavior } : {}),
      ...(label ? { labels: label } : {}),
      ...(cursor ? { cursor } : {}),
    });
    agentIds.push(...page.items.map((agent) => agent.agentId));
    if (agentIds.length > MAX_BULK_AGENTS) {
      throw ApiError.invalid([
        {
          field: 'selector',
          message: `matches more than ${MAX_BULK_AGENTS} agents; narrow it (status, behavior, label) and act in parts`,
        },
      ]);
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor);

  const results: BulkResult[] = new Array<BulkResult>(agentIds.length);
  let next = 0;
  const worker = async () => {
    while (next < agentIds.length) {
      const index = next++;
      results[index] = await actOn(clients, commandFor(request.action, agentIds[index]!, request.reason));
    }
  };
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, agentIds.length) }, worker));
  return { matched: agentIds.length, results };
}

async function actOn(clients: BusClients, command: AgentCommand): Promise<BulkResult> {
  const base = { agentId: command.agentId, commandId: command.messageId };
  try {
    const result = await clients.send(command);
    if ('pending' in result) return { ...base, ok: true, outcome: 'pending' };
    if (!result.ok) return { ...base, ok: false, error: { code: result.error.code, message: result.error.message } };
    return { ...base, ok: true, status: result.view.status, outcome: result.outcome };
  } catch (error) {
    const failure = error instanceof ApiError ? error : new ApiError(500, 'internal', 'the command failed');
    return { ...base, ok: false, error: { code: failure.code, message: failure.message } };
  }
}
