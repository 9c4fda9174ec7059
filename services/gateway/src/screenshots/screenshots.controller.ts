import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import { isScreenshotName, ScreenshotStore, type ScreenshotInfo } from '@drover/platform';
import { ApiError, parseOrThrow } from '../infrastructure/api-error';
import { AgentIdParam } from '../agents/agents.requests';

const ScreenshotParams = AgentIdParam.extend({
  name: z.string().refine(isScreenshotName, 'a screenshot name as the list gives it (`<time>[-<label>].png`)'),
});

/** Screenshots session agents saved for an agent, read from the shared data volume. */
@Controller('api/agents/:agentId/screenshots')
export class ScreenshotsController {
  constructor(@Inject(ScreenshotStore) private readonly screenshots: ScreenshotStore) {}

  @Get()
  async list(@Param() params: unknown): Promise<{ items: (ScreenshotInfo & { url: string })[] }> {
    const { agentId } = parseOrThrow(AgentIdParam, params);
    const items = await this.screenshots.list(agentId);
    return {
      items: items.map((shot) => ({ ...shot, url: `/api/agents/${agentId}/screenshots/${shot.name}` })),
    };
  }

  @Get('latest')
  async latest(@Param() params: unknown, @Res() res: Response): Promise<void> {
    const { agentId } = parseOrThrow(AgentIdParam, params);
    const latest = await this.screenshots.latest(agentId);
    if (!latest) throw new ApiError(404, 'not_found', `no screenshot of agent ${agentId}`);
    sendPng(res, latest.name, latest.png);
  }

  /** The screenshot a list item's `url` names. Declared after `latest`, which it would shadow. */
  @Get(':name')
  async one(@Param() params: unknown, @Res() res: Response): Promise<void> {
    const { agentId, name } = parseOrThrow(ScreenshotParams, params);
    const png = await this.screenshots.get(agentId, name);
    if (!png) throw new ApiError(404, 'not_found', `no screenshot ${name} of agent ${agentId}`);
    sendPng(res, name, png);
  }
}

function sendPng(res: Response, name: string, png: Buffer): void {
  res.type('image/png').setHeader('Content-Disposition', `inline; filename="${name}"`);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.send(png);
}
