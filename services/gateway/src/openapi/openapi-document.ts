import {
  extendZodWithOpenApi,
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import {
  ActivityView,
  AgentId,
  AgentView,
  CommandView,
  MessageId,
  pageOf,
  StartAgent,
  StopAgent,
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
        content: { 'application/json': { schema: z.discriminatedUnion('type', [StartAgent, StopAgent]) } },
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
        'The REST API over Drover. With API keys configured, every `/api` call needs one; `/live`, `/openapi.json` and `/docs` are open.',
    },
    security: [{ [bearer.name]: [] }, { [apiKey.name]: [] }],
  });
  return document as unknown as Record<string, unknown>;
}
