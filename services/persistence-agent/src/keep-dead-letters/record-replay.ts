import { Collections, DeadLetterId, REPLAY_OF_HEADER, type DeadLetterReplay } from '@drover/contracts';
import type { Delivery } from '@drover/messaging';
import type { Store } from '@drover/store';

/** The dead letter a command replays (its `x-drover-replay-of` header), when it names one. */
export function replayOf(delivery: Delivery): string | undefined {
  const value = delivery.headers[REPLAY_OF_HEADER];
  return DeadLetterId.safeParse(value).success ? (value as string) : undefined;
}

/**
 * Adds the replay to the dead letter's `replays` (once per message id, so a redelivered command
 * records nothing twice). A read, then a write: two replays of one dead letter recorded at the
 * same instant by two consumers may keep only one of them, which the command log still shows.
 */
export async function recordReplay(store: Store, deadLetterId: string, replay: DeadLetterReplay): Promise<void> {
  const letters = store.documents.collection(Collections.deadLetters);
  const letter = await letters.get(deadLetterId);
  if (!letter) return;
  const replays = Array.isArray(letter.replays) ? (letter.replays as DeadLetterReplay[]) : [];
  if (replays.some((earlier) => earlier.messageId === replay.messageId)) return;
  await letters.update({ field: '_id', op: 'eq', value: deadLetterId }, { set: { replays: [...replays, replay] } });
}
