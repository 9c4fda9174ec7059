import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import {
  ActionRequest,
  BulkActionRequest,
  LabelsRequest,
  type ActivityView,
  type AgentCommand,
  type AgentView,
  type BulkActionResponse,
  type Page,
} from '@drover/contracts';
import { validateBehaviorConfig } from '@drover/behaviors/catalog';
import { ApiError, bodyIssues, parseOrThrow, type FieldIssue } from '../infrastructure/api-error';
import { BusClients } from '../infrastructure/bus-clients';
import { answerCommand } from '../infrastructure/command-answer';
import { AgentIdParam, ListAgentsQuery, PageQuery, StartAgentRequest, StopAgentQuery } from './agents.requests';
import { runBulkAction } from './bulk-actions';

const STATUS_FIELDS = [
  'agentId',
  'status',
  'behavior',
  'startedAt',
  'stoppedAt',
  'lastError',
  'attempts',
  'version',
] as const;

/** The agent resource: start, stop, read, list, and the activity log. */
@Controller('api/agents')
export class AgentsController {
  constructor(@Inject(BusClients) private readonly clients: BusClients) {}

  @Post()
  async start(@Body() body: unknown, @Res({ passthrough: true }) res: Response) {
    const { agentId, ...payload } = validateStart(body);
    const commandId = BusClients.newCommandId();
    const result = await this.clients.send({
      messageId: commandId,
      type: 'agent.start',
      agentId,
      payload: { ...payload, config: payload.config ?? {} },
    });
    return answerCommand(
      result,
      res,
      () => 202,
      (view, outcome) => ({ agentId: view.agentId, status: view.status, commandId, outcome }),
    );
  }

  @Delete(':agentId')
  async stop(@Param() params: unknown, @Query() query: unknown, @Res({ passthrough: true }) res: Response) {
    const { agentId } = parseOrThrow(AgentIdParam, params);
    const { reason } = parseOrThrow(StopAgentQuery, query);
    return this.act(
      { messageId: BusClients.newCommandId(), type: 'agent.stop', agentId, payload: reason ? { reason } : {} },
      res,
    );
  }

  /** Starts the agent again with its last start (config, proxy, sealed secrets, labels...): nothing is sent again. */
  @Post(':agentId/restart')
  async restart(@Param() params: unknown, @Body() body: unknown, @Res({ passthrough: true }) res: Response) {
    const { agentId } = parseOrThrow(AgentIdParam, params);
    const { reason } = parseOrThrow(ActionRequest, body ?? {});
    return this.act(
      { messageId: BusClients.newCommandId(), type: 'agent.restart', agentId, payload: reason ? { reason } : {} },
      res,
    );
  }

  @Post(':agentId/pause')
  async pause(@Param() params: unknown, @Body() body: unknown, @Res({ passthrough: true }) res: Response) {
    const { agentId } = parseOrThrow(AgentIdParam, params);
    const { reason } = parseOrThrow(ActionRequest, body ?? {});
    return this.act(
      { messageId: BusClients.newCommandId(), type: 'agent.pause', agentId, payload: reason ? { reason } : {} },
      res,
    );
  }

  @Post(':agentId/resume')
  async resume(@Param() params: unknown, @Res({ passthrough: true }) res: Response) {
    const { agentId } = parseOrThrow(AgentIdParam, params);
    return this.act({ messageId: BusClients.newCommandId(), type: 'agent.resume', agentId, payload: {} }, res);
  }

  @Put(':agentId/labels')
  async label(@Param() params: unknown, @Body() body: unknown, @Res({ passthrough: true }) res: Response) {
    const { agentId } = parseOrThrow(AgentIdParam, params);
    const { labels } = parseOrThrow(LabelsRequest, body);
    return this.act({ messageId: BusClients.newCommandId(), type: 'agent.label', agentId, payload: { labels } }, res);
  }

  /** One action on every agent a selector matches, each answered (`docs/acting-on-agents.md`). */
  @Post('actions')
  @HttpCode(200)
  bulk(@Body() body: unknown): Promise<BulkActionResponse> {
    return runBulkAction(this.clients, parseOrThrow(BulkActionRequest, body));
  }

  /** Sends an action on one agent: 202 with its status when committed, 200 with its view for a no-op. */
  private async act(command: AgentCommand, res: Response) {
    const result = await this.clients.send(command);
    const { agentId, messageId: commandId } = command;
    return answerCommand(
      result,
      res,
      (outcome) => (outcome === 'noop' ? 200 : 202),
      (view, outcome) => (outcome === 'noop' ? { ...view } : { agentId, status: view.status, commandId }),
    );
  }

  @Get()
  list(@Query() query: unknown): Promise<Page<AgentView>> {
    const { status, behavior, label, limit, cursor } = parseOrThrow(ListAgentsQuery, query);
    return this.clients.ask({
      query: 'agent.list',
      limit,
      ...(status ? { status } : {}),
      ...(behavior ? { behavior } : {}),
      ...(label ? { labels: label } : {}),
      ...(cursor ? { cursor } : {}),
    });
  }

  @Get(':agentId')
  async get(@Param() params: unknown): Promise<AgentView> {
    const { agentId } = parseOrThrow(AgentIdParam, params);
    return this.clients.ask<AgentView>({ query: 'agent.get', agentId });
  }

  @Get(':agentId/status')
  async status(@Param() params: unknown): Promise<Partial<AgentView>> {
    const view = await this.get(params);
    return Object.fromEntries(STATUS_FIELDS.filter((f) => view[f] !== undefined).map((f) => [f, view[f]]));
  }

  @Get(':agentId/activities')
  activities(@Param() params: unknown, @Query() query: unknown): Promise<Page<ActivityView>> {
    const { agentId } = parseOrThrow(AgentIdParam, params);
    const { limit, cursor } = parseOrThrow(PageQuery, query);
    return this.clients.ask({ query: 'activity.list', agentId, limit, ...(cursor ? { cursor } : {}) });
  }
}

/** The body and the behaviour's config, with every bad field named in one answer. */
function validateStart(body: unknown): StartAgentRequest {
  const parsed = StartAgentRequest.safeParse(body);
  const issues: FieldIssue[] = parsed.success ? [] : bodyIssues(parsed.error);
  const raw = (body ?? {}) as { behavior?: unknown; config?: unknown };
  if (typeof raw.behavior === 'string' && !issues.some((i) => i.field === 'behavior')) {
    const check = validateBehaviorConfig(raw.behavior, raw.config ?? {});
    if (!check.ok && check.code === 'unknown_behavior' && issues.length === 0) {
      throw new ApiError(400, 'unknown_behavior', check.message, check.issues);
    }
    if (!check.ok && check.code === 'invalid_config') issues.push(...check.issues);
  }
  if (!parsed.success || issues.length) throw ApiError.invalid(issues);
  return parsed.data;
}
