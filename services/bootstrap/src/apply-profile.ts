import { createHash } from 'node:crypto';
import { describeIssues, Exchanges, READ_SIDE_INDEXES, type StartAgent } from '@drover/contracts';
import { validateBehaviorConfig } from '@drover/behaviors/catalog';
import type { Bus } from '@drover/messaging';
import type { Clock, Logger, Profile } from '@drover/runtime';
import type { Store } from '@drover/store';

export class ProfileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProfileError';
  }
}

/**
 * Bootstrap's work for one run-profile: the read side's indexes, then every agent the profile
 * declares as an `agent.start` command. Command ids derive from the profile and the agent's
 * declaration, so running it twice publishes the same ids and the engine commits nothing new;
 * changing a declaration gives it a new id (and a start, which is refused while it runs).
 */
export async function applyProfile(deps: {
  bus: Bus;
  store: Store;
  clock: Clock;
  logger: Logger;
  profile: Profile;
}): Promise<StartAgent[]> {
  const { bus, store, clock, logger, profile } = deps;
  const commands = profile.agents.map((declared) => startCommand(profile.name, declared, clock.now()));
  for (const command of commands) {
    const check = validateBehaviorConfig(command.payload.behavior, command.payload.config ?? {});
    if (!check.ok) {
      throw new ProfileError(`profile ${profile.name}, agent ${command.agentId}: ${describeIssues(check.issues)}`);
    }
  }
  for (const index of READ_SIDE_INDEXES) {
    await store.documents.collection(index.collection).ensureIndex(index.fields, { unique: index.unique ?? false });
  }
  for (const command of commands) {
    await bus.publish(Exchanges.commands, command.type, command, { messageId: command.messageId });
  }
  logger.info({ profile: profile.name, agents: commands.map((c) => c.agentId) }, 'profile applied');
  return commands;
}

function startCommand(profileName: string, declared: Profile['agents'][number], now: Date): StartAgent {
  const { agentId, ...payload } = declared;
  const digest = createHash('sha256').update(JSON.stringify(declared)).digest('hex').slice(0, 16);
  return {
    messageId: `bootstrap:${profileName}:${agentId}:${digest}`,
    type: 'agent.start',
    agentId,
    payload,
    occurredAt: now.toISOString(),
  };
}
