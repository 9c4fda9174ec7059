import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  http,
  startStandaloneProcess,
  writeFastProfile,
  type StandaloneProcess,
} from './standalone-process';

type Item = Record<string, unknown>;

describe('standalone system: an http-monitor agent through the REST API', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-e2e-'));
  const profilesDir = writeFastProfile();
  let system: StandaloneProcess;
  let api: string;

  beforeAll(async () => {
    system = await startStandaloneProcess(dataDir, profilesDir);
    api = `${system.url}/api`;
  });
  afterAll(async () => {
    system.child.kill('SIGKILL');
    await system.exited;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  });

  const status = async (agentId: string) => (await http(`${api}/agents/${agentId}/status`)).body;
  const activities = async (agentId: string, query = '') =>
    (await http(`${api}/agents/${agentId}/activities${query}`)).body as { items: Item[]; nextCursor: string | null };

  it('starts an agent that checks the gateway and accumulates activities', async () => {
    const started = await http(`${api}/agents`, {
      method: 'POST',
      // A generous timeout: other test files load this 2-core machine at the same time.
      body: {
        agentId: 'mon-1',
        behavior: 'http-monitor',
        config: { url: `${system.url}/live`, intervalMs: 100, timeoutMs: 10_000 },
      },
    });
    expect(started.status).toBe(202);
    expect(started.body.agentId).toBe('mon-1');
    expect(['starting', 'queued'].includes(started.body.status as string)).toBeTruthy();
    expect(typeof started.body.commandId).toBe('string');

    await eventually('mon-1 running', async () => ((await status('mon-1')).status === 'running' ? true : undefined));
    const checks = await eventually('three http checks', async () => {
      const page = await activities('mon-1', '?limit=100');
      const found = page.items.filter((a) => a.kind === 'http.check');
      return found.length >= 3 ? found : undefined;
    });
    for (const check of checks) {
      assert.equal(check.ok, true, JSON.stringify(check));
      expect((check.details as Item).status).toBe(200);
      expect(typeof (check.details as Item).ms).toBe('number');
    }
    const command = await http(`${api}/commands/${started.body.commandId as string}`);
    expect(command.status).toBe(200);
    expect(command.body.state).toBe('accepted');
  });

  it('pages the activity log newest first', async () => {
    const first = await activities('mon-1', '?limit=2');
    expect(first.items.length).toBe(2);
    assert.ok(first.nextCursor);
    const second = await activities('mon-1', `?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`);
    const times = [...first.items, ...second.items].map((a) => a.at as string);
    expect(times).toEqual([...times].sort().reverse());
    expect(new Set([...first.items, ...second.items].map((a) => a.id)).size).toBe(4);
  });

  it('refuses a second start with 409 agent_active', async () => {
    const again = await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'mon-1', behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs: 100 } },
    });
    expect(again.status).toBe(409);
    expect((again.body.error as Item).code).toBe('agent_active');
  });

  it('rejects bad bodies with 400 naming each field', async () => {
    const bad = await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'bad id!', behavior: 'http-monitor', config: { url: 'ftp://x', intervalMs: 5 } },
    });
    expect(bad.status).toBe(400);
    const error = bad.body.error as Item;
    expect(error.code).toBe('invalid_request');
    const fields = (error.details as Item[]).map((d) => d.field);
    assert.ok(fields.includes('agentId'), `fields: ${fields.join(', ')}`);

    const badConfig = await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'ok-id', behavior: 'http-monitor', config: { url: 'http://127.0.0.1/', intervalMs: 5 } },
    });
    expect(badConfig.status).toBe(400);
    expect(
      ((badConfig.body.error as Item).details as Item[]).some((d) => d.field === 'config.intervalMs'),
    ).toBeTruthy();

    const unknown = await http(`${api}/agents`, { method: 'POST', body: { agentId: 'ok-id', behavior: 'no-such' } });
    expect(unknown.status).toBe(400);
    expect((unknown.body.error as Item).code).toBe('unknown_behavior');

    const malformed = await http(`${api}/agents`, { method: 'POST', raw: '{"agentId": ' });
    expect(malformed.status).toBe(400);
    expect((malformed.body.error as Item).code).toBe('invalid_request');
  });

  it('accepts a start with a schedule, as the bus does, and stores it', async () => {
    const schedule = { start: '0 8 * * 1-5', stop: '0 18 * * 1-5', timezone: 'Europe/Berlin' };
    const started = await http(`${api}/agents`, {
      method: 'POST',
      body: {
        agentId: 'scheduled',
        behavior: 'http-monitor',
        config: { url: `${system.url}/live`, intervalMs: 1000 },
        schedule,
      },
    });
    expect(started.status).toBe(202);
    const view = await eventually('scheduled view', async () => {
      const response = await http(`${api}/agents/scheduled`);
      return response.status === 200 ? response.body : undefined;
    });
    expect(view.schedule).toEqual(schedule);
    const bad = await http(`${api}/agents`, {
      method: 'POST',
      body: {
        agentId: 'badly-scheduled',
        behavior: 'http-monitor',
        config: { url: `${system.url}/live`, intervalMs: 1000 },
        schedule: { start: 'never' },
      },
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('schedule');
    expect([200, 202]).toContain((await http(`${api}/agents/scheduled`, { method: 'DELETE' })).status);
  });

  it('never shows proxy or config secrets', async () => {
    const started = await http(`${api}/agents`, {
      method: 'POST',
      body: {
        agentId: 'secretive',
        behavior: 'http-monitor',
        config: { url: `${system.url}/live`, intervalMs: 1000 },
        proxy: 'http://alice:hunter2@127.0.0.1:3128',
      },
    });
    expect(started.status).toBe(202);
    const view = await eventually('view', async () => {
      const response = await http(`${api}/agents/secretive`);
      return response.status === 200 ? response.body : undefined;
    });
    expect(!JSON.stringify(view).includes('hunter2')).toBeTruthy();
    expect(!JSON.stringify(view).includes('alice')).toBeTruthy();
    expect(view.proxy).toBe('http://***:***@127.0.0.1:3128');
    expect((await http(`${api}/agents/secretive`, { method: 'DELETE' })).status).toBe(202);
    // Sealed in the store too, which (like the key ring made on first start) only its owner reads.
    const store = ['drover.sqlite', 'drover.sqlite-wal'].map((name) => readFileSync(join(dataDir, name), 'latin1'));
    expect(store.some((text) => text.includes('hunter2'))).toBe(false);
    for (const name of ['secrets.key', 'drover.sqlite', 'drover.sqlite-wal']) {
      expect([name, (statSync(join(dataDir, name)).mode & 0o777).toString(8)]).toEqual([name, '600']);
    }
  });

  it('stops the agent: 202 stopping, then stopped, then 200 on a repeat', async () => {
    const stop = await http(`${api}/agents/mon-1`, { method: 'DELETE' });
    expect(stop.status).toBe(202);
    expect(stop.body.status).toBe('stopping');
    await eventually('mon-1 stopped', async () => ((await status('mon-1')).status === 'stopped' ? true : undefined));
    const repeat = await http(`${api}/agents/mon-1`, { method: 'DELETE' });
    expect(repeat.status).toBe(200);
    expect(repeat.body.status).toBe('stopped');
    expect((await http(`${api}/agents/nobody`, { method: 'DELETE' })).status).toBe(404);
    expect((await http(`${api}/agents/nobody/status`)).status).toBe(404);
  });

  it('commits one transition for a command published twice with one messageId', async () => {
    const command = {
      messageId: 'dup-cmd-1',
      type: 'agent.start',
      agentId: 'dup-1',
      payload: { behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs: 1000 } },
    };
    const first = await http(`${api}/commands`, { method: 'POST', body: command });
    const second = await http(`${api}/commands`, { method: 'POST', body: command });
    expect(first.status).toBe(202);
    expect(second.status).toBe(202);
    expect(second.body.outcome).toBe('duplicate');
    const log = await eventually('start recorded', async () => {
      const page = await activities('dup-1', '?limit=100');
      return page.items.some((a) => a.kind === 'agent.start-requested') ? page : undefined;
    });
    expect(log.items.filter((a) => a.kind === 'agent.start-requested').length).toBe(1);
    expect((await status('dup-1')).attempts).toBe(1);
  });

  it('answers 409 naming messageId to a messageId already used for another agent or command type', async () => {
    const command = {
      messageId: 'reused-cmd-1',
      type: 'agent.start',
      agentId: 'reuse-1',
      payload: { behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs: 1000 } },
    };
    expect((await http(`${api}/commands`, { method: 'POST', body: command })).status).toBe(202);
    const attempts = [
      { ...command, agentId: 'reuse-2' },
      { messageId: command.messageId, type: 'agent.stop', agentId: 'reuse-1', payload: {} },
    ];
    for (const attempt of attempts) {
      const res = await http(`${api}/commands`, { method: 'POST', body: attempt });
      expect(res.status).toBe(409);
      const error = res.body.error as { code: string; details: { field: string }[] };
      expect(error.code).toBe('message_id_reused');
      expect(error.details.map((d) => d.field)).toEqual(['messageId']);
    }
    expect((await http(`${api}/agents/reuse-2/status`)).status).toBe(404);
    // The first command's record is untouched.
    const recorded = await http(`${api}/commands/${command.messageId}`);
    expect(recorded.body).toMatchObject({ agentId: 'reuse-1', type: 'agent.start', state: 'accepted' });
  });

  it('refuses message ids with the prefixes the scheduler and bootstrap use, 400 naming messageId', async () => {
    for (const messageId of ['scheduler:agent.stop:x:1', 'bootstrap:dev:x:0123']) {
      const res = await http(`${api}/commands`, {
        method: 'POST',
        body: { messageId, type: 'agent.stop', agentId: 'x', payload: {} },
      });
      expect(res.status).toBe(400);
      const error = res.body.error as { code: string; details: { field: string; message: string }[] };
      expect(error.code).toBe('invalid_request');
      expect(error.details).toEqual([{ field: 'messageId', message: expect.stringMatching(/reserved/) }]);
    }
  });

  it('answers /live on the API port, and /live, /ready, /metrics on the ops port only', async () => {
    expect((await http(`${system.url}/live`)).status).toBe(200);
    for (const path of ['/ready', '/metrics', '/health'])
      expect(`${path} ${(await http(`${system.url}${path}`)).status}`).toBe(`${path} 404`);
    expect((await http(`${system.opsUrl}/live`)).status).toBe(200);
    const ready = await http(`${system.opsUrl}/ready`);
    expect(ready.body).toEqual({ status: 'ok', checks: { bus: 'ok', store: 'ok' } });
    const metrics = await fetch(`${system.opsUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/drover_/);
  });
});
