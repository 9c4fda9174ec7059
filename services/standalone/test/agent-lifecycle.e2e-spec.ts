import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
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

  before(async () => {
    system = await startStandaloneProcess(dataDir, profilesDir);
    api = `${system.url}/api`;
  });
  after(async () => {
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
    assert.equal(started.status, 202);
    assert.equal(started.body.agentId, 'mon-1');
    assert.ok(['starting', 'queued'].includes(started.body.status as string));
    assert.equal(typeof started.body.commandId, 'string');

    await eventually('mon-1 running', async () => ((await status('mon-1')).status === 'running' ? true : undefined));
    const checks = await eventually('three http checks', async () => {
      const page = await activities('mon-1', '?limit=100');
      const found = page.items.filter((a) => a.kind === 'http.check');
      return found.length >= 3 ? found : undefined;
    });
    for (const check of checks) {
      assert.equal(check.ok, true, JSON.stringify(check));
      assert.equal((check.details as Item).status, 200);
      assert.equal(typeof (check.details as Item).ms, 'number');
    }
    const command = await http(`${api}/commands/${started.body.commandId as string}`);
    assert.equal(command.status, 200);
    assert.equal(command.body.state, 'accepted');
  });

  it('pages the activity log newest first', async () => {
    const first = await activities('mon-1', '?limit=2');
    assert.equal(first.items.length, 2);
    assert.ok(first.nextCursor);
    const second = await activities('mon-1', `?limit=2&cursor=${encodeURIComponent(first.nextCursor)}`);
    const times = [...first.items, ...second.items].map((a) => a.at as string);
    assert.deepEqual(times, [...times].sort().reverse());
    assert.equal(new Set([...first.items, ...second.items].map((a) => a.id)).size, 4);
  });

  it('refuses a second start with 409 agent_active', async () => {
    const again = await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'mon-1', behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs: 100 } },
    });
    assert.equal(again.status, 409);
    assert.equal((again.body.error as Item).code, 'agent_active');
  });

  it('rejects bad bodies with 400 naming each field', async () => {
    const bad = await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'bad id!', behavior: 'http-monitor', config: { url: 'ftp://x', intervalMs: 5 } },
    });
    assert.equal(bad.status, 400);
    const error = bad.body.error as Item;
    assert.equal(error.code, 'invalid_request');
    const fields = (error.details as Item[]).map((d) => d.field);
    assert.ok(fields.includes('agentId'), `fields: ${fields.join(', ')}`);

    const badConfig = await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'ok-id', behavior: 'http-monitor', config: { url: 'http://127.0.0.1/', intervalMs: 5 } },
    });
    assert.equal(badConfig.status, 400);
    assert.ok(((badConfig.body.error as Item).details as Item[]).some((d) => d.field === 'config.intervalMs'));

    const unknown = await http(`${api}/agents`, { method: 'POST', body: { agentId: 'ok-id', behavior: 'no-such' } });
    assert.equal(unknown.status, 400);
    assert.equal((unknown.body.error as Item).code, 'unknown_behavior');

    const malformed = await http(`${api}/agents`, { method: 'POST', raw: '{"agentId": ' });
    assert.equal(malformed.status, 400);
    assert.equal((malformed.body.error as Item).code, 'invalid_request');
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
    assert.equal(started.status, 202);
    const view = await eventually('view', async () => {
      const response = await http(`${api}/agents/secretive`);
      return response.status === 200 ? response.body : undefined;
    });
    assert.ok(!JSON.stringify(view).includes('hunter2'));
    assert.match(view.proxy as string, /alice:\*\*\*@/);
    assert.equal((await http(`${api}/agents/secretive`, { method: 'DELETE' })).status, 202);
  });

  it('stops the agent: 202 stopping, then stopped, then 200 on a repeat', async () => {
    const stop = await http(`${api}/agents/mon-1`, { method: 'DELETE' });
    assert.equal(stop.status, 202);
    assert.equal(stop.body.status, 'stopping');
    await eventually('mon-1 stopped', async () => ((await status('mon-1')).status === 'stopped' ? true : undefined));
    const repeat = await http(`${api}/agents/mon-1`, { method: 'DELETE' });
    assert.equal(repeat.status, 200);
    assert.equal(repeat.body.status, 'stopped');
    assert.equal((await http(`${api}/agents/nobody`, { method: 'DELETE' })).status, 404);
    assert.equal((await http(`${api}/agents/nobody/status`)).status, 404);
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
    assert.equal(first.status, 202);
    assert.equal(second.status, 202);
    assert.equal(second.body.outcome, 'duplicate');
    const log = await eventually('start recorded', async () => {
      const page = await activities('dup-1', '?limit=100');
      return page.items.some((a) => a.kind === 'agent.start-requested') ? page : undefined;
    });
    assert.equal(log.items.filter((a) => a.kind === 'agent.start-requested').length, 1);
    assert.equal((await status('dup-1')).attempts, 1);
  });

  it('answers health checks', async () => {
    assert.equal((await http(`${system.url}/live`)).status, 200);
    const ready = await http(`${system.url}/ready`);
    assert.equal(ready.status, 200);
    const health = await http(`${system.url}/health`);
    assert.equal(health.status, 200);
    assert.ok(health.headers.get('deprecation'));
  });
});
