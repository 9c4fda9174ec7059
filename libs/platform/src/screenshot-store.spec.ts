import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ScreenshotStore } from './screenshot-store';

const PNG = Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

describe('screenshot store', () => {
  it('lists newest first, serves the latest and keeps only the newest `limit`', async () => {
    const root = mkdtempSync(join(tmpdir(), 'drover-shots-'));
    try {
      const store = new ScreenshotStore(root, 3);
      for (let i = 0; i < 5; i += 1) {
        await store.save('a-1', PNG, i === 4 ? 'After Login' : undefined, new Date(Date.UTC(2026, 0, 1, 0, 0, i)));
      }
      const list = await store.list('a-1');
      expect(list.length).toBe(3);
      expect(list.map((s) => s.at)).toEqual([
        '2026-01-01T00:00:04.000Z',
        '2026-01-01T00:00:03.000Z',
        '2026-01-01T00:00:02.000Z',
      ]);
      expect(list[0]!.name).toMatch(/-after-login\.png$/);
      const latest = await store.latest('a-1');
      expect(latest?.name).toBe(list[0]!.name);
      expect([...(latest?.png ?? [])]).toEqual([...PNG]);
      expect(await store.list('nobody')).toEqual([]);
      expect(await store.latest('nobody')).toBe(undefined);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('refuses agent ids that could escape the directory', async () => {
    const store = new ScreenshotStore(tmpdir(), 3);
    await assert.rejects(store.save('../etc', PNG), /invalid agent id/);
  });
});
