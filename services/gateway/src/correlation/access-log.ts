import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import { pinoHttp } from 'pino-http';
import { redactUrl } from '@drover/contracts';
import type { Logger } from '@drover/runtime';

/**
 * One log line per request when its answer is done (pino-http): the request id, method, route
 * pattern (`/api/agents/:agentId`, to group by), the path with secret-looking query values
 * redacted (`redactUrl`), status and duration in ms. A live stream is logged when it closes (`request
 * aborted` when the client went away first). Server errors log as `error`, the rest as `info`.
 * Installed after `requestIdMiddleware`, whose id it uses.
 */
export function accessLog(logger: Logger): RequestHandler {
  const middleware = pinoHttp({
    logger: logger.child({ component: 'access' }),
    genReqId: (_req: IncomingMessage, res: ServerResponse) =>
      ((res as Response).locals?.requestId as string | undefined) ?? '',
    quietReqLogger: true,
    customAttributeKeys: { responseTime: 'durationMs', reqId: 'requestId' },
    customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
    serializers: {
      req: (req: { method?: string; url?: string; raw?: IncomingMessage }) => ({
        method: req.method,
        path: redactedPath((req.raw as Request | undefined)?.originalUrl ?? req.url ?? ''),
      }),
      res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
    },
    customProps: (req: IncomingMessage) => {
      const route = (req as Request).route as { path?: unknown } | undefined;
      return typeof route?.path === 'string' ? { route: route.path } : {};
    },
  });
  return middleware;
}

/** The request's path and query, with `redactUrl`'s rules applied to the query's values. */
export function redactedPath(originalUrl: string): string {
  const base = 'http://gateway.invalid';
  const redacted = redactUrl(`${base}${originalUrl.startsWith('/') ? '' : '/'}${originalUrl}`);
  return redacted.startsWith(base) ? redacted.slice(base.length) : originalUrl.split('?')[0]!;
}
