import { afterEach, beforeEach, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FakeGateway, send } from './fake-gateway';
import { cli } from './in-process';
import { closedPort } from './ports';

/**
 * The CLI in-process against a stand-in gateway: the requests each command makes (paths,
 * queries, headers, bodies), what it prints with and without --json, and its exit codes. The
 * same commands run as processes against a real Drover in cli.e2e-spec.ts.
 */
describe('drover CLI against a stand-in gateway', () => {
  let gateway: FakeGateway;
  let env: Record<string, string>;

  beforeEach(async () => {
    gateway = await new FakeGateway().start();
    env = { DROVER_URL: gateway.url, DROVER_API_KEY: 'key-from-env-000000' };
  });
  afterEach(() => gateway.stop());

  const agent = (agentId: string, status: string, extra: Record<string, unknown> = {}) => ({
    agentId,
    status,
    behavior: 'http-monitor',
    attempts: 1,
    version: 2,
    ...extra,
  });

  describe('configuration', () => {
    it('sends the API key from the environment as a bearer token, and --api-key/--url win over it', async () => {
      gateway.json('GET /api/agents/a-1', 200, agent('a-1', 'running'));
      expect((await cli(['agents', 'get', 'a-1'], { env })).code).toBe(0);
      expect(gateway.requests[0]!.headers.authorization).toBe('Bearer key-from-env-000000');

      const other = await new FakeGateway().json('GET /api/agents/a-1', 200, agent('a-1', 'running')).start();
      try {
        const run = await cli(['agents', 'get', 'a-1', '--url', other.url, '--api-key', 'flag-key-0000000000'], {
          env,
        });
        expect(run.code).toBe(0);
        expect(other.requests[0]!.headers.authorization).toBe('Bearer flag-key-0000000000');
        expect(gateway.requests).toHaveLength(1);
      } finally {
        await other.stop();
      }
    });

    it('exits 1 with the API error code when the gateway refuses the key, and prints its body with --json', async () => {
      const body = { error: { code: 'unauthorized', message: 'an API key is required' } };
      gateway.json('GET /api/agents', 401, body);
      const run = await cli(['agents', 'list'], { env });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('unauthorized');
      const json = await cli(['agents', 'list', '--json'], { env });
      expect(json.code).toBe(1);
      expect(json.values()).toEqual([body]);
    });

    it('sends --request-id as X-Request-Id, and names the request id the gateway answered in an error', async () => {
      gateway.on('GET /api/agents/a-1', (req, res) => {
        res.setHeader('x-request-id', String(req.headers['x-request-id']));
        send(res, 503, { error: { code: 'unavailable', message: 'the bus is not reachable' } });
      });
      const run = await cli(['agents', 'get', 'a-1', '--request-id', 'deploy-42'], { env });
      expect(gateway.requests[0]!.headers['x-request-id']).toBe('deploy-42');
      expect(run.code).toBe(1);
      expect(run.stderr).toBe('error: unavailable: the bus is not reachable (request deploy-42)\n');
    });

    it('exits 3 when nothing listens at the URL, and 2 for a URL that is not one', async () => {
      const closed = await closedPort();
      const run = await cli(['agents', 'list', '--url', `http://127.0.0.1:${closed}`], { env });
      expect(run.code).toBe(3);
      expect(run.stderr).toMatch(/cannot reach the gateway.*ECONNREFUSED/);
      const json = await cli(['--json', 'agents', 'list', '--url', `http://127.0.0.1:${closed}`], { env });
      expect(json.values()).toEqual([
        { error: { code: 'unreachable', message: expect.stringContaining('ECONNREFUSED') } },
      ]);

      const bad = await cli(['agents', 'list', '--url', 'not a url'], { env });
      expect(bad.code).toBe(2);
      expect(bad.stderr).toContain('--url');
    });

    it('exits 2 for an unknown command or option and a missing argument, 0 for --help', async () => {
      expect((await cli(['agents', 'frobnicate'], { env })).code).toBe(2);
      expect((await cli(['agents', 'list', '--no-such-flag'], { env })).code).toBe(2);
      const missing = await cli(['agents', 'start', 'a-1'], { env });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain('--behavior');
      const help = await cli(['--help'], { env });
      expect(help.code).toBe(0);
      expect(help.stdout).toContain('Exit codes');
      expect(gateway.requests).toEqual([]);
    });
  });

  describe('agents', () => {
    it('lists with filters (labels repeated) as a table, and follows every cursor with --all', async () => {
      gateway.on('GET /api/agents', (req, res) =>
        req.query.get('cursor') === 'p2'
          ? send(res, 200, { items: [agent('b-2', 'paused')], nextCursor: null })
          : send(res, 200, { items: [agent('a-1', 'running', { labels: { team: 'growth' } })], nextCursor: 'p2' }),
      );
      const page = await cli(
        [
          'agents',
          'list',
          '--status',
          'running',
          '--behavior',
          'http-monitor',
          '--label',
          'team=growth',
          '--label',
          'tier=1',
          '--limit',
          '5',
        ],
        { env },
      );
      expect(page.code).toBe(0);
      const query = gateway.requests[0]!.query;
      expect(query.get('status')).toBe('running');
      expect(query.get('behavior')).toBe('http-monitor');
      expect(query.getAll('label')).toEqual(['team=growth', 'tier=1']);
      expect(query.get('limit')).toBe('5');
      expect(page.stdout).toMatch(/^AGENT\s+STATUS\s+BEHAVIOR\s+LABELS/);
      expect(page.stdout).toMatch(/a-1\s+running\s+http-monitor\s+team=growth/);
      expect(page.stderr).toContain('--cursor p2');

      const all = await cli(['agents', 'list', '--all', '--json'], { env });
      expect(all.values()).toEqual([
        {
          items: [expect.objectContaining({ agentId: 'a-1' }), expect.objectContaining({ agentId: 'b-2' })],
          nextCursor: null,
        },
      ]);
    });

    it('refuses a malformed --label or --limit before asking anything (exit 2)', async () => {
      const label = await cli(['agents', 'list', '--label', 'no-equals'], { env });
      expect(label.code).toBe(2);
      expect(label.stderr).toContain('--label');
      const limit = await cli(['agents', 'list', '--limit', '0'], { env });
      expect(limit.code).toBe(2);
      expect(limit.stderr).toContain('--limit');
      expect(gateway.requests).toEqual([]);
    });

    it('exits 4 for an agent the gateway does not know', async () => {
      const body = { error: { code: 'agent_not_found', message: 'agent ghost not found' } };
      gateway.json('GET /api/agents/ghost', 404, body);
      const run = await cli(['agents', 'get', 'ghost'], { env });
      expect(run.code).toBe(4);
      expect(run.stderr).toContain('agent_not_found');
    });

    it('starts with the config, proxy and labels in the body; a bad --config is exit 2 naming the flag', async () => {
      gateway.json('POST /api/agents', 202, {
        agentId: 'a-1',
        status: 'starting',
        commandId: 'c-1',
        outcome: 'accepted',
      });
      const dir = mkdtempSync(join(tmpdir(), 'drover-cli-'));
      try {
        writeFileSync(join(dir, 'config.json'), '{"url":"http://x/","intervalMs":1000}');
        const run = await cli(
          [
            'agents',
            'start',
            'a-1',
            '--behavior',
            'http-monitor',
            '--config-file',
            join(dir, 'config.json'),
            '--proxy',
            'http://p:1',
            '--label',
            'team=a',
          ],
          { env },
        );
        expect(run.code).toBe(0);
        expect(run.stdout).toContain('a-1 starting');
        expect(gateway.requests[0]!.body).toEqual({
          agentId: 'a-1',
          behavior: 'http-monitor',
          config: { url: 'http://x/', intervalMs: 1000 },
          proxy: 'http://p:1',
          labels: { team: 'a' },
        });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
      for (const config of ['{bad', '[1,2]']) {
        const bad = await cli(['agents', 'start', 'a-1', '--behavior', 'http-monitor', '--config', config], { env });
        expect(bad.code).toBe(2);
        expect(bad.stderr).toContain('--config');
      }
      expect(gateway.requests).toHaveLength(1);
    });

    it('prints the field errors of a refused start and exits 1', async () => {
      const details = [{ field: 'config.intervalMs', message: 'Number must be greater than or equal to 100' }];
      gateway.json('POST /api/agents', 400, {
        error: { code: 'invalid_request', message: 'invalid request', details },
      });
      const run = await cli(['agents', 'start', 'a-1', '--behavior', 'http-monitor', '--config', '{"intervalMs":5}'], {
        env,
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('config.intervalMs: Number must be greater than or equal to 100');
    });

    it('waits for the status once the view is as new as the command, and exits 1 when the agent fails', async () => {
      gateway.json('POST /api/agents', 202, {
        agentId: 'a-1',
        status: 'starting',
        commandId: 'c-1',
        outcome: 'accepted',
      });
      gateway.json('GET /api/commands/c-1', 200, {
        commandId: 'c-1',
        agentId: 'a-1',
        type: 'agent.start',
        state: 'accepted',
        version: 5,
      });
      // The read side still shows the previous run (running, version 3) before the new one.
      const views = [
        agent('a-1', 'running', { version: 3 }),
        agent('a-1', 'starting', { version: 5 }),
        agent('a-1', 'running', { version: 6 }),
      ];
      gateway.on('GET /api/agents/a-1', (_req, res) => send(res, 200, views.length > 1 ? views.shift() : views[0]));
      const run = await cli(['agents', 'start', 'a-1', '--behavior', 'http-monitor', '--wait', 'running', '--json'], {
        env,
      });
      expect(run.code).toBe(0);
      expect(run.values()).toEqual([
        expect.objectContaining({ status: 'starting', commandId: 'c-1' }),
        expect.objectContaining({ status: 'running', version: 6 }),
      ]);

      gateway.json(
        'GET /api/agents/a-1',
        200,
        agent('a-1', 'failed', { version: 7, lastError: 'navigation timed out' }),
      );
      gateway.json('GET /api/commands/c-1', 200, {
        commandId: 'c-1',
        agentId: 'a-1',
        type: 'agent.start',
        state: 'accepted',
        version: 7,
      });
      const failed = await cli(['agents', 'start', 'a-1', '--behavior', 'http-monitor', '--wait'], { env });
      expect(failed.code).toBe(1);
      expect(failed.stderr).toContain('a-1 is failed: navigation timed out');
    });

    it('waits through the stopped a restart passes on its way to running', async () => {
      gateway.json('POST /api/agents/a-1/restart', 202, { agentId: 'a-1', status: 'stopping', commandId: 'c-5' });
      gateway.json('GET /api/commands/c-5', 200, {
        commandId: 'c-5',
        agentId: 'a-1',
        type: 'agent.restart',
        state: 'accepted',
        version: 5,
      });
      const views = [
        agent('a-1', 'stopping', { version: 5 }),
        agent('a-1', 'stopped', { version: 6 }),
        agent('a-1', 'starting', { version: 7 }),
        agent('a-1', 'running', { version: 8 }),
      ];
      gateway.on('GET /api/agents/a-1', (_req, res) => send(res, 200, views.length > 1 ? views.shift() : views[0]));
      const run = await cli(['agents', 'restart', 'a-1', '--reason', 'new build', '--wait'], { env });
      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/a-1 running\n$/);
      expect(gateway.requests[0]!.body).toEqual({ reason: 'new build' });
    });

    it('gives up waiting after --timeout with exit 1', async () => {
      gateway.json('POST /api/agents', 202, {
        agentId: 'a-1',
        status: 'queued',
        commandId: 'c-1',
        outcome: 'accepted',
      });
      gateway.json('GET /api/commands/c-1', 200, {
        commandId: 'c-1',
        agentId: 'a-1',
        type: 'agent.start',
        state: 'accepted',
        version: 1,
      });
      gateway.json('GET /api/agents/a-1', 200, agent('a-1', 'queued', { version: 1 }));
      const run = await cli(['agents', 'start', 'a-1', '--behavior', 'http-monitor', '--wait', '--timeout', '0.3'], {
        env,
      });
      expect(run.code).toBe(1);
      expect(run.stderr).toContain('wait_timeout');
    });

    it('stops with the reason, and reports a stop of a stopped agent as a no-op', async () => {
      gateway.json('DELETE /api/agents/a-1', 202, { agentId: 'a-1', status: 'stopping', commandId: 'c-2' });
      const run = await cli(['agents', 'stop', 'a-1', '--reason', 'maintenance'], { env });
      expect(run.code).toBe(0);
      expect(gateway.requests[0]!.query.get('reason')).toBe('maintenance');
      gateway.json('DELETE /api/agents/a-1', 200, agent('a-1', 'stopped'));
      const noop = await cli(['agents', 'stop', 'a-1'], { env });
      expect(noop.code).toBe(0);
      expect(noop.stdout).toContain('nothing to stop');
    });

    it.each(['restart', 'pause', 'resume'])(
      '%s posts to the agent and maps 409 to exit 1, 404 to exit 4',
      async (action) => {
        gateway.json(`POST /api/agents/a-1/${action}`, 202, { agentId: 'a-1', status: 'stopping', commandId: 'c-3' });
        const run = await cli(['agents', action, 'a-1', '--json'], { env });
        expect(run.code).toBe(0);
        expect(run.values()).toEqual([{ agentId: 'a-1', status: 'stopping', commandId: 'c-3' }]);
        gateway.json(`POST /api/agents/a-1/${action}`, 409, { error: { code: 'invalid_transition', message: 'no' } });
        expect((await cli(['agents', action, 'a-1'], { env })).code).toBe(1);
        expect((await cli(['agents', action, 'ghost'], { env })).code).toBe(4);
      },
    );

    it('acts in bulk on a selector, printing each result, and exits 1 when some agents failed', async () => {
      gateway.json('POST /api/agents/actions', 200, {
        matched: 2,
        results: [
          { agentId: 'a-1', ok: true, status: 'stopping', commandId: 'c-1', outcome: 'accepted' },
          { agentId: 'a-2', ok: false, error: { code: 'invalid_transition', message: 'a-2 is stopped' } },
        ],
      });
      const run = await cli(
        ['agents', 'bulk', 'pause', '--status', 'running', '--label', 'team=growth', '--reason', 'quiet hours'],
        { env },
      );
      expect(run.code).toBe(1);
      expect(gateway.requests[0]!.body).toEqual({
        action: 'pause',
        selector: { status: 'running', label: ['team=growth'] },
        reason: 'quiet hours',
      });
      expect(run.stdout).toMatch(/a-1\s+ok\s+stopping\s+accepted/);
      expect(run.stdout).toMatch(/a-2\s+FAILED\s+invalid_transition: a-2 is stopped/);
      expect(run.stderr).toContain('2 matched, 1 ok, 1 failed');

      gateway.json('POST /api/agents/actions', 200, { matched: 0, results: [] });
      const none = await cli(['agents', 'bulk', 'stop', '--all', '--json'], { env });
      expect(none.code).toBe(0);
      expect(none.values()).toEqual([{ matched: 0, results: [] }]);
      expect(gateway.requests[1]!.body).toEqual({ action: 'stop', selector: { all: true } });
    });

    it('replaces the labels with the pairs given, and refuses a pair without "=" (exit 2)', async () => {
      gateway.json('PUT /api/agents/a-1/labels', 202, { agentId: 'a-1', status: 'running', commandId: 'c-4' });
      const run = await cli(['agents', 'labels', 'a-1', 'team=growth', 'tier=1'], { env });
      expect(run.code).toBe(0);
      expect(gateway.requests[0]!.body).toEqual({ labels: { team: 'growth', tier: '1' } });
      expect(run.stdout).toContain('a-1 labels team=growth,tier=1');
      const bad = await cli(['agents', 'labels', 'a-1', 'team'], { env });
      expect(bad.code).toBe(2);
      expect(gateway.requests).toHaveLength(1);
    });

    it('prints the activity log oldest first', async () => {
      const activity = (id: string, at: string, ok: boolean) => ({
        id,
        agentId: 'a-1',
        kind: 'http.check',
        ok,
        at,
        message: id,
      });
      gateway.json('GET /api/agents/a-1/activities', 200, {
        items: [activity('second', '2026-01-01T00:00:02Z', false), activity('first', '2026-01-01T00:00:01Z', true)],
        nextCursor: null,
      });
      const run = await cli(['agents', 'logs', 'a-1', '--limit', '2'], { env });
      expect(run.code).toBe(0);
      expect(gateway.requests[0]!.query.get('limit')).toBe('2');
      expect(run.stdout.trim().split('\n')).toEqual([
        '2026-01-01T00:00:01Z  ok    http.check  first',
        '2026-01-01T00:00:02Z  FAIL  http.check  second',
      ]);
    });
  });

  describe('events --follow', () => {
    it('prints each entry, reopens a dropped stream after the last id, and exits 130 on Ctrl-C', async () => {
      const entry = (id: string, type: string, status: string) => ({
        id,
        kind: 'event',
        type,
        agentId: 'a-1',
        occurredAt: '2026-01-01T00:00:00Z',
        status,
        data: {},
      });
      let connections = 0;
      gateway.on('GET /api/events', (_req, res) => {
        connections++;
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        if (connections === 1) {
          // retry: keeps the test's reconnect short; then the stream drops, as a gateway restart would.
          res.end(
            `retry: 10\n\n: keep-alive\n\nid: f-1\nevent: agent.started\ndata: ${JSON.stringify(entry('f-1', 'agent.started', 'running'))}\n\n`,
          );
        } else {
          res.write(
            `id: f-2\nevent: agent.stopped\ndata: ${JSON.stringify(entry('f-2', 'agent.stopped', 'stopped'))}\n\n`,
          );
        }
      });
      const interrupt = new AbortController();
      let seen = 0;
      const run = await cli(['events', '--agent', 'a-1', '--type', 'agent.started', '--follow', '--json'], {
        env,
        interrupt: interrupt.signal,
        onStdout: () => (++seen === 2 ? interrupt.abort() : undefined),
      });
      expect(run.code).toBe(130);
      expect(run.values()).toEqual([
        entry('f-1', 'agent.started', 'running'),
        entry('f-2', 'agent.stopped', 'stopped'),
      ]);
      const [first, second] = gateway.requests;
      expect(first!.query.get('agentId')).toBe('a-1');
      expect(first!.query.get('type')).toBe('agent.started');
      expect(first!.headers.accept).toBe('text/event-stream');
      expect(first!.headers['last-event-id']).toBeUndefined();
      expect(second!.headers['last-event-id']).toBe('f-1');
      expect(second!.headers.authorization).toBe('Bearer key-from-env-000000');
    });

    it('ends with the API error when the stream cannot be opened', async () => {
      gateway.json('GET /api/agents/ghost/events', 404, {
        error: { code: 'agent_not_found', message: 'agent ghost not found' },
      });
      gateway.json('GET /api/agents/ghost/activities', 200, { items: [], nextCursor: null });
      const run = await cli(['agents', 'logs', 'ghost', '--follow'], { env });
      expect(run.code).toBe(4);
    });
  });

  describe('dead letters', () => {
    const letter = {
      id: 'dl-1',
      queue: 'engine.commands',
      exchange: 'drover.commands',
      routingKey: 'agent.start',
      messageId: 'm-1',
      type: 'agent.start',
      agentId: 'a-1',
      reason: 'payload.behavior: Required',
      deadLetteredAt: '2026-01-01T00:00:00Z',
      deaths: 1,
      body: { messageId: 'm-1' },
      replayable: true,
      replays: [],
    };

    it('lists by queue, shows one, and replays it', async () => {
      gateway.json('GET /api/dead-letters', 200, { items: [letter], nextCursor: null });
      gateway.json('GET /api/dead-letters/dl-1', 200, letter);
      gateway.json('POST /api/dead-letters/dl-1/replay', 202, { deadLetterId: 'dl-1', messageId: 'm-1-replay' });
      const list = await cli(['dead', 'list', '--queue', 'engine.commands', '--limit', '10'], { env });
      expect(list.code).toBe(0);
      expect(gateway.requests[0]!.query.get('queue')).toBe('engine.commands');
      expect(list.stdout).toMatch(/dl-1\s+engine\.commands\s+agent\.start\s+a-1/);
      const show = await cli(['dead', 'show', 'dl-1', '--json'], { env });
      expect(show.values()).toEqual([letter]);
      const replay = await cli(['dead', 'replay', 'dl-1'], { env });
      expect(replay.code).toBe(0);
      expect(replay.stdout).toContain('m-1-replay');
    });

    it('exits 1 naming why a dead letter is not replayable, 4 for an unknown one', async () => {
      gateway.json('POST /api/dead-letters/dl-2/replay', 409, {
        error: { code: 'not_replayable', message: 'the body failed validation: it would be refused again' },
      });
      const refused = await cli(['dead', 'replay', 'dl-2'], { env });
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain('not_replayable');
      expect((await cli(['dead', 'show', 'dl-3'], { env })).code).toBe(4);
    });
  });

  describe('top', () => {
    const fleet = {
      statusCounts: { running: 3, queued: 1, failed: 0 },
      sessionAgents: [
        { instanceId: 'sa-1', capacity: 4, sessions: 3, alive: true, lastSeenAt: '2026-01-01T00:00:00Z' },
      ],
      queued: 1,
      queues: [{ name: 'engine.commands', messages: 2, consumers: 1 }],
      deadLetters: { total: 5, byQueue: { 'engine.commands': 5 } },
    };

    it('prints one fleet JSON with --once --json, and a table without --json', async () => {
      gateway.json('GET /api/fleet', 200, fleet);
      const json = await cli(['top', '--once', '--json'], { env });
      expect(json.code).toBe(0);
      expect(json.values()).toEqual([fleet]);
      const table = await cli(['top', '--once'], { env });
      expect(table.code).toBe(0);
      expect(table.stdout).toContain('sessions 3/4');
      expect(table.stdout).toMatch(/running\s+3/);
      expect(table.stdout).not.toMatch(/failed\s+0/);
      expect(table.stdout).toMatch(/sa-1\s+3\s+4\s+75%\s+yes/);
      expect(table.stdout).toMatch(/engine\.commands\s+2\s+1/);
      expect(table.stdout).not.toContain('\x1b[2J'); // no screen clearing when not on a terminal
    });

    it('prints one JSON per tick until Ctrl-C (exit 130)', async () => {
      gateway.json('GET /api/fleet', 200, fleet);
      const interrupt = new AbortController();
      let ticks = 0;
      const run = await cli(['top', '--json', '--interval', '0.05'], {
        env,
        interrupt: interrupt.signal,
        onStdout: () => (++ticks === 3 ? interrupt.abort() : undefined),
      });
      expect(run.code).toBe(130);
      expect(run.values()).toEqual([fleet, fleet, fleet]);
    });
  });

  describe('publish', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'drover-cli-'));
    });
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    const stop = (messageId: string) => ({ messageId, type: 'agent.stop', agentId: 'a-1', payload: {} });

    it('posts each command of a JSON Lines file and stops at the first the API refuses (exit 1)', async () => {
      let n = 0;
      gateway.on('POST /api/commands', (req, res) =>
        ++n === 2
          ? send(res, 409, { error: { code: 'message_id_reused', message: 'reused' } })
          : send(res, 202, {
              commandId: (req.body as { messageId: string }).messageId,
              agentId: 'a-1',
              outcome: 'accepted',
              status: 'stopping',
            }),
      );
      const file = join(dir, 'commands.jsonl');
      writeFileSync(file, [stop('m-1'), stop('m-2'), stop('m-3')].map((c) => JSON.stringify(c)).join('\n'));
      const run = await cli(['publish', file], { env });
      expect(run.code).toBe(1);
      expect(gateway.requests.map((r) => r.body)).toEqual([stop('m-1'), stop('m-2')]);
      expect(run.stdout).toContain('m-1 agent.stop a-1: accepted');
      expect(run.stderr).toContain('message_id_reused');
    });

    it('refuses invalid JSON (exit 2, naming the line) before sending anything', async () => {
      const file = join(dir, 'commands.jsonl');
      writeFileSync(file, `${JSON.stringify(stop('m-1'))}\n{"messageId":\n`);
      const run = await cli(['publish', file], { env });
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('line 2');
      expect((await cli(['publish', join(dir, 'missing.json')], { env })).code).toBe(2);
      expect(gateway.requests).toEqual([]);
    });

    it('with --amqp, checks every command against the contracts first (exit 2 naming the field)', async () => {
      const file = join(dir, 'commands.json');
      writeFileSync(file, JSON.stringify([stop('m-1'), { ...stop('m-2'), agentId: 'bad id!' }]));
      // The broker URL points nowhere: validation fails before any connection is tried.
      const run = await cli(['publish', file, '--amqp', 'amqp://127.0.0.1:1', '--json'], { env });
      expect(run.code).toBe(2);
      expect(run.values()).toEqual([
        {
          error: {
            code: 'usage',
            message: expect.stringContaining('[1] invalid command: agentId'),
            details: { index: 1, issues: [expect.objectContaining({ field: 'agentId' })] },
          },
        },
      ]);
      writeFileSync(file, JSON.stringify(stop('scheduler:wake-a-1-1')));
      const reserved = await cli(['publish', file, '--amqp', 'amqp://127.0.0.1:1'], { env });
      expect(reserved.code).toBe(2);
      expect(reserved.stderr).toMatch(/messageId: messageId prefix "scheduler:" is reserved/);

      const noUrl = await cli(['publish', file, '--amqp'], { env });
      expect(noUrl.code).toBe(2);
      expect(noUrl.stderr).toContain('RABBITMQ_URL');
    });
  });
});
