import { describe, expect, it } from '@jest/globals';
import type { AgentEvent, AgentView, PublishedAgentEvent } from '@drover/contracts';
import {
  agentView,
  decide,
  evolve,
  fold,
  type AgentState,
  type DomainMessage,
  type FoldableCommit,
} from '@drover/domain';
import { nextView } from './next-view';

const POLICY = { onInterrupt: 'restart', maxAttempts: 3, backoffInitialMs: 1_000, backoffMaxMs: 30_000 } as const;

/** A commit's events as the engine publishes them. */
function published(agentId: string, commit: FoldableCommit): PublishedAgentEvent[] {
  return commit.events.map((event, index) => ({
    messageId: `${agentId}:${commit.version}:${index}`,
    type: event.type,
    agentId,
    version: commit.version,
    commandId: `cmd-${commit.version}`,
    occurredAt: commit.committedAt,
    data: event.data,
    eventsInCommit: commit.events.length,
  }));
}

/** A tiny seeded generator (mulberry32), so a failing walk can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Every message the engine may decide on, for this agent in this state: users', the scheduler's
 * and session agents' (current and stale attempts, this host and another).
 */
function messages(state: AgentState, pick: () => number, at: string): DomainMessage[] {
  const base = { messageId: `m-${pick()}`, agentId: state.agentId, occurredAt: at };
  const report = { ...base, instanceId: pick() < 0.8 ? 'sa-1' : 'sa-2', attempt: state.attempts };
  const secret = pick() < 0.5;
  return [
    {
      ...base,
      type: 'agent.start',
      payload: {
        behavior: 'http-monitor',
        config: { url: 'http://x/', intervalMs: 100, ...(secret ? { apiKey: 'k-1', nested: { password: 'p' } } : {}) },
        ...(secret ? { proxy: 'http://bob:s3cret@proxy:8080' } : {}),
        ...(pick() < 0.3 ? { schedule: { start: '0 8 * * *', stop: '0 18 * * *' } } : {}),
      },
    },
    { ...base, type: 'agent.stop', payload: pick() < 0.5 ? { reason: 'user' } : {} },
    { ...base, type: 'agent.interrupt', payload: { reason: 'lost', ...(pick() < 0.5 ? { instanceId: 'sa-1' } : {}) } },
    { ...base, type: 'agent.start-timeout', payload: { afterMs: 60_000 } },
    { ...base, type: 'agent.recover', payload: {} },
    { ...base, type: 'agent.dequeue', payload: {} },
    { ...base, type: 'agent.wake', payload: { occurrence: at } },
    { ...base, type: 'agent.yield', payload: { ranForMs: 1 } },
    { ...report, type: 'session.started', payload: {} },
    { ...report, type: 'session.stopped', payload: {} },
    { ...report, type: 'session.failed', payload: { error: 'boom' } },
    { ...report, type: 'session.deferred', payload: { reason: 'full' } },
  ] as DomainMessage[];
}

/** A history the engine could have committed: random messages decided one after another. */
function history(agentId: string, seed: number, length: number): FoldableCommit[] {
  const pick = random(seed);
  const commits: FoldableCommit[] = [];
  let state = fold(agentId, []);
  for (let step = 0; commits.length < length && step < length * 50; step += 1) {
    const now = new Date(Date.UTC(2026, 0, 1) + step * 7_000);
    const options = messages(state, pick, now.toISOString());
    const decision = decide(state, options[Math.floor(pick() * options.length)]!, { now, policy: POLICY });
    if (decision.kind !== 'accept') continue;
    const commit = { version: state.version + 1, events: decision.events, committedAt: now.toISOString() };
    commits.push(commit);
    state = {
      ...decision.events.reduce((s: AgentState, e: AgentEvent) => evolve(s, e, commit.committedAt), state),
      version: commit.version,
    };
  }
  return commits;
}

