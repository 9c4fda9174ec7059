import { describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvSchema, silentLogger } from '@drover/runtime';
import type * as Infrastructure from './infrastructure';

/** The packages only one adapter needs: each must load only in the branch that picks it. */
const DRIVERS = ['mongodb', 'better-sqlite3', 'amqplib', 'rascal'];

/** Which drivers `run` loads, from a fresh module registry in which none is loaded yet. */
async function driversLoadedBy(run: (infrastructure: typeof Infrastructure) => Promise<void>) {
  const loaded = new Set<string>();
  await jest.isolateModulesAsync(async () => {
    for (const name of DRIVERS) {
      jest.doMock(name, () => {
        loaded.add(name);
        return jest.requireActual(name);
      });
    }
    await run(await import('./infrastructure'));
  });
  return [...loaded].sort();
}

describe('adapter selection', () => {
  it('loads no driver until an adapter is opened', async () => {
    expect(await driversLoadedBy(async () => undefined)).toEqual([]);
  });

  it('loads SQLite, and not MongoDB, for the embedded store', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'drover-adapters-'));
    try {
      const loaded = await driversLoadedBy(async ({ openStore }) => {
        const store = await openStore(EnvSchema.parse({ DROVER_DATA_DIR: dataDir }));
        await store.close();
      });
      expect(loaded).toEqual(['better-sqlite3']);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('loads no broker client for the in-memory bus', async () => {
    const loaded = await driversLoadedBy(async ({ openBus }) => {
      const bus = await openBus(EnvSchema.parse({}), silentLogger(), { shared: false });
      await bus.close();
    });
    expect(loaded).toEqual([]);
  });
});
