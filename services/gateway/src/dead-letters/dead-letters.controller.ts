import { randomUUID } from 'node:crypto';
import { Controller, Get, HttpCode, Inject, Param, Post, Query } from '@nestjs/common';
import { z } from 'zod';
import {
  DeadLetterId,
  Exchanges,
  REPLAY_ID_PREFIX,
  REPLAY_OF_HEADER,
  type DeadLetterView,
  type Page,
  type ReplayAccepted,
} from '@drover/contracts';
import { BUS, MessageTooLargeError, type Bus } from '@drover/messaging';
import { ApiError, parseOrThrow } from '../infrastructure/api-error';
import { BusClients } from '../infrastructure/bus-clients';

export const ListDeadLettersQuery = z.object({
  /** The queue the messages died in (`engine.commands`, `session-agent.<id>`...). */
  queue: z.string().min(1).max(255).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  cursor: z.string().max(200).optional(),
});

export const DeadLetterIdParam = z.object({ id: DeadLetterId });

/**
 * Dead letters as the persistence agent filed them (docs/dead-letters-and-load.md): list, show
 * (reason, origin, redacted body) and replay. A replay republishes the stored body to where it was
 * first published under a new message id (`replay:<uuid>`, also set as the body's `messageId`),
 * with the dead letter's id in `x-drover-replay-of`, which the command log records.
 */
@Controller('api/dead-letters')
export class DeadLettersController {
  constructor(
    @Inject(BusClients) private readonly clients: BusClients,
    @Inject(BUS) private readonly bus: Bus,
  ) {}

  @Get()
  list(@Query() query: unknown): Promise<Page<DeadLetterView>> {
    const { queue, limit, cursor } = parseOrThrow(ListDeadLettersQuery, query);
    return this.clients.ask<Page<DeadLetterView>>({
      query: 'deadLetter.list',
      limit,
      ...(queue ? { queue } : {}),
      ...(cursor ? { cursor } : {}),
    });
  }

  @Get(':id')
  get(@Param() params: unknown): Promise<DeadLetterView> {
    const { id } = parseOrThrow(DeadLetterIdParam, params);
    return this.clients.ask<DeadLetterView>({ query: 'deadLetter.get', id });
  }

  @Post(':id/replay')
  @HttpCode(202)
  async replay(@Param() params: unknown): Promise<ReplayAccepted> {
    const { id } = parseOrThrow(DeadLetterIdParam, params);
    const letter = await this.clients.ask<DeadLetterView>({ query: 'deadLetter.get', id });
    // The keeper decided it when filing; the exchange is checked again, as the gateway publishes only commands.
    if (!letter.replayable || letter.exchange !== Exchanges.commands) {
      const reason = letter.notReplayableReason ?? `only commands (exchange ${Exchanges.commands}) are replayed`;
      throw new ApiError(409, 'not_replayable', `dead letter ${id} cannot be replayed: ${reason}`);
    }
    const messageId = `${REPLAY_ID_PREFIX}${randomUUID()}`;
    const body = { ...(letter.body as Record<string, unknown>), messageId };
    try {
      await this.bus.publish(letter.exchange, letter.routingKey, body, {
        messageId,
        headers: { [REPLAY_OF_HEADER]: id },
      });
    } catch (error) {
      if (error instanceof MessageTooLargeError) {
        throw new ApiError(409, 'not_replayable', `dead letter ${id} is larger than the bus carries`);
      }
      throw new ApiError(503, 'unavailable', 'the bus is not reachable', undefined, error);
    }
    return { deadLetterId: id, messageId };
  }
}
