import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiError } from '../infrastructure/api-error';
import { CONSOLE_CSP, ConsoleFiles } from './console-files';

/**
 * The web console (`/console`): one HTML page and its bundle. Routing inside the console is by
 * the URL's fragment (`/console#/agents/a-1`), so these two routes are all it needs.
 */
@Controller('console')
export class ConsoleController {
  constructor(@Inject(ConsoleFiles) private readonly files: ConsoleFiles) {}

  @Get()
  async page(@Res() res: Response): Promise<void> {
    await this.send(res, 'index.html');
  }

  @Get(':file')
  async asset(@Param('file') file: string, @Res() res: Response): Promise<void> {
    await this.send(res, file);
  }

  private async send(res: Response, name: string): Promise<void> {
    const file = await this.files.get(name);
    if (!file) {
      throw name === 'index.html'
        ? new ApiError(404, 'not_found', 'the console is not built: run `npm run build`')
        : new ApiError(404, 'not_found', `no such file: /console/${name}`);
    }
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    // The bundle's names stay the same from one build to the next: revalidate, never trust a cached copy.
    res.setHeader('Cache-Control', 'no-cache');
    res.setHeader('Referrer-Policy', 'no-referrer');
    res.type(file.type).send(file.body);
  }
}
