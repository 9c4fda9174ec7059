import { Collections, type AgentView, type SessionAgentRecord } from '@drover/contracts';
import type { Store } from '@drover/store';

/** What the scheduler reads each tick. Read-only: the persistence agent owns these documents. */
export interface SchedulerSnapshot {
  agents: AgentView[];
  sessionAgents: SessionAgentRecord[];
}

const WATCHED = ['queued', 'starting', 'running', 'stopping', 'interrupted'];

export async function readSnapshot(store: Store): Promise<SchedulerSnapshot> {
  const agents = await store.documents
    .collection(Collections.agents)
    .find({ field: 'status', op: 'in', value: WATCHED }, { sort: [{ field: 'agentId', direction: 'asc' }] });
  const sessionAgents = await store.documents.collection(Collections.sessionAgents).find();
  return {
    agents: agents as unknown as AgentView[],
    sessionAgents: sessionAgents as unknown as SessionAgentRecord[],
  };
}
