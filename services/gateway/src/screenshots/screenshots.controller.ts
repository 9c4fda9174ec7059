import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ScreenshotStore, type ScreenshotInfo } from '@drover/platform';
import { ApiError, parseOrThrow } from '../infrastructure/api-error';
import { AgentIdParam } from '../agents/agents.requests';

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
    res.type('image/png').setHeader('Content-Disposition', `inline; filename="${latest.name}"`);
    res.send(latest.png);
  }
}
