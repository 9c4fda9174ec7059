import { AGENT_COMMAND_TYPES, SESSION_REPORT_TYPES, type CommandReply } from '@drover/contracts';
import {
  agentView,
  decide,
  evolve,
  foldHead,
  type AgentState,
  type DomainMessage,
  type RecoveryPolicy,
} from '@drover/domain';
import type { Bus } from '@drover/messaging';
import type { DroverMetrics } from '@drover/platform';
import type { Clock, Logger } from '@drover/runtime';
import type { Commit, CommitRef, Snapshot, Store, StreamHead } from '@drover/store';
import { AgentLock, LeaseLostError, type AgentLockOptions, type HeldLease } from '../infrastructure/agent-lock';
import { relayCommit } from '../relay-outbox/outbox-relay';
import { correlationFor, outboxFor, stopMessage } from './outbox-for';

export interface ProcessMessageDeps {
  store: Store;
  bus: Bus;
  clock: Clock;
  logger: Logger;
  policy: RecoveryPolicy;
  lock: AgentLockOptions;
  metrics?: DroverMetrics;
}

/** `drover_commands_total` outcomes: the reply's, or `rejected`. */
const OUTCOMES = ['accepted', 'duplicate', 'noop', 'rejected'] as const;

/** Appends that lost a race are decided again on the fresh stream, a bounded number of times. */
const MAX_CONFLICT_RETRIES = 5;

/**
 * Commits after the latest snapshot at which the next append stores a new one: loading an agent
 * then reads at most this many commits, however many it has had.
 */
const SNAPSHOT_EVERY = 50;

/**
 * The engine's one job (docs/design.md, section 3): for one validated message, under the agent's
 * lock, load the stream, decide, append one commit with its outbox, relay it, and answer.
 */
export class ProcessMessageHandler {
  private readonly agentLock: AgentLock;

  constructor(private readonly deps: ProcessMessageDeps) {
    this.agentLock = new AgentLock(deps.store.locks, deps.lock);
    // Every type's series exist from the start, so rate() and increase() also see the first
    // message of a type after an engine starts.
    for (const type of [...AGENT_COMMAND_TYPES, ...SESSION_REPORT_TYPES]) {
      deps.metrics?.commandSeconds.zero({ type });
      for (const outcome of OUTCOMES) deps.metrics?.commands.inc({ type, outcome }, 0);
    }
  }

  async handle(message: DomainMessage): Promise<CommandReply> {
    const { metrics } = this.deps;
    const endTimer = metrics?.commandSeconds.startTimer({ type: message.type });
    const reply = await this.process(message);
    endTimer?.();
    metrics?.commands.inc({ type: message.type, outcome: reply.ok ? reply.outcome : 'rejected' });
    return reply;
  }

  private async process(message: DomainMessage): Promise<CommandReply> {
    // A redelivered command that committed long ago is answered without waiting for the lock.
    const committed = await this.deps.store.streams.findByCommandId(message.messageId);
    if (committed) return reusedIdReply(message, committed) ?? this.duplicateReply(message, committed);
    try {
      return await this.agentLock.run(message.agentId, async (held) => {
        for (let attempt = 0; attempt <= MAX_CONFLICT_RETRIES; attempt += 1) {
          const reply = await this.decideAndAppend(message, held);
          if (reply) return reply;
          this.deps.logger.debug(
            { agentId: message.agentId, correlationId: message.correlationId },
            'append conflict, deciding again',
          );
        }
        throw new Error(`agent ${message.agentId}: ${MAX_CONFLICT_RETRIES} append conflicts in a row`);
      });
    } catch (error) {
      if (error instanceof LeaseLostError) {
        this.deps.logger.warn(
          {
            agentId: message.agentId,
            messageId: message.messageId,
            correlationId: message.correlationId,
            err: error.message,
          },
          'lease lost: the agent is left to its new holder, the message will be retried',
        );
      }
      throw error;
    }
  }

