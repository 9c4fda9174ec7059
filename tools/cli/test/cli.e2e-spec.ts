import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FleetView } from '@drover/contracts';
import { eventually, startService, type ServiceProcess } from '@drover/testing';
import { jsonLines, runCli, startCli } from './cli-process';
import { closedPort } from './ports';

const API_KEY = 'cli-e2e-key-0123456789';

/**
 * The built `drover` CLI run as a process (bin/drover.mjs) against a running Drover (the
 * standalone system with an API key), as an operator's script runs it.
 */
describe('drover CLI against a standalone Drover', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-cli-e2e-'));
  let system: ServiceProcess;
  let env: Record<string, string>;
  let monitorConfig: string;

  beforeAll(async () => {
    system = await startService('standalone', {
      DROVER_DATA_DIR: dataDir,
      DROVER_API_KEYS: API_KEY,
      LOG_LEVEL: 'warn',
    });
    env = { DROVER_URL: system.url, DROVER_API_KEY: API_KEY };
    monitorConfig = JSON.stringify({ url: `${system.opsUrl}/live`, intervalMs: 200 });
  });
  afterAll(async () => {
    await system?.stop('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('starts an agent and waits until it runs, lists and gets it, then stops it (text and --json)', async () => {
    const started = await runCli(
      ['agents', 'start', 'cli-1', '--behavior', 'http-monitor', '--config', monitorConfig, '--wait', 'running'],
      env,
    );
    expect(started).toMatchObject({ code: 0 });
    expect(started.stdout).toMatch(/^cli-1 (starting|queued) \(start accepted, command \S+\)\ncli-1 running\n$/);

    const table = await runCli(['agents', 'list', '--status', 'running'], env);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^AGENT\s+STATUS\s+BEHAVIOR/);
    expect(table.stdout).toMatch(/\ncli-1\s+running\s+http-monitor\s/);

    const list = await runCli(['agents', 'list', '--json'], env);
    expect(jsonLines(list.stdout)).toEqual([
      { items: [expect.objectContaining({ agentId: 'cli-1', status: 'running' })], nextCursor: null },
    ]);

    const get = await runCli(['agents', 'get', 'cli-1'], env);
    expect(get.code).toBe(0);
    expect(get.stdout).toMatch(/^agentId: +cli-1\nstatus: +running\nbehavior: +http-monitor\n/);
    const getJson = await runCli(['--json', 'agents', 'get', 'cli-1'], env);
    expect(jsonLines(getJson.stdout)).toEqual([
      expect.objectContaining({ agentId: 'cli-1', status: 'running', attempts: 1 }),
    ]);

    const logs = await runCli(['agents', 'logs', 'cli-1', '--limit', '2', '--json'], env);
    expect(logs.code).toBe(0);
    expect(jsonLines(logs.stdout)).toEqual([
      expect.objectContaining({ agentId: 'cli-1', kind: expect.any(String) }),
      expect.objectContaining({ agentId: 'cli-1', kind: expect.any(String) }),
    ]);

    const stopped = await runCli(['agents', 'stop', 'cli-1', '--reason', 'cli test', '--wait', '--json'], env);
    expect(stopped.code).toBe(0);
    expect(jsonLines(stopped.stdout)).toEqual([
      { agentId: 'cli-1', status: 'stopping', commandId: expect.any(String) },
      expect.objectContaining({ agentId: 'cli-1', status: 'stopped' }),
    ]);
    const again = await runCli(['agents', 'stop', 'cli-1'], env);
    expect(again).toMatchObject({ code: 0, stdout: 'cli-1 stopped (nothing to stop)\n' });
  });

  it('labels, filters, pauses, resumes and restarts an agent, waiting for each status, then stops it by label in bulk', async () => {
    const started = await runCli(
      [
        'agents',
        'start',
        'cli-6',
        '--behavior',
        'http-monitor',
        '--config',
        monitorConfig,
        '--label',
        'team=growth',
        '--label',
        'tier=web',
        '--wait',
      ],
      env,
    );
    expect(started.code).toBe(0);
    const byLabel = await runCli(['agents', 'list', '--label', 'team=growth', '--label', 'tier=web', '--json'], env);
    expect(jsonLines(byLabel.stdout)).toEqual([
      {
        items: [expect.objectContaining({ agentId: 'cli-6', labels: { team: 'growth', tier: 'web' } })],
        nextCursor: null,
      },
    ]);
    const table = await runCli(['agents', 'list', '--label', 'team=growth'], env);
    expect(table.stdout).toMatch(/\ncli-6\s+running\s+http-monitor\s+team=growth,tier=web\s/);
    const none = await runCli(['agents', 'list', '--label', 'team=nobody', '--json'], env);
    expect(jsonLines(none.stdout)).toEqual([{ items: [], nextCursor: null }]);

    const labelled = await runCli(['agents', 'labels', 'cli-6', 'team=ops'], env);
    expect(labelled).toMatchObject({ code: 0, stdout: 'cli-6 labels team=ops (accepted)\n' });
    await eventually('the new labels on the view', async () => {
      const [view] = jsonLines((await runCli(['agents', 'get', 'cli-6', '--json'], env)).stdout) as {
        labels?: unknown;
      }[];
      return JSON.stringify(view!.labels) === JSON.stringify({ team: 'ops' }) ? true : undefined;
    });

    const paused = await runCli(['agents', 'pause', 'cli-6', '--reason', 'cli test', '--wait'], env);
    expect(paused.code).toBe(0);
    expect(paused.stdout).toMatch(/\ncli-6 paused\n$/);
    const resumed = await runCli(['agents', 'resume', 'cli-6', '--wait', '--json'], env);
    expect(resumed.code).toBe(0);
    expect(jsonLines(resumed.stdout)).toEqual([
      expect.objectContaining({ agentId: 'cli-6', commandId: expect.any(String) }),
      expect.objectContaining({ agentId: 'cli-6', status: 'running' }),
    ]);
    const restarted = await runCli(['agents', 'restart', 'cli-6', '--wait', '--json'], env);
    expect(restarted.code).toBe(0);
    const [answer, view] = jsonLines(restarted.stdout) as { status: string; version: number; labels?: unknown }[];
    expect(answer).toMatchObject({ agentId: 'cli-6', commandId: expect.any(String) });
    expect(view).toMatchObject({ agentId: 'cli-6', status: 'running', labels: { team: 'ops' } });

    const bulk = await runCli(['agents', 'bulk', 'stop', '--label', 'team=ops', '--reason', 'cli bulk', '--json'], env);
    expect(bulk.code).toBe(0);
    expect(jsonLines(bulk.stdout)).toEqual([
      { matched: 1, results: [expect.objectContaining({ agentId: 'cli-6', ok: true, status: 'stopping' })] },
    ]);

    expect((await runCli(['agents', 'pause', 'no-such-agent'], env)).code).toBe(4);
  });

  it('exits 4 for an unknown agent, 2 for a bad --config, 1 with the API code for a missing key or a refused body', async () => {
    const missing = await runCli(['agents', 'get', 'no-such-agent'], env);
    expect(missing.code).toBe(4);
    expect(missing.stderr).toContain('agent_not_found');

    const badJson = await runCli(
      ['agents', 'start', 'cli-2', '--behavior', 'http-monitor', '--config', '{"url":'],
      env,
    );
    expect(badJson.code).toBe(2);
    expect(badJson.stderr).toContain('--config: not valid JSON');

    const noKey = await runCli(['agents', 'list', '--json'], { DROVER_URL: system.url });
    expect(noKey.code).toBe(1);
    expect(jsonLines(noKey.stdout)).toEqual([{ error: expect.objectContaining({ code: 'unauthorized' }) }]);

    const refused = await runCli(
      [
        'agents',
        'start',
        'cli-2',
        '--behavior',
        'http-monitor',
        '--config',
        '{"url":"http://127.0.0.1/","intervalMs":5}',
      ],
      env,
    );
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('invalid_request');
    expect(refused.stderr).toContain('config.intervalMs');
  });

  it('exits 3 when the gateway cannot be reached', async () => {
    const url = `http://127.0.0.1:${await closedPort()}`;
    const unreachable = await runCli(['agents', 'list'], { DROVER_URL: url, DROVER_API_KEY: API_KEY });
    expect(unreachable.code).toBe(3);
    expect(unreachable.stderr).toContain(`cannot reach the gateway at ${url}: connect ECONNREFUSED`);
  });

  it('publishes command envelopes from a file and from stdin through the gateway', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-cli-publish-'));
    try {
      const file = join(dir, 'start.json');
      writeFileSync(
        file,
        JSON.stringify({
          messageId: 'cli-publish-1',
          type: 'agent.start',
          agentId: 'cli-3',
          payload: { behavior: 'http-monitor', config: JSON.parse(monitorConfig) as unknown },
        }),
      );
      const fromFile = await runCli(['publish', file, '--json'], env);
      expect(fromFile.code).toBe(0);
      expect(jsonLines(fromFile.stdout)).toEqual([
        expect.objectContaining({ commandId: 'cli-publish-1', agentId: 'cli-3', outcome: 'accepted' }),
      ]);

      const stop = { messageId: 'cli-publish-2', type: 'agent.stop', agentId: 'cli-3', payload: { reason: 'stdin' } };
      const fromStdin = await runCli(['publish', '-'], env, `${JSON.stringify(stop)}\n`);
      expect(fromStdin.code).toBe(0);
      expect(fromStdin.stdout).toMatch(/^cli-publish-2 agent\.stop cli-3: accepted \(\w+\)\n$/);

      const command = await runCli(['agents', 'get', 'cli-3', '--json'], env);
      expect(jsonLines(command.stdout)).toEqual([
        expect.objectContaining({ agentId: 'cli-3', behavior: 'http-monitor' }),
      ]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists, shows and replays a dead letter: a start refused for a reused message id', async () => {
    const payload = { behavior: 'http-monitor', config: JSON.parse(monitorConfig) as unknown };
    const first = { messageId: 'cli-dup-1', type: 'agent.start', agentId: 'cli-4', payload };
    expect((await runCli(['publish', '-'], env, JSON.stringify(first))).code).toBe(0);
    const reused = await runCli(['publish', '-'], env, JSON.stringify({ ...first, agentId: 'cli-5' }));
    expect(reused.code).toBe(1);
    expect(reused.stderr).toContain('message_id_reused');

    const letter = await eventually('the dead letter filed', async () => {
      const list = await runCli(['dead', 'list', '--queue', 'engine.commands', '--json'], env);
      const [page] = jsonLines(list.stdout) as { items: { id: string; messageId: string; agentId?: string }[] }[];
      return page!.items.find((item) => item.messageId === 'cli-dup-1');
    });
    expect(letter.agentId).toBe('cli-5');
    const table = await runCli(['dead', 'list'], env);
    expect(table.stdout).toMatch(new RegExp(`${letter.id}\\s+engine\\.commands\\s+agent\\.start\\s+cli-5\\s`));

    const show = await runCli(['dead', 'show', letter.id], env);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/reason: +messageId cli-dup-1 was already used/);
    expect(show.stdout).toContain('"agentId": "cli-5"');

    const replay = await runCli(['dead', 'replay', letter.id, '--json'], env);
    expect(replay.code).toBe(0);
    expect(jsonLines(replay.stdout)).toEqual([
      { deadLetterId: letter.id, messageId: expect.stringMatching(/^replay:/) },
    ]);
    await eventually('cli-5 started by the replay', async () => {
      const get = await runCli(['agents', 'get', 'cli-5', '--json'], env);
      return get.code === 0 ? true : undefined;
    });

    const unknown = await runCli(['dead', 'show', '0123456789abcdef0123456789abcdef'], env);
    expect(unknown.code).toBe(4);
  });

  it('top --once --json prints the fleet: status counts, session agents, queue depths, dead letters', async () => {
    const top = await runCli(['top', '--once', '--json'], env);
    expect(top.code).toBe(0);
    const frames = jsonLines(top.stdout) as FleetView[];
    expect(frames).toHaveLength(1);
    const [fleet] = frames;
    expect(fleet!.sessionAgents).toEqual([expect.objectContaining({ alive: true, capacity: expect.any(Number) })]);
    expect(fleet!.queues).toContainEqual(expect.objectContaining({ name: 'engine.commands', consumers: 1 }));
    expect(fleet!.deadLetters.total).toBeGreaterThanOrEqual(0);
    expect(typeof fleet!.statusCounts).toBe('object');

    const text = await runCli(['top', '--once'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(/\nSESSION AGENT\s+SESSIONS\s+CAPACITY/);
    expect(text.stdout).toMatch(/\nengine\.commands\s+\d+\s+1\n/);
  });

  it('events --follow prints an event that happens while it runs, and exits 130 on Ctrl-C', async () => {
    const follow = startCli(['events', '--follow', '--agent', 'cli-7'], env);
    await follow.waitForStderr(/following .*\/api\/events/);
    const started = await runCli(
      ['agents', 'start', 'cli-7', '--behavior', 'http-monitor', '--config', monitorConfig, '--wait'],
      env,
    );
    expect(started.code).toBe(0);
    await follow.waitForStdout(/ cli-7 {2}agent\.started {2}-> running/);
    follow.child.kill('SIGINT');
    const ended = await follow.exited;
    expect(ended.code).toBe(130);
    expect(ended.stdout).not.toMatch(/ cli-[^7]/);
  });

  it('agents logs --follow --json prints the recent activities, then live entries, one JSON per line', async () => {
    const follow = startCli(['agents', 'logs', 'cli-7', '--limit', '1', '--follow', '--json'], env);
    // The first line is the newest activity (an ActivityView); live entries are FeedEntries.
    await follow.waitForStdout(/"kind":"activity".*\n/);
    follow.child.kill('SIGINT');
    const ended = await follow.exited;
    expect(ended.code).toBe(130);
    const [recent, ...live] = jsonLines(ended.stdout) as Record<string, unknown>[];
    expect(recent).toMatchObject({ agentId: 'cli-7', kind: 'http.check' });
    expect(live[0]).toMatchObject({ kind: 'activity', type: 'http.check', agentId: 'cli-7', id: expect.any(String) });

    // Resuming after that entry gives what came after it, never it again.
    const resumed = startCli(['events', '--agent', 'cli-7', '--last-event-id', String(live[0]!.id), '--json'], env);
    await resumed.waitForStdout(/\n/);
    resumed.child.kill('SIGINT');
    const [next] = jsonLines((await resumed.exited).stdout) as { id: string }[];
    expect(BigInt(next!.id)).toBeGreaterThan(BigInt(String(live[0]!.id)));
  });
});
