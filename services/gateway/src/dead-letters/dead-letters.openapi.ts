import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import type { z } from 'zod';
import { DeadLetterView, FleetView, pageOf, ReplayAccepted } from '@drover/contracts';
import { DeadLetterIdParam, ListDeadLettersQuery } from './dead-letters.controller';

/** The dead-letter and fleet routes of the OpenAPI document, built with the document's helpers. */
export function deadLetterRoutes(helpers: {
  json: (schema: z.ZodTypeAny, description: string) => ResponseConfig;
  error: (description: string) => ResponseConfig;
  common: Record<number, ResponseConfig>;
}): RouteConfig[] {
  const { json, error, common } = helpers;
  return [
    {
      method: 'get',
      path: '/api/dead-letters',
      tags: ['dead-letters'],
      summary: 'List dead letters, newest first',
      description:
        'Dead letters filed by the persistence agent from every `.dead` queue; `queue` keeps those of one queue (the queue the message died in).',
      request: { query: ListDeadLettersQuery },
      responses: {
        200: json(pageOf(DeadLetterView), 'a page of dead letters'),
        400: error('a bad query'),
        ...common,
      },
    },
    {
      method: 'get',
      path: '/api/dead-letters/{id}',
      tags: ['dead-letters'],
      summary: 'A dead letter: why it died, where it came from, its body (redacted) and its replays',
      request: { params: DeadLetterIdParam },
      responses: {
        200: json(DeadLetterView, 'the dead letter'),
        400: error('not a dead-letter id'),
        404: error('no such dead letter'),
        ...common,
      },
    },
    {
      method: 'post',
      path: '/api/dead-letters/{id}/replay',
      tags: ['dead-letters'],
      summary: 'Publish the dead letter again, with a new message id',
      description:
        'Republishes the stored body to its original exchange and routing key as `replay:<uuid>` (also the body’s `messageId`); the command log records `replayOf`. Each call is a new replay.',
      request: { params: DeadLetterIdParam },
      responses: {
        202: json(ReplayAccepted, 'the copy is published'),
        400: error('not a dead-letter id'),
        404: error('no such dead letter'),
        409: error('`not_replayable`: the message says why (not a user command, or stored redacted)'),
        ...common,
      },
    },
    {
      method: 'get',
      path: '/api/fleet',
      tags: ['fleet'],
      summary: 'Fleet load: agents by status, session agents, queue depths, dead letters by queue',
      responses: { 200: json(FleetView, 'the summary'), ...common },
    },
  ];
}
