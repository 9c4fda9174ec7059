import { Body, Controller, Get, Inject, Param, Post, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { MessageId, reservedPrefixError, type CommandView, UserCommand } from '@drover/contracts';
import { validateBehaviorConfig } from '@drover/behaviors/catalog';
import { ApiError, parseOrThrow } from '../infrastructure/api-error';
import { BusClients } from '../infrastructure/bus-clients';
import { answerCommand } from '../infrastructure/command-answer';

/** Command envelopes as they would be published to `drover.commands`, and the command log. */
@Controller('api/commands')
export class CommandsController {
  constructor(@Inject(BusClients) private readonly clients: BusClients) {}

  @Post()
  async publish(@Body() body: unknown, @Res({ passthrough: true }) res: Response) {
    const command = parseOrThrow(UserCommand, body);
    // Ids the scheduler and bootstrap derive are theirs alone: a user's command taking one first
    // would turn theirs into a "duplicate" of it.
    const reserved = reservedPrefixError(command.messageId, 'gateway');
    if (reserved) throw ApiError.invalid([{ field: 'messageId', message: reserved }]);
    if (command.type === 'agent.start') {
      const check = validateBehaviorConfig(command.payload.behavior, command.payload.config ?? {});
      if (!check.ok) {
        const issues = check.issues.map((i) => ({ ...i, field: `payload.${i.field}` }));
        if (check.code === 'unknown_behavior') throw new ApiError(400, 'unknown_behavior', check.message, issues);
        throw ApiError.invalid(issues);
      }
    }
    const result = await this.clients.send(command, 'payload.secrets');
    return answerCommand(
      result,
      res,
      () => 202,
      (view, outcome, commandId) => ({ commandId, agentId: view.agentId, outcome, status: view.status, view }),
    );
  }

  @Get(':commandId')
  get(@Param() params: unknown): Promise<CommandView> {
    const { commandId } = parseOrThrow(z.object({ commandId: MessageId }), params);
    return this.clients.ask<CommandView>({ query: 'command.get', commandId });
  }
}
