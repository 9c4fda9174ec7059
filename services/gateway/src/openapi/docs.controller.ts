import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Controller, Get, Param, Res } from '@nestjs/common';
import type { Response } from 'express';
import { ApiError } from '../infrastructure/api-error';
import { behaviorList, openApiDocument } from './openapi-document';

/** Swagger UI's files, from the `swagger-ui-dist` package: the page loads nothing from elsewhere. */
const SWAGGER_UI = dirname(require.resolve('swagger-ui-dist/package.json'));
const ASSETS: Readonly<Record<string, string>> = {
  'swagger-ui.css': 'text/css',
  'swagger-ui-bundle.js': 'text/javascript',
  'swagger-ui-standalone-preset.js': 'text/javascript',
  'favicon-32x32.png': 'image/png',
};

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Drover API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.js"></script>
  <script src="/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/docs/drover-init.js"></script>
</body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: 'StandaloneLayout',
  persistAuthorization: true,
});
`;

/** The API's description (`/openapi.json`), its interactive page (`/docs`) and the behaviours. */
@Controller()
export class DocsController {
  private document?: Record<string, unknown>;
  private behaviors?: ReturnType<typeof behaviorList>;

  @Get('openapi.json')
  openApi(): Record<string, unknown> {
    this.document ??= openApiDocument();
    return this.document;
  }

  @Get('api/behaviors')
  listBehaviors(): ReturnType<typeof behaviorList> {
    this.behaviors ??= behaviorList();
    return this.behaviors;
  }

  @Get('docs')
  page(@Res() res: Response): void {
    res.type('text/html').send(PAGE);
  }

  @Get('docs/:file')
  async asset(@Param('file') file: string, @Res() res: Response): Promise<void> {
    if (file === 'drover-init.js') return void res.type('text/javascript').send(INIT);
    const type = Object.hasOwn(ASSETS, file) ? ASSETS[file] : undefined;
    if (!type) throw new ApiError(404, 'not_found', `no such file: /docs/${file}`);
    res.type(type).setHeader('Cache-Control', 'public, max-age=86400');
    res.send(await readFile(join(SWAGGER_UI, file)));
  }
}
