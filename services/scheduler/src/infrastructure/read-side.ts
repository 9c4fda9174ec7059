import { Collections, type AgentView, type SessionAgentRecord } from '@drover/contracts';
import type { Store } from '@drover/store';

/** What the scheduler reads each tick. Read-only: the persistence agent owns these documents. */
export interface SchedulerSnapshot {
  agents: AgentView[];
  sessionAgents: SessionAgentRecord[];
}

const WATCHED = ['queued', 'starting', 'running', 'stopping', 'interrupted'];
/** Sleeping agents matter only when a schedule may wake them. */
const SLEEPING = ['stopped', 'failed'];

export async function readSnapshot(store: Store): Promise<SchedulerSnapshot> {
  const agents = await store.documents.collection(Collections.agents).find(
    {
      or: [
        { field: 'status', op: 'in', value: WATCHED },
        {
          and: [
            { field: 'status', op: 'in', value: SLEEPING },
            { field: 'schedule', op: 'exists', value: true },
          ],
        },
      ],
    },
    { sort: [{ field: 'agentId', direction: 'asc' }] },
  );
  const sessionAgents = await store.documents.collection(Collections.sessionAgents).find();
  return {
    agents: agents as unknown as AgentView[],
    sessionAgents: sessionAgents as unknown as SessionAgentRecord[],
  };
}