  /**
   * Returns undefined on a version conflict so the caller reloads and decides again. Throws
   * `LeaseLostError` once the lease is lost: the message is then retried (by this engine or
   * another), and the agent's new holder relays what this one could not.
   */
  private async decideAndAppend(message: DomainMessage, held: HeldLease): Promise<CommandReply | undefined> {
    const { store, bus, clock, policy } = this.deps;
    const head = await store.streams.loadHead(message.agentId);
    const { commits } = head;
    // Two copies of one command can be in flight at once (a producer that re-published around a
    // broker outage): the second finds the first's commit in the stream it loads under the lock,
    // instead of being decided against the state it made (a start rejected as `agent_active`).
    const earlier = commits.find((commit) => commit.commandId === message.messageId);
    if (earlier) return reusedIdReply(message, earlier) ?? duplicateOf(message, earlier, head);
    await this.relayLeftBehind(commits, held);
    const now = clock.now();
    const state = foldHead(message.agentId, head);
    const decision = decide(state, message, { now, policy });
    const base = { commandId: message.messageId, agentId: message.agentId };

    if (decision.kind === 'reject') {
      return { ok: false, ...base, error: { code: decision.code, message: decision.message } };
    }
    if (decision.kind === 'noop') {
      await this.stopOrphanedSession(message, state, decision.code);
      return { ok: true, ...base, outcome: 'noop', view: agentView(state) };
    }

    const at = now.toISOString();
    const evolved = decision.events.reduce((s, event) => evolve(s, event, at), state);
    const after: AgentState = { ...evolved, version: state.version + 1 };
    const result = await store.streams.append(
      {
        agentId: message.agentId,
        version: after.version,
        commandId: message.messageId,
        commandType: message.type,
        events: decision.events,
        outbox: outboxFor(after, decision.events, message.messageId, at, correlationFor(message, commits)),
        committedAt: at,
      },
      held.lease,
      // Every commit up to `state` has been relayed just above, so the store may drop them.
      commits.length >= SNAPSHOT_EVERY ? snapshotOf(state, at) : undefined,
    );
    if (result.status === 'fenced') throw new LeaseLostError(message.agentId, 'the store refused the append');
    if (result.status === 'conflict') return undefined;
    if (result.status === 'duplicate') {
      return reusedIdReply(message, result.commit) ?? this.duplicateReply(message, result.commit);
    }
    // Relayed before the lock is released, so one agent's messages leave in commit order; and
    // only while the lease holds, or they could overtake what the next holder relays.
    held.signal.throwIfAborted();
    await relayCommit(bus, store.outbox, result.commit, clock.now().toISOString());
    return { ok: true, ...base, outcome: 'accepted', view: agentView(after) };
  }

  /**
   * Relays, in version order, the commits of this agent that an earlier holder committed but did
   * not relay (it crashed, or lost its lease between its append and its relay), so that they
   * leave before anything this holder commits.
   */
  private async relayLeftBehind(commits: Commit[], held: HeldLease): Promise<void> {
    for (const commit of commits.filter((c) => c.dispatchedAt === undefined)) {
      held.signal.throwIfAborted();
      await relayCommit(this.deps.bus, this.deps.store.outbox, commit, this.deps.clock.now().toISOString());
      this.deps.logger.info({ agentId: commit.agentId, version: commit.version }, 'relayed a commit left behind');
    }
  }

  /** A session reported started for an agent that no longer wants it: tell it to stop. */
  private async stopOrphanedSession(message: DomainMessage, state: AgentState, code: string): Promise<void> {
    if (message.type !== 'session.started' || code !== 'orphaned_session') return;
    const at = this.deps.clock.now().toISOString();
    const stop = stopMessage(
      { ...state, attempts: message.attempt },
      `${message.messageId}:orphan-stop`,
      at,
      message.instanceId,
      `agent is ${state.status}`,
    );
    this.deps.logger.info(
      { agentId: message.agentId, instanceId: message.instanceId, correlationId: message.correlationId },
      'stopping orphaned session',
    );
    await this.deps.bus.publish(stop.exchange, stop.routingKey, stop.body, { messageId: stop.messageId });
  }

  private async duplicateReply(message: DomainMessage, commit: CommitRef): Promise<CommandReply> {
    return duplicateOf(message, commit, await this.deps.store.streams.loadHead(message.agentId));
  }
}

/** The code of a refusal to answer a message with the result of another one that had its id. */
export const MESSAGE_ID_REUSED = 'message_id_reused';

/**
 * A message whose id was committed for another agent or another message type is not a copy of
 * it: answering it with that commit's result would hand one agent's state to another command. It
 * is refused instead (the consumer dead-letters it). Commits made before their type was recorded
 * are told apart by agent only.
 */
function reusedIdReply(message: DomainMessage, commit: CommitRef): CommandReply | undefined {
  const otherAgent = commit.agentId !== message.agentId;
  const otherType = commit.commandType !== undefined && commit.commandType !== message.type;
  if (!otherAgent && !otherType) return undefined;
  const what = otherAgent ? `agent ${commit.agentId}` : `a ${commit.commandType} message`;
  const text = `messageId ${message.messageId} was already used for ${what}; use a new messageId`;
  return {
    ok: false,
    commandId: message.messageId,
    agentId: message.agentId,
    error: { code: MESSAGE_ID_REUSED, message: text, details: [{ field: 'messageId', message: text }] },
  };
}

function snapshotOf(state: AgentState, at: string): Snapshot {
  return { version: state.version, state: { ...state }, takenAt: at };
}

/**
 * The answer to a command committed before: the agent as that commit left it, or, for a commit
 * older than the latest snapshot (whose events may be gone), the agent as the snapshot has it.
 */
function duplicateOf(message: DomainMessage, commit: CommitRef, head: StreamHead): CommandReply {
  const state = foldHead(message.agentId, {
    ...head,
    commits: head.commits.filter((c) => c.version <= commit.version),
  });
  return {
    ok: true,
    commandId: message.messageId,
    agentId: message.agentId,
    outcome: 'duplicate',
    view: agentView(state),
  };
}
