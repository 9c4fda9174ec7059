import { AgentEvent, type AgentView, type PublishedAgentEvent } from '@drover/contracts';
import { agentView, evolve, initialState, type AgentState } from '@drover/domain';

/** What one published event does to the stored view of its agent. */
export type ViewStep =
  /** The stored view already holds this event's commit (a redelivery, or a reordered event). */
  | { kind: 'older' }
  /** The event applied to the stored view: the view of the next version. */
  | { kind: 'applied'; view: AgentView }
  /** The view must be rebuilt from the stream: a version was skipped, or the commit is not one event. */
  | { kind: 'rebuild' };

/**
 * The version guard of the projector. An event whose commit directly follows the stored view and
 * holds that one event is applied to the view by `evolve`, as the engine applied it to the state:
 * a view is the agent's state with the proxy's credentials and secret config values masked, and
 * `evolve` never reads those two fields (a start replaces them with the event's own, masked again
 * by `agentView`; masking a masked value changes nothing). Anything else (a gap, an event of a
 * commit of several, or an event of an older engine that does not say how many its commit holds)
 * asks for a rebuild from the stream, which repairs a lost or reordered event.
 */
export function nextView(stored: AgentView | undefined, event: PublishedAgentEvent): ViewStep {
  const storedVersion = stored?.version ?? 0;
  if (storedVersion >= event.version) return { kind: 'older' };
  if (storedVersion !== event.version - 1 || event.eventsInCommit !== 1) return { kind: 'rebuild' };
  const parsed = AgentEvent.safeParse({ type: event.type, data: event.data });
  if (!parsed.success) return { kind: 'rebuild' };
  const state = stored ? stateOf(stored) : initialState(event.agentId);
  return {
    kind: 'applied',
    view: agentView({ ...evolve(state, parsed.data, event.occurredAt), version: event.version }),
  };
}

/** The stored view as the state `evolve` takes: the document without the store's `_id`. */
function stateOf(stored: AgentView): AgentState {
  const { _id, ...view } = stored as AgentView & { _id?: unknown };
  void _id;
  return view;
}
