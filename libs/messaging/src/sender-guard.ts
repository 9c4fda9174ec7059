import { AGENT_COMMAND_TYPES, RoutingKeys, type BusRole, type BusUsers } from '@drover/contracts';
import type { Logger } from '@drover/runtime';
import { BusDecorator } from './bus-decorator';
import type { Bus, Delivery, Handler, SubscribeOptions, Subscription } from './bus.port';
import { deadLetter } from './outcomes';
import { Queues } from './topology';

/** The commands users send (the gateway, operators, bootstrap's profile); the rest are the scheduler's. */
const USER_COMMANDS: readonly string[] = [
  'agent.start',
  'agent.stop',
  'agent.restart',
  'agent.pause',
  'agent.resume',
  'agent.label',
];
const SCHEDULER_COMMANDS: readonly string[] = AGENT_COMMAND_TYPES.filter((type) => !USER_COMMANDS.includes(type));

/** Who may send a command of this type (the routing key; the engine checks it against the body's type). */
function commandSenders(routingKey: string): readonly BusRole[] {
  if (USER_COMMANDS.includes(routingKey)) return ['gateway', 'scheduler', 'bootstrap', 'operator'];
  if (SCHEDULER_COMMANDS.includes(routingKey)) return ['scheduler'];
  return [];
}

/**
 * Which roles may publish what reaches each queue (docs/security.md, "Trust boundaries on the bus"). The
 * broker's permissions decide which exchanges a user may publish to; these rules also cover what
 * permissions cannot tell apart: routing keys, and the default exchange through which retries and
 * replies travel (a user allowed to publish there can address any queue by name).
 */
export function allowedSenders(queue: string, routingKey: string): readonly BusRole[] | undefined {
  switch (queue) {
    case Queues.engineCommands:
    case Queues.persistenceCommands:
      return commandSenders(routingKey);
    case Queues.engineReports:
    case Queues.persistenceReports:
    case Queues.persistenceHeartbeats:
      return ['session-agent'];
    case Queues.pendingSessions:
    case Queues.persistenceEvents:
      return ['engine'];
    case Queues.persistenceTasks:
      // Read queries feed the gateway's API; generic tasks are limited per role by the persistence agent.
      return routingKey === RoutingKeys.readQuery ? ['gateway', 'operator'] : ['session-agent', 'gateway', 'operator'];
    default:
      // A session agent's own queue (`session-agent.<id>`): the engine's dispatches; a gateway's
      // live feed queue (`gateway.feed.<id>`): the persistence agent's feed entries.
      if (queue.startsWith('session-agent.')) return ['engine'];
      return queue.startsWith('gateway.feed.') ? ['persistence-agent'] : undefined;
  }
}

/**
 * The bus, telling senders apart (`DROVER_BUS_USERS`): every delivery gets its sender's role in
 * `senderRole`, and one from a user with no role allowed on its queue (or with no `user_id` at
 * all) is dead-lettered with the reason before any handler sees it, and answered with
 * `forbidden_sender` when its publisher waits for a reply. Queues without a rule (tests' own
 * queues) only get the role.
 */
export class SenderGuardBus extends BusDecorator {
  constructor(
    bus: Bus,
    private readonly users: BusUsers,
    private readonly logger?: Logger,
  ) {
    super(bus);
  }

  override subscribe(queue: string, handler: Handler, options?: SubscribeOptions): Promise<Subscription> {
    return this.inner.subscribe(
      queue,
      async (delivery) => {
        const role = delivery.sender === undefined ? undefined : this.users.get(delivery.sender);
        const allowed = allowedSenders(queue, delivery.routingKey);
        if (allowed && (role === undefined || !allowed.includes(role))) {
          const reason = refusal(delivery, role, queue, allowed);
          this.logger?.warn(
            { queue, messageId: delivery.messageId, sender: delivery.sender, reason },
            'sender refused',
          );
          await delivery.reply?.({ ok: false, error: { code: 'forbidden_sender', message: reason } });
          return deadLetter(reason);
        }
        return handler(role === undefined ? delivery : { ...delivery, senderRole: role });
      },
      options,
    );
  }
}

function refusal(delivery: Delivery, role: BusRole | undefined, queue: string, allowed: readonly BusRole[]): string {
  const who =
    delivery.sender === undefined
      ? 'a message without user_id'
      : `sender ${delivery.sender} (${role ?? 'no role in DROVER_BUS_USERS'})`;
  const whom = allowed.length ? `only ${allowed.join(', ')}` : 'nobody';
  return `${who} may not send ${delivery.routingKey} to ${queue}: ${whom} may`;
}
