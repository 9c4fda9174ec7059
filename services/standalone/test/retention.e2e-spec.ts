import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
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

/** `npm start` runs the persistence agent's retention too: a busy monitor's log stays bounded. */
describe('standalone system: retention', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'drover-e2e-'));
  const profilesDir = writeFastProfile({
    retention: { activities: { maxPerAgent: 5 }, sweepIntervalMs: 1_000 },
  });
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

  /** The agent's whole log, every page. */
  const activities = async (agentId: string) => {
    const items: Item[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : '';
      const page = (await http(`${api}/agents/${agentId}/activities?limit=100${query}`)).body as {
        items: Item[];
        nextCursor: string | null;
      };
      items.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    return items;
  };

  it("prunes an http-monitor's activity log to the profile's maxPerAgent", async () => {
    const started = await http(`${api}/agents`, {
      method: 'POST',
      body: { agentId: 'mon-r', behavior: 'http-monitor', config: { url: `${system.url}/live`, intervalMs: 100 } },
    });
    expect(started.status).toBe(202);
    // The log first holds the agent's start, then more than five checks; a sweep then drops the start.
    await eventually('more than five activities', async () =>
      (await activities('mon-r')).length > 5 ? true : undefined,
    );
    const pruned = await eventually('the oldest activities pruned', async () => {
      const items = await activities('mon-r');
      return items.some((item) => String(item.kind).startsWith('agent.')) ? undefined : items;
    });
    expect(pruned.every((item) => item.kind === 'http.check')).toBe(true);
  });
});
