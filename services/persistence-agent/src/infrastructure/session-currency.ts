import { Collections, type AgentView } from '@drover/contracts';
import { staleSessionReason, type SessionClaim } from '@drover/domain';
import type { Store } from '@drover/store';

/**
 * Why what a session sends (an activity, a cookie save) must be dropped, judged against the
 * agent's view; undefined when the session may be current (docs/design.md, "Stale sessions").
 */
export async function staleSessionReasonFor(
  store: Store,
  agentId: string,
  claim: SessionClaim,
): Promise<string | undefined> {
  const view = (await store.documents.collection(Collections.agents).get(agentId)) as unknown as AgentView | undefined;
  return staleSessionReason(view, claim);
}
