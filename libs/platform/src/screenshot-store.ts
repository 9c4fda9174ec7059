import { mkdir, readdir, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export interface ScreenshotInfo {
  name: string;
  at: string;
  bytes: number;
}

/** As the contracts' agent ids: never `.` or `..`, which would name a directory above the agent's. */
const AGENT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const FILE = /^(\d{8}T\d{9}Z)(?:-[a-z0-9-]{1,40})?\.png$/;

/** True for a name `save` gives a screenshot, the only names `get` serves. */
export function isScreenshotName(name: string): boolean {
  return FILE.test(name);
}

/**
 * Screenshots per agent under `<root>/agents/<agentId>/`, named by time so they sort, pruned to
 * the newest `limit`. Session agents write; the gateway lists and serves (a shared volume).
 */
export class ScreenshotStore {
  constructor(
    private readonly root: string,
    private readonly limit: number,
  ) {}

  async save(agentId: string, png: Uint8Array, label?: string, at = new Date()): Promise<string> {
    const dir = this.dir(agentId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const stamp = at.toISOString().replace(/[-:.]/g, '');
    const suffix = label
      ? `-${label
          .toLowerCase()
          .replace(/[^a-z0-9-]+/g, '-')
          .slice(0, 40)}`
      : '';
    const name = `${stamp}${suffix}.png`;
    await writeFile(join(dir, name), png, { mode: 0o600 });
    await this.prune(agentId);
    return name;
  }

  /** Newest first. */
  async list(agentId: string): Promise<ScreenshotInfo[]> {
    let names: string[];
    try {
      names = await readdir(this.dir(agentId));
    } catch {
      return [];
    }
    const shots = names
      .filter((name) => FILE.test(name))
      .sort()
      .reverse();
    return Promise.all(
      shots.map(async (name) => ({
        name,
        at: toIso(FILE.exec(name)?.[1] ?? ''),
        bytes: (await stat(join(this.dir(agentId), name))).size,
      })),
    );
  }

  async latest(agentId: string): Promise<{ name: string; png: Buffer } | undefined> {
    const [newest] = await this.list(agentId);
    if (!newest) return undefined;
    return { name: newest.name, png: await readFile(join(this.dir(agentId), newest.name)) };
  }

  /** One screenshot by the name `list` gives; undefined when there is none by that name. */
  async get(agentId: string, name: string): Promise<Buffer | undefined> {
    if (!isScreenshotName(name)) throw new Error(`invalid screenshot name ${name}`);
    try {
      return await readFile(join(this.dir(agentId), name));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  private async prune(agentId: string): Promise<void> {
    const shots = await this.list(agentId);
    for (const old of shots.slice(this.limit)) await unlink(join(this.dir(agentId), old.name)).catch(() => undefined);
  }

  private dir(agentId: string): string {
    if (!AGENT_ID.test(agentId)) throw new Error(`invalid agent id ${agentId}`);
    return join(this.root, 'agents', agentId);
  }
}

/** `20260101T120000123Z` → `2026-01-01T12:00:00.123Z`. */
function toIso(stamp: string): string {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(\d{3})Z$/.exec(stamp);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z` : stamp;
}
