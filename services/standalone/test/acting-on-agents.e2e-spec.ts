import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Server as ProxyServer } from 'proxy-chain';
import { describeWithChromium } from '../../../libs/behaviors/src/testing/test-browser';
import {
  eventually,
  http,
  startStandaloneProcess,
  writeFastProfile,
  type StandaloneProcess,
} from './standalone-process';

type Item = Record<string, unknown>;

/** A standalone system for one describe block, with its own data and profile directories. */
function standalone(profile: Record<string, unknown> = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-actions-'));
  const profilesDir = writeFastProfile(profile);
  const ref: { system?: StandaloneProcess; api: string } = { api: '' };
  beforeAll(async () => {
    ref.system = await startStandaloneProcess(dataDir, profilesDir);
    ref.api = `${ref.system.url}/api`;
  });
  afterAll(async () => {
    ref.system?.child.kill('SIGKILL');
    await ref.system?.exited;
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  });
  return ref;
}

const issueFields = (body: Item) => (((body.error as Item).details ?? []) as Item[]).map((d) => d.field);

describe('standalone system: labels, list filters and bulk actions through the REST API', () => {
  const ref = standalone({ sessionAgent: { maxConcurrentAgents: 10, heartbeatMs: 200, leaseMs: 3_000 } });
  const view = async (agentId: string) => (await http(`${ref.api}/agents/${agentId}`)).body;
  const ids = async (query: string) =>
    ((await http(`${ref.api}/agents?${query}`)).body.items as Item[]).map((a) => a.agentId);
  const startMonitor = (agentId: string, labels?: Record<string, string>) =>
    http(`${ref.api}/agents`, {
      method: 'POST',
      body: {
        agentId,
        behavior: 'http-monitor',
        config: { url: `${ref.system!.url}/live`, intervalMs: 200, timeoutMs: 10_000 },
        ...(labels ? { labels } : {}),
      },
    });
  const running = (agentId: string) =>
    eventually(`${agentId} running`, async () => ((await view(agentId)).status === 'running' ? true : undefined));

  beforeAll(async () => {
    expect((await startMonitor('web-1', { team: 'growth', 'app-kubernetes-io/tier': 'web' })).status).toBe(202);
    expect((await startMonitor('web-2', { team: 'growth', 'app-kubernetes-io/tier': 'api' })).status).toBe(202);
    expect((await startMonitor('ops-1', { team: 'ops' })).status).toBe(202);
    expect((await startMonitor('bare-1')).status).toBe(202);
    for (const id of ['web-1', 'web-2', 'ops-1', 'bare-1']) await running(id);
  });

  it('keeps the start’s labels in the view and filters the list by label (AND) and behaviour', async () => {
    expect((await view('web-1')).labels).toEqual({ team: 'growth', 'app-kubernetes-io/tier': 'web' });
    expect(await ids('label=team=growth')).toEqual(['web-1', 'web-2']);
    expect(await ids('label=team=growth&label=app-kubernetes-io/tier=api')).toEqual(['web-2']);
    expect(await ids('label=team=nobody')).toEqual([]);
    expect(await ids('behavior=http-monitor&status=running')).toEqual(['bare-1', 'ops-1', 'web-1', 'web-2']);
    expect(await ids('behavior=page-monitor')).toEqual([]);
    // Pages of a label selector follow the cursor like any other list.
    const first = (await http(`${ref.api}/agents?label=team=growth&limit=1`)).body;
    expect((first.items as Item[]).map((a) => a.agentId)).toEqual(['web-1']);
    const next = await ids(`label=team=growth&limit=1&cursor=${first.nextCursor as string}`);
    expect(next).toEqual(['web-2']);
  });

  it('replaces labels with PUT .../labels (202), answers the same labels with 200, an unknown agent with 404', async () => {
    const put = await http(`${ref.api}/agents/bare-1/labels`, { method: 'PUT', body: { labels: { team: 'ops' } } });
    expect(put.status).toBe(202);
    expect(put.body).toMatchObject({ agentId: 'bare-1', status: 'running' });
    await eventually('labels in the view', async () => ((await view('bare-1')).labels ? true : undefined));
    expect((await view('bare-1')).labels).toEqual({ team: 'ops' });
    const same = await http(`${ref.api}/agents/bare-1/labels`, { method: 'PUT', body: { labels: { team: 'ops' } } });
    expect(same.status).toBe(200);
    expect(same.body.labels).toEqual({ team: 'ops' });
    const ghost = await http(`${ref.api}/agents/ghost/labels`, { method: 'PUT', body: { labels: { a: 'b' } } });
    expect(ghost.status).toBe(404);
    expect((ghost.body.error as Item).code).toBe('agent_not_found');
  });

  it('answers bad labels and label selectors with 400 naming the field', async () => {
    const badKey = await http(`${ref.api}/agents/bare-1/labels`, {
      method: 'PUT',
      body: { labels: { 'bad key!': 'x' } },
    });
    expect(badKey.status).toBe(400);
    expect(issueFields(badKey.body).some((f) => String(f).startsWith('labels'))).toBe(true);
    const longValue = await startMonitor('x-1', { team: 'x'.repeat(64) });
    expect(longValue.status).toBe(400);
    expect(issueFields(longValue.body)).toContain('labels.team');
    const tooMany = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, 'v']));
    const many = await http(`${ref.api}/agents/bare-1/labels`, { method: 'PUT', body: { labels: tooMany } });
    expect(many.status).toBe(400);
    expect(issueFields(many.body)).toContain('labels');
    const badQuery = await http(`${ref.api}/agents?label=no-equals-sign`);
    expect(badQuery.status).toBe(400);
    expect(issueFields(badQuery.body)).toContain('label');
    const badBehavior = await http(`${ref.api}/agents?behavior=Not_A_Behaviour`);
    expect(badBehavior.status).toBe(400);
    expect(issueFields(badBehavior.body)).toContain('behavior');
  });

  it('pauses every agent a label selects, answering each; paused agents stop checking; resume brings them back', async () => {
    const paused = await http(`${ref.api}/agents/actions`, {
      method: 'POST',
      body: { action: 'pause', selector: { label: 'team=growth' }, reason: 'maintenance' },
    });
    expect(paused.status).toBe(200);
    expect(paused.body.matched).toBe(2);
    const results = paused.body.results as Item[];
    expect(results.map((r) => [r.agentId, r.ok, r.status, r.outcome])).toEqual([
      ['web-1', true, 'paused', 'accepted'],
      ['web-2', true, 'paused', 'accepted'],
    ]);
    for (const r of results) expect(typeof r.commandId).toBe('string');
    await eventually('paused reported', async () => {
      const log = (await http(`${ref.api}/agents/web-1/activities?limit=20`)).body.items as Item[];
      return log.some((a) => a.kind === 'session.paused') ? true : undefined;
    });
    const checks = async (agentId: string) =>
      ((await http(`${ref.api}/agents/${agentId}/activities?limit=500`)).body.items as Item[]).filter(
        (a) => a.kind === 'http.check',
      ).length;
    const before = await checks('web-1');
    await sleep(1_000); // five intervals of the monitor
    expect(await checks('web-1')).toBe(before);
    expect((await view('web-1')).status).toBe('paused');
    expect((await view('ops-1')).status).toBe('running');

    // A second pause of the same selection is answered per agent as a no-op.
    const again = await http(`${ref.api}/agents/actions`, {
      method: 'POST',
      body: { action: 'pause', selector: { label: ['team=growth'], status: 'paused' } },
    });
    expect((again.body.results as Item[]).map((r) => r.outcome)).toEqual(['noop', 'noop']);

    const resumed = await http(`${ref.api}/agents/actions`, {
      method: 'POST',
      body: { action: 'resume', selector: { status: 'paused' } },
    });
    expect((resumed.body.results as Item[]).map((r) => [r.agentId, r.status])).toEqual([
      ['web-1', 'running'],
      ['web-2', 'running'],
    ]);
    await eventually('checks again', async () => ((await checks('web-1')) > before ? true : undefined));
  });

  it('refuses an empty selector and bad bulk bodies with 400 naming the field; all: true selects every agent', async () => {
    const empty = await http(`${ref.api}/agents/actions`, { method: 'POST', body: { action: 'stop', selector: {} } });
    expect(empty.status).toBe(400);
    expect(issueFields(empty.body)).toContain('selector');
    const badAction = await http(`${ref.api}/agents/actions`, {
      method: 'POST',
      body: { action: 'explode', selector: { all: true } },
    });
    expect(badAction.status).toBe(400);
    expect(issueFields(badAction.body)).toContain('action');
    const badLabel = await http(`${ref.api}/agents/actions`, {
      method: 'POST',
      body: { action: 'stop', selector: { label: 'team' } },
    });
    expect(badLabel.status).toBe(400);
    expect(issueFields(badLabel.body).some((f) => String(f).startsWith('selector.label'))).toBe(true);
    const none = await http(`${ref.api}/agents/actions`, {
      method: 'POST',
      body: { action: 'resume', selector: { all: true } },
    });
    expect(none.status).toBe(200);
    expect(none.body.matched).toBe(4);
    expect((none.body.results as Item[]).every((r) => r.ok === true && r.outcome === 'noop')).toBe(true);
  });

  it('restarts one agent (404 for an unknown one), and a stopped selection in bulk, keeping their labels', async () => {
    const ghost = await http(`${ref.api}/agents/ghost/restart`, { method: 'POST' });
    expect(ghost.status).toBe(404);
    expect((ghost.body.error as Item).code).toBe('agent_not_found');
    const runBefore = (await view('ops-1')).startedAt;
    const restart = await http(`${ref.api}/agents/ops-1/restart`, { method: 'POST', body: { reason: 'new build' } });
    expect(restart.status).toBe(202);
    expect(restart.body).toMatchObject({ agentId: 'ops-1', status: 'stopping' });
    await eventually('ops-1 running again', async () => {
      const v = await view('ops-1');
      return v.status === 'running' && v.startedAt !== runBefore ? v : undefined;
    });
    expect((await view('ops-1')).labels).toEqual({ team: 'ops' });

    const stopped = await http(`${ref.api}/agents/actions`, {
      method: 'POST',
      body: { action: 'stop', selector: { label: 'team=growth' } },
    });
    expect((stopped.body.results as Item[]).map((r) => r.ok)).toEqual([true, true]);
    for (const id of ['web-1', 'web-2']) {
      await eventually(`${id} stopped`, async () => ((await view(id)).status === 'stopped' ? true : undefined));
    }
    const restarted = await http(`${ref.api}/agents/actions`, {
      method: 'POST',
      body: { action: 'restart', selector: { status: 'stopped', behavior: 'http-monitor' } },
    });
    expect((restarted.body.results as Item[]).map((r) => [r.agentId, r.status])).toEqual([
      ['web-1', 'starting'],
      ['web-2', 'starting'],
    ]);
    for (const id of ['web-1', 'web-2']) await running(id);
    expect((await view('web-2')).labels).toEqual({ team: 'growth', 'app-kubernetes-io/tier': 'api' });
  });
});

