import { Controller, Inject } from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { Collections } from '@drover/contracts';
import { Queues } from '@drover/messaging';
import { BusContext } from '@drover/messaging/nest';
import { STORE, type Store } from '@drover/store';
import { mergeDocument } from '../infrastructure/documents';
import { recordReplay, replayOf } from '../keep-dead-letters/record-replay';

/**
 * Records every command as `received` the moment it is published, so `GET /api/commands/{id}`
 * answers before the engine has. Malformed commands are the engine's to dead-letter; here they
 * are skipped.
 */
@Controller()
export class CommandLog {
  constructor(@Inject(STORE) private readonly store: Store) {}

  @EventPattern(Queues.persistenceCommands)
  async onCommand(@Ctx() context: BusContext): Promise<void> {
    const delivery = context.getDelivery();
    const body = delivery.body as {
      messageId?: unknown;
      type?: unknown;
      agentId?: unknown;
      correlationId?: unknown;
    } | null;
    if (typeof body?.messageId !== 'string' || typeof body.agentId !== 'string') return;
    const commands = this.store.documents.collection(Collections.commands);
    // A messageId already recorded for another agent or type is a reuse the engine refuses
    // (dead-letters): the entry stays the first command's.
    const known = await commands.findOne({ field: '_id', op: 'eq', value: body.messageId });
    if (known && (known.agentId !== body.agentId || (known.type !== undefined && known.type !== body.type))) return;
    const receivedAt = new Date().toISOString();
    // A replay of a dead letter (`POST /api/dead-letters/{id}/replay`) says so, here and on the dead letter.
    const replayed = replayOf(delivery);
    const received = {
      type: String(body.type),
      receivedAt,
      ...(replayed ? { replayOf: replayed } : {}),
      ...(typeof body.correlationId === 'string' ? { correlationId: body.correlationId } : {}),
    };
    // `state` only on creation: the engine's outcome may have been recorded first.
    await mergeDocument(commands, body.messageId, received, {
      commandId: body.messageId,
      agentId: body.agentId,
      state: 'received',
    });
    if (replayed) await recordReplay(this.store, replayed, { messageId: body.messageId, at: receivedAt });
  }
}
