import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A run-profile of a test's own, in a scratch profiles directory. */
export interface RunProfileDir {
  /** What selects it: `DROVER_PROFILES_DIR` and `DROVER_PROFILE`, to spread into a service's env. */
  env: { DROVER_PROFILES_DIR: string; DROVER_PROFILE: string };
  remove(): void;
}

/** Writes `<scratch>/<profile.name>/profile.json`, so services started with `env` run on it. */
export function writeRunProfile(profile: { name: string } & Record<string, unknown>): RunProfileDir {
  const dir = mkdtempSync(join(tmpdir(), `drover-profiles-${profile.name}-`));
  mkdirSync(join(dir, profile.name));
  writeFileSync(join(dir, profile.name, 'profile.json'), JSON.stringify(profile));
  return {
    env: { DROVER_PROFILES_DIR: dir, DROVER_PROFILE: profile.name },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
