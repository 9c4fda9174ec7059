import {
  extendZodWithOpenApi,
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  ActionRequest,
  ActivityView,
  AgentId,
  AgentView,
  BulkActionRequest,
  BulkActionResponse,
  CommandView,
  LabelsRequest,
  FeedEntry,
  FeedQuery,
  AgentFeedQuery,
  MessageId,
  pageOf,
  UserCommand,
} from '@drover/contracts';
import { BEHAVIOR_CATALOG } from '@drover/behaviors/catalog';
import { AgentIdParam, ListAgentsQuery, PageQuery, StartAgentRequest, StopAgentQuery } from '../agents/agents.requests';
import { deadLetterRoutes } from '../dead-letters/dead-letters.openapi';
import { configJsonSchema } from './config-json-schema';

// `.openapi()` on zod schemas, which the registry uses to name components.
extendZodWithOpenApi(z);

/** Every error the API answers has this body; `details` names the fields of a `400`. */
export const ErrorBody = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  }),
});

const StartAccepted = z.object({
  agentId: AgentId,
  status: z.string(),
  commandId: MessageId,
  outcome: z.enum(['accepted', 'duplicate', 'noop']).optional(),
});
const StopAccepted = z.object({ agentId: AgentId, status: z.string(), commandId: MessageId });
const CommandAccepted = z.object({
  commandId: MessageId,
  agentId: AgentId,
  outcome: z.enum(['accepted', 'duplicate', 'noop']),
  status: z.string(),
  view: AgentView,
});
/** Sent while the engine has not answered in time: the command stands and will be processed. */
const CommandPending = z.object({ commandId: MessageId, status: z.literal('pending') });
const ScreenshotList = z.object({
  items: z.array(z.object({ name: z.string(), at: z.string(), bytes: z.number().int(), url: z.string() })),
});
const BehaviorList = z.object({
  items: z.array(
    z.object({
      name: z.string(),
      description: z.string(),
      requires: z.array(z.string()),
      /** JSON Schema of the config; secret fields carry `writeOnly` and `x-drover-secret`. */
      configSchema: z.record(z.unknown()),
    }),
  ),
});

const json = (schema: z.ZodTypeAny, description: string): ResponseConfig => ({
  description,
  content: { 'application/json': { schema } },
});
const error = (description: string): ResponseConfig => json(ErrorBody, description);

/** The answers every `/api` route may give besides its own. */
const COMMON_ERRORS: Record<number, ResponseConfig> = {
  401: error('an API key is required (`Authorization: Bearer <key>` or `X-API-Key`) and was missing or wrong'),
  429: error('this client used its requests for the window; see `Retry-After`'),
  503: error('the bus or the read side is not reachable'),
};
const agentPath = { params: AgentIdParam };

const FEED_DESCRIPTION = [
  'Each message: `id: <feed id>`, `event: <event type, or activity>`, `data: <FeedEntry as JSON>`.',
  'Reconnect with `Last-Event-ID: <last id seen>` (or `?lastEventId=`) to receive every entry after it exactly once;',
  'without it the stream starts with what happens next. A `: keep-alive` comment comes every 15 s (`SSE_KEEPALIVE_MS`).',
  'Filters: `agentId`, `type` (comma-separated event types or activity kinds; `activity` for every activity), `status`.',
].join(' ');
const LastEventIdHeader = z.object({
  'last-event-id': z.string().optional().openapi({ description: 'resume after this feed id' }),
});
const feedStream: ResponseConfig = {
  description: 'an endless `text/event-stream`; every `data:` line is one FeedEntry',
  content: { 'text/event-stream': { schema: FeedEntry } },
};

