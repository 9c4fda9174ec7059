import type { Response } from 'express';
import type { AgentView } from '@drover/contracts';
import { ApiError, statusForRejection } from './api-error';
import type { CommandResult } from './bus-clients';

export interface Answer {
  status: number;
  body: Record<string, unknown>;
}

/**
 * Turns the engine's reply into HTTP: rejections become errors, silence becomes `202 pending`
 * with a `Location` to poll, an answer becomes `shape(view)` with the status `statusFor` picks.
 */
export function answerCommand(
  result: CommandResult,
  res: Response,
  statusFor: (outcome: 'accepted' | 'duplicate' | 'noop') => number,
  shape: (view: AgentView, outcome: string, commandId: string) => Record<string, unknown>,
): Record<string, unknown> {
  if ('pending' in result) {
    res.status(202).location(`/api/commands/${encodeURIComponent(result.commandId)}`);
    return { commandId: result.commandId, status: 'pending' };
  }
  if (!result.ok) {
    const { code, message, details } = result.error;
    throw new ApiError(statusForRejection(code), code, message, details);
  }
  res.status(statusFor(result.outcome));
  return shape(result.view, result.outcome, result.commandId);
}
