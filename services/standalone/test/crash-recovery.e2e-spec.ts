import { afterAll, describe, expect, it } from '@jest/globals';
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

describe('standalone system: SIGKILL and restart', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-crash-'));
  const profilesDir = writeFastProfile();
  const running: StandaloneProcess[] = [];

  afterAll(async () => {
    for (const system of running) {
      system.child.kill('SIGKILL');
      await system.exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profilesDir, { recursive: true, force: true });
  });

  it('keeps the history and restarts the agent per the recovery policy', async () => {
    const first = await startStandaloneProcess(dataDir, profilesDir);
    running.push(first);
    const api = `${first.url}/api`;
    // The monitor watches a URL that outlives the first process: the second one's port differs,
    // so it checks a closed port after the restart, which is fine: ok=false activities.
    const started = await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'survivor', behavior: 'http-monitor', config: { url: `${first.url}/live`, intervalMs: 100 } },
    });
    expect(started.status).toBe(202);
    await eventually('running with activities', async () => {
      const page = (await http(`${api}/agents/survivor/activities?limit=100`)).body as { items: Item[] };
      return page.items.filter((a) => a.kind === 'http.check').length >= 2 ? true : undefined;
    });
    const before = (await http(`${api}/agents/survivor/activities?limit=1000`)).body as { items: Item[] };

    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');

    const second = await startStandaloneProcess(dataDir, profilesDir);
    running.push(second);
    const api2 = `${second.url}/api`;
    const after = (await http(`${api2}/agents/survivor/activities?limit=1000`)).body as { items: Item[] };
    const afterIds = new Set(after.items.map((a) => a.id));
    for (const item of before.items) assert.ok(afterIds.has(item.id), `activity ${String(item.id)} survived`);

    const recovered = await eventually(
      'survivor restarted',
      async () => {
        const view = (await http(`${api2}/agents/survivor/status`)).body;
        return view.status === 'running' && view.attempts === 2 ? view : undefined;
      },
      20_000,
    );
    expect(recovered.attempts).toBe(2);
    const log = (await http(`${api2}/agents/survivor/activities?limit=1000`)).body as { items: Item[] };
    const kinds = log.items.map((a) => a.kind);
    assert.ok(kinds.includes('agent.interrupted'), `kinds: ${kinds.join(', ')}`);
    expect(kinds.includes('agent.restarted')).toBeTruthy();
  });

  it('exits 0 on SIGTERM', async () => {
    const system = running.at(-1)!;
    system.child.kill('SIGTERM');
    expect(await system.exited).toBe(0);
  });
});