/** The routes, in the order the document lists them. */
const ROUTES: RouteConfig[] = [
  {
    method: 'post',
    path: '/api/agents',
    tags: ['agents'],
    summary: 'Start an agent',
    description:
      'Sends `agent.start`. Proxy credentials and secret config fields are sealed before the command leaves the gateway.',
    request: { body: { content: { 'application/json': { schema: StartAgentRequest } } } },
    responses: {
      202: json(StartAccepted, 'the start is committed (or pending, if the engine did not answer in time)'),
      400: error('a field is invalid; `details` names each'),
      409: error('the agent is already active, or the message id was used for another command'),
      413: error('the body is larger than 256 KiB'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'get',
    path: '/api/agents',
    tags: ['agents'],
    summary: 'List agents',
    description:
      'Filters: `status`, `behavior`, and `label=key=value` (repeatable; an agent must carry every one). Pages in id order.',
    request: { query: ListAgentsQuery },
    responses: { 200: json(pageOf(AgentView), 'a page of agents'), 400: error('a bad query'), ...COMMON_ERRORS },
  },
  {
    method: 'get',
    path: '/api/agents/{agentId}',
    tags: ['agents'],
    summary: "An agent's view (secrets masked)",
    request: agentPath,
    responses: { 200: json(AgentView, 'the agent'), 404: error('no such agent'), ...COMMON_ERRORS },
  },
  {
    method: 'delete',
    path: '/api/agents/{agentId}',
    tags: ['agents'],
    summary: 'Stop an agent',
    request: { ...agentPath, query: StopAgentQuery },
    responses: {
      200: json(AgentView, 'the agent was not active: nothing to do'),
      202: json(StopAccepted, 'the stop is committed'),
      404: error('no such agent'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'post',
    path: '/api/agents/{agentId}/restart',
    tags: ['agents'],
    summary: 'Restart an agent with its last start',
    description:
      'Sends `agent.restart`: the agent starts again (attempt 1) with the behaviour, config, proxy, schedule, egress, labels and sealed secrets of its last start; nothing is sent again. A running, starting or paused agent is stopped first; a queued or interrupted one is stopped and requested again.',
    request: { ...agentPath, body: { required: false, content: { 'application/json': { schema: ActionRequest } } } },
    responses: {
      200: json(AgentView, 'already restarting: nothing to do'),
      202: json(StopAccepted, 'the restart is committed'),
      400: error('a field is invalid'),
      404: error('no such agent (`agent_not_found`)'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'post',
    path: '/api/agents/{agentId}/pause',
    tags: ['agents'],
    summary: 'Pause an agent: its behaviour stops, its session, browser context and cookies stay',
    description:
      'Sends `agent.pause`. A running agent becomes `paused`; a starting one is paused once its session runs. Any other status is a no-op (`not_running`), answered 200 with the view.',
    request: { ...agentPath, body: { required: false, content: { 'application/json': { schema: ActionRequest } } } },
    responses: {
      200: json(AgentView, 'not running, or already paused: nothing to do'),
      202: json(StopAccepted, 'the pause is committed'),
      400: error('a field is invalid'),
      404: error('no such agent (`agent_not_found`)'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'post',
    path: '/api/agents/{agentId}/resume',
    tags: ['agents'],
    summary: 'Resume a paused agent: its behaviour runs again in the same session',
    request: agentPath,
    responses: {
      200: json(AgentView, 'not paused: nothing to do'),
      202: json(StopAccepted, 'the resume is committed'),
      404: error('no such agent (`agent_not_found`)'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'put',
    path: '/api/agents/{agentId}/labels',
    tags: ['agents'],
    summary: "Replace an agent's labels",
    description:
      'Sends `agent.label`. Keys: up to 128 of `A-Za-z0-9_/-` (no `.`); values: up to 63 of `A-Za-z0-9._-`; at most 32 labels. `{}` removes them.',
    request: { ...agentPath, body: { content: { 'application/json': { schema: LabelsRequest } } } },
    responses: {
      200: json(AgentView, 'the agent already has these labels'),
      202: json(StopAccepted, 'the labels are committed'),
      400: error('a label is invalid; `details` names it'),
      404: error('no such agent (`agent_not_found`)'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'post',
    path: '/api/agents/actions',
    tags: ['agents'],
    summary: 'Stop, restart, pause or resume every agent a selector matches',
    description:
      'Resolves the selector on the read side (every criterion must hold; an empty selector is refused, `all: true` selects every agent), refuses more than 1000 matches (400 naming `selector`), then sends one command per agent, 8 at a time, and answers each.',
    request: { body: { content: { 'application/json': { schema: BulkActionRequest } } } },
    responses: {
      200: json(BulkActionResponse, 'one result per matched agent, in id order'),
      400: error('a field is invalid, the selector is empty, or it matches too many agents'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'get',
    path: '/api/agents/{agentId}/status',
    tags: ['agents'],
    summary: "An agent's status fields",
    request: agentPath,
    responses: {
      200: json(AgentView.partial(), 'status, behaviour, times, attempts and version'),
      404: error('no such agent'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'get',
    path: '/api/agents/{agentId}/activities',
    tags: ['agents'],
    summary: "An agent's activity log, newest first",
    request: { ...agentPath, query: PageQuery },
    responses: { 200: json(pageOf(ActivityView), 'a page of activities'), ...COMMON_ERRORS },
  },
  {
    method: 'get',
    path: '/api/agents/{agentId}/screenshots',
    tags: ['screenshots'],
    summary: "An agent's screenshots",
    request: agentPath,
    responses: { 200: json(ScreenshotList, 'the screenshots, newest first'), ...COMMON_ERRORS },
  },
  {
    method: 'get',
    path: '/api/agents/{agentId}/screenshots/latest',
    tags: ['screenshots'],
    summary: "An agent's latest screenshot",
    request: agentPath,
    responses: {
      200: { description: 'the PNG', content: { 'image/png': { schema: z.string().openapi({ format: 'binary' }) } } },
      404: error('no screenshot'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'get',
    path: '/api/agents/{agentId}/screenshots/{name}',
    tags: ['screenshots'],
    summary: 'One screenshot, by the name its list item gives',
    request: { params: AgentIdParam.extend({ name: z.string() }) },
    responses: {
      200: { description: 'the PNG', content: { 'image/png': { schema: z.string().openapi({ format: 'binary' }) } } },
      404: error('no such screenshot'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'post',
    path: '/api/commands',
    tags: ['commands'],
    summary: 'Send a command envelope, as it would be published to `drover.commands`',
    request: {
      body: {
        content: {
          'application/json': {
            schema: UserCommand,
          },
        },
      },
    },
    responses: {
      202: json(z.union([CommandAccepted, CommandPending]), 'the command is committed, or pending'),
      400: error('a field is invalid, or the message id uses a reserved prefix'),
      409: error('the agent is already active, or the message id was used for another command'),
      413: error('the body is larger than 256 KiB'),
      ...COMMON_ERRORS,
    },
  },
  {
    method: 'get',
    path: '/api/commands/{commandId}',
    tags: ['commands'],
    summary: 'What became of a command',
    request: { params: z.object({ commandId: MessageId }) },
    responses: { 200: json(CommandView, 'the command'), 404: error('no such command'), ...COMMON_ERRORS },
  },
  ...deadLetterRoutes({ json, error, common: COMMON_ERRORS }),
  {
    method: 'get',
    path: '/api/events',
    tags: ['events'],
    summary: 'Live stream of domain events and activities (server-sent events), resumable with Last-Event-ID',
    description: FEED_DESCRIPTION,
    request: { query: FeedQuery, headers: LastEventIdHeader },
    responses: { 200: feedStream, 400: error('a filter or `Last-Event-ID` is not valid'), ...COMMON_ERRORS },
  },
  {
    method: 'get',
    path: '/api/agents/{agentId}/events',
    tags: ['events'],
    summary: "Live stream of one agent's domain events and activities (server-sent events)",
    description: FEED_DESCRIPTION,
    request: { ...agentPath, query: AgentFeedQuery, headers: LastEventIdHeader },
    responses: { 200: feedStream, 400: error('a filter or `Last-Event-ID` is not valid'), ...COMMON_ERRORS },
  },
  {
    method: 'get',
    path: '/api/behaviors',
    tags: ['behaviors'],
    summary: 'The behaviours agents can run, with the JSON Schema of their config',
    responses: { 200: json(BehaviorList, 'every behaviour'), ...COMMON_ERRORS },
  },
  {
    method: 'get',
    path: '/live',
    tags: ['probes'],
    summary: 'Liveness of the API process (readiness and metrics are on the ops port)',
    security: [],
    responses: { 200: json(z.object({ status: z.literal('ok') }), 'the process answers') },
  },
  {
    method: 'get',
    path: '/openapi.json',
    tags: ['docs'],
    summary: 'This document',
    security: [],
    responses: { 200: json(z.record(z.unknown()), 'the OpenAPI 3.1 document') },
  },
  {
    method: 'get',
    path: '/docs',
    tags: ['docs'],
    summary: 'An interactive page over this document (served from the gateway, no CDN)',
    security: [],
    responses: { 200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } } },
  },
  {
    method: 'get',
    path: '/docs/{file}',
    tags: ['docs'],
    summary: "The page's scripts and styles (Swagger UI, from the swagger-ui-dist package)",
    security: [],
    request: { params: z.object({ file: z.string() }) },
    responses: {
      200: { description: 'a script, a style sheet or an icon', content: { '*/*': { schema: z.string() } } },
      404: error('no such file'),
    },
  },
  {
    method: 'get',
    path: '/console',
    tags: ['console'],
    summary: 'The web console (one page; it asks for an API key and sends it on every call it makes)',
    description:
      "Static, holds no data, served without a key under a Content-Security-Policy of `default-src 'self'`. " +
      'Pages are chosen by the fragment: `#/agents`, `#/agents/{agentId}`, `#/load`, `#/dead-letters`.',
    security: [],
    responses: {
      200: { description: 'HTML', content: { 'text/html': { schema: z.string() } } },
      404: error('the console is not built (`npm run build`)'),
    },
  },
  {
    method: 'get',
    path: '/console/{file}',
    tags: ['console'],
    summary: "The console's script and style sheet, bundled at build time (nothing is loaded from elsewhere)",
    security: [],
    request: { params: z.object({ file: z.string() }) },
    responses: {
      200: { description: 'a script or a style sheet', content: { '*/*': { schema: z.string() } } },
      404: error('no such file'),
    },
  },
];

/** The behaviours as `GET /api/behaviors` lists them. */
export function behaviorList(): z.infer<typeof BehaviorList> {
  return {
    items: Object.entries(BEHAVIOR_CATALOG).map(([name, info]) => ({
      name,
      description: info.description,
      requires: [...info.requires],
      configSchema: configJsonSchema(info.configSchema),
    })),
  };
}

/** The gateway's OpenAPI 3.1 document, generated from the zod schemas it validates with. */
export function openApiDocument(): Record<string, unknown> {
  const registry = new OpenAPIRegistry();
  registry.register('AgentView', AgentView);
  registry.register('ActivityView', ActivityView);
  registry.register('CommandView', CommandView);
  registry.register('Error', ErrorBody);
  const bearer = registry.registerComponent('securitySchemes', 'bearer', { type: 'http', scheme: 'bearer' });
  const apiKey = registry.registerComponent('securitySchemes', 'apiKey', {
    type: 'apiKey',
    in: 'header',
    name: 'X-API-Key',
  });
  for (const route of ROUTES) registry.registerPath(route);
  const document = new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'Drover gateway',
      version: '1',
      description:
        'The REST API over Drover. With API keys configured, every `/api` call needs one; `/live`, `/openapi.json`, `/docs` and `/console` are open.',
    },
    security: [{ [bearer.name]: [] }, { [apiKey.name]: [] }],
  });
  return document as unknown as Record<string, unknown>;
}