describeWithChromium('standalone system: pausing and restarting a browser agent', () => {
  let site: Server;
  let siteUrl: string;
  /** Visits of the watched page, with the cookie each carried. */
  const visits: (string | undefined)[] = [];
  let upstream: ProxyServer;
  /** Requests the upstream proxy let through with the agent's credentials. */
  let proxied = 0;
  const ref = standalone({ sessionAgent: { maxConcurrentAgents: 5, heartbeatMs: 200, leaseMs: 3_000 } });
  const view = async (agentId: string) => (await http(`${ref.api}/agents/${agentId}`)).body;
  const pageChecks = async () =>
    ((await http(`${ref.api}/agents/page-1/activities?limit=500`)).body.items as Item[]).filter(
      (a) => a.kind === 'page.check',
    ).length;

  beforeAll(async () => {
    let next = 0;
    site = createServer((req, res) => {
      const cookie = /visitor=(\w+)/.exec(req.headers.cookie ?? '')?.[1];
      if (req.url === '/') visits.push(cookie);
      if (!cookie) res.setHeader('set-cookie', `visitor=v${(next += 1)}; Path=/; Max-Age=3600`);
      res.setHeader('content-type', 'text/html');
      res.end('<title>watched</title><p>hello</p>');
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    siteUrl = `http://127.0.0.1:${(site.address() as AddressInfo).port}/`;
    upstream = new ProxyServer({
      port: 0,
      host: '127.0.0.1',
      prepareRequestFunction: ({ username, password }) => {
        const ok = username === 'agent' && password === 'pw-secret';
        if (ok) proxied += 1;
        return { requestAuthentication: !ok };
      },
    });
    await upstream.listen();
  });
  afterAll(async () => {
    await upstream?.close(true);
    await new Promise<void>((resolve) => (site ? site.close(() => resolve()) : resolve()));
  });

  it('a paused page monitor stops loading the page, keeps its context and cookies, and resumes in it', async () => {
    const started = await http(`${ref.api}/agents`, {
      method: 'POST',
      body: {
        agentId: 'page-1',
        behavior: 'page-monitor',
        config: { url: siteUrl, intervalMs: 500, timeoutMs: 20_000 },
        proxy: `http://agent:pw-secret@127.0.0.1:${upstream.port}`,
      },
    });
    expect(started.status).toBe(202);
    await eventually('two page checks', async () => ((await pageChecks()) >= 2 ? true : undefined), 60_000);
    const cookie = visits.at(-1);
    assert.ok(cookie, 'the second visit carries the cookie the first one got');
    const host = (await view('page-1')).instanceId;

    const pause = await http(`${ref.api}/agents/page-1/pause`, { method: 'POST', body: { reason: 'look' } });
    expect(pause.status).toBe(202);
    expect(pause.body.status).toBe('paused');
    await eventually('paused reported', async () => {
      const log = (await http(`${ref.api}/agents/page-1/activities?limit=50`)).body.items as Item[];
      return log.some((a) => a.kind === 'session.paused') ? true : undefined;
    });
    const visitsWhenPaused = visits.length;
    const checksWhenPaused = await pageChecks();
    await sleep(2_000); // four intervals of the monitor
    expect(visits.length).toBe(visitsWhenPaused);
    expect(await pageChecks()).toBe(checksWhenPaused);
    const paused = await view('page-1');
    expect(paused).toMatchObject({ status: 'paused', paused: true, instanceId: host });

    const again = await http(`${ref.api}/agents/page-1/pause`, { method: 'POST' });
    expect(again.status).toBe(200);
    expect(again.body.status).toBe('paused');

    const resume = await http(`${ref.api}/agents/page-1/resume`, { method: 'POST' });
    expect(resume.status).toBe(202);
    expect(resume.body.status).toBe('running');
    await eventually('checks again', async () => (visits.length > visitsWhenPaused + 1 ? true : undefined), 30_000);
    // The same browser context: the cookie of before the pause, no new visitor.
    expect(visits.slice(visitsWhenPaused)).toEqual(visits.slice(visitsWhenPaused).map(() => cookie));
    expect((await view('page-1')).instanceId).toBe(host);
  });

  it('a restart of the running agent stops it and starts it again through its proxy, without sending the secrets again', async () => {
    const before = proxied;
    const runBefore = (await view('page-1')).startedAt;
    const restart = await http(`${ref.api}/agents/page-1/restart`, { method: 'POST' });
    expect(restart.status).toBe(202);
    const back = await eventually(
      'page-1 running again',
      async () => {
        const v = await view('page-1');
        return v.status === 'running' && v.startedAt !== runBefore ? v : undefined;
      },
      60_000,
    );
    expect(back.attempts).toBe(1);
    expect(String(back.proxy)).not.toContain('pw-secret');
    const checksAfter = await pageChecks();
    await eventually(
      'checks through the proxy after the restart',
      async () => (proxied > before && (await pageChecks()) > checksAfter ? true : undefined),
      60_000,
    );
    const log = (await http(`${ref.api}/agents/page-1/activities?limit=5`)).body.items as Item[];
    expect(log.find((a) => a.kind === 'page.check')?.ok).toBe(true);
  });

  it('a stop of a paused agent stops it', async () => {
    expect((await http(`${ref.api}/agents/page-1/pause`, { method: 'POST' })).status).toBe(202);
    const stop = await http(`${ref.api}/agents/page-1`, { method: 'DELETE' });
    expect(stop.status).toBe(202);
    await eventually('stopped', async () => ((await view('page-1')).status === 'stopped' ? true : undefined), 30_000);
    expect((await view('page-1')).paused).toBeUndefined();
  });
});