/** The projector's loop over one store document, with the stream at hand for rebuilds. */
function project(stored: AgentView | undefined, event: PublishedAgentEvent, stream: FoldableCommit[]) {
  const step = nextView(stored, event);
  if (step.kind === 'older') return { view: stored, step: step.kind };
  if (step.kind === 'applied') return { view: step.view, step: step.kind };
  const upTo = stream.filter((c) => c.version <= event.version);
  return { view: agentView(fold(event.agentId, upTo)), step: step.kind };
}

describe('agent view projection, event by event', () => {
  const commits = history('a-1', 1, 6);
  const events = commits.flatMap((commit) => published('a-1', commit));

  it('applies each next single-event commit to the stored view', () => {
    const first = nextView(undefined, events[0]!);
    expect(first.kind).toBe('applied');
    const view = (first as { view: AgentView }).view;
    expect(view).toEqual(agentView(fold('a-1', commits.slice(0, 1))));
    expect(nextView(view, events[1]!).kind).toBe(commits[1]!.events.length === 1 ? 'applied' : 'rebuild');
  });

  it('rebuilds on a gap, changes nothing for an older or repeated event', () => {
    const atOne = agentView(fold('a-1', commits.slice(0, 1)));
    const atThree = agentView(fold('a-1', commits.slice(0, 3)));
    expect(nextView(atOne, published('a-1', commits[2]!)[0]!).kind).toBe('rebuild');
    expect(nextView(undefined, published('a-1', commits[1]!)[0]!).kind).toBe('rebuild');
    expect(nextView(atThree, published('a-1', commits[1]!)[0]!).kind).toBe('older');
    expect(nextView(atThree, published('a-1', commits[2]!)[0]!).kind).toBe('older');
  });

  it('rebuilds for a commit of several events, and for an event of an engine that does not count them', () => {
    const interrupted = { type: 'agent.interrupted', data: { reason: 'lost' } };
    const failed = { type: 'agent.failed', data: { error: 'lost (gave up after 3 attempts)' } };
    const atOne = agentView(fold('a-1', commits.slice(0, 1)));
    const both = published('a-1', { version: 2, events: [interrupted, failed] as AgentEvent[], committedAt: 'x' });
    expect(both.map((event) => nextView(atOne, event).kind)).toEqual(['rebuild', 'rebuild']);
    const { eventsInCommit: _count, ...uncounted } = events[1]!;
    expect(nextView(atOne, uncounted).kind).toBe('rebuild');
    expect(nextView(atOne, { ...events[1]!, type: 'agent.renamed' }).kind).toBe('rebuild');
  });

  /** Commits of several events met by the walks below. */
  let rebuiltCommits = 0;
  it.each([1, 2, 3, 4, 5, 6, 7, 8])(
    'equals the fold of the stream after every event of a long history (seed %i)',
    (seed) => {
      const stream = history(`walk-${seed}`, seed, 200);
      expect(stream.length).toBe(200);
      let view: AgentView | undefined;
      const steps = new Map<string, number>();
      let masked = 0;
      for (const commit of stream) {
        for (const event of published(`walk-${seed}`, commit)) {
          const result = project(view, event, stream);
          view = result.view;
          steps.set(result.step, (steps.get(result.step) ?? 0) + 1);
        }
        expect(view).toEqual(
          agentView(
            fold(
              `walk-${seed}`,
              stream.filter((c) => c.version <= commit.version),
            ),
          ),
        );
        expect(JSON.stringify(view)).not.toMatch(/s3cret|"k-1"|"p"/);
        if (view?.proxy === 'http://***:***@proxy:8080') masked += 1;
      }
      // Mostly applied; rebuilt only for the commits of two events (interrupted, then failed).
      const several = stream.filter((c) => c.events.length > 1).length;
      rebuiltCommits += several;
      expect(steps.get('rebuild') ?? 0).toBe(several);
      expect(steps.get('older') ?? 0).toBe(several);
      expect(steps.get('applied')).toBe(stream.length - several);
      expect(masked).toBeGreaterThan(0);
    },
  );

  it('met commits of several events in those walks', () => {
    expect(rebuiltCommits).toBeGreaterThan(0);
  });
});
