import { AsyncLocalStorage } from 'node:async_hooks';
import { randomUUID } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';

/** The header a caller may send to name its request; echoed on every answer. */
export const REQUEST_ID_HEADER = 'X-Request-Id';

/** Printable ASCII without spaces, at most 128 characters: safe in a header, a log line and an AMQP property. */
export const REQUEST_ID_PATTERN = /^[\x21-\x7e]{1,128}$/;

const context = new AsyncLocalStorage<{ requestId: string }>();

/**
 * The id of the request being handled, for code that runs on its behalf (the bus clients make it
 * the `correlationId` of the commands they send). Undefined outside a request.
 */
export function currentRequestId(): string | undefined {
  return context.getStore()?.requestId;
}

/**
 * Takes the caller's `X-Request-Id` (or makes a UUID) and returns it on the answer whatever the
 * status (`res.locals.requestId`). A malformed id is a `400` naming the header, answered with a
 * fresh id so the refusal can be found in the logs too.
 */
export function requestIdMiddleware(req: Request, res: Response, next: NextFunction): void {
  const given = req.headers['x-request-id'];
  const value = Array.isArray(given) ? given[0] : given;
  if (value !== undefined && !REQUEST_ID_PATTERN.test(value)) {
    const requestId = randomUUID();
    res.locals.requestId = requestId;
    res.setHeader(REQUEST_ID_HEADER, requestId);
    return void res.status(400).json({
      error: {
        code: 'invalid_request',
        message: `invalid request: ${REQUEST_ID_HEADER}: printable characters without spaces, at most 128`,
        details: [{ field: REQUEST_ID_HEADER, message: 'printable characters without spaces, at most 128' }],
      },
    });
  }
  const requestId = value ?? randomUUID();
  res.locals.requestId = requestId;
  res.setHeader(REQUEST_ID_HEADER, requestId);
  next();
}

/**
 * Runs the rest of the request in the context of its id (`currentRequestId`). Installed after the
 * body parser: a context entered before it would not survive its reading of the request stream.
 */
export function requestContextMiddleware(_req: Request, res: Response, next: NextFunction): void {
  const requestId = res.locals.requestId as string | undefined;
  if (requestId === undefined) return next();
  context.run({ requestId }, next);
}
