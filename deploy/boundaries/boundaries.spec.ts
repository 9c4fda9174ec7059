import { describe, expect, it } from '@jest/globals';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';

interface Violation {
  from: string;
  to: string;
  rule: { name: string; severity: string };
}

const ROOT = resolve(__dirname, '../..');
const FIXTURES = join(__dirname, 'fixtures');
const CRUISE_MS = 120_000;

/**
 * The violations `npm run lint` reports for `paths` under `cwd`, with the real configuration.
 * dependency-cruiser is an ECMAScript module, which jest's module registry cannot load on Node
 * 20, so it runs in its own process exactly as the lint runs it.
 */
function cruise(cwd: string, paths: string[]): Promise<Violation[]> {
  const bin = join(ROOT, 'node_modules/dependency-cruiser/bin/dependency-cruise.mjs');
  const args = [bin, '--config', join(ROOT, '.dependency-cruiser.cjs'), '--output-type', 'json', ...paths];
  return new Promise((done, fail) => {
    // It exits with the number of errors found, so the report is read whatever the exit code.
    execFile(process.execPath, args, { cwd, maxBuffer: 256 * 1024 * 1024 }, (error, stdout, stderr) => {
      try {
        const report = JSON.parse(stdout) as { summary: { violations: Violation[] } };
        done(report.summary.violations);
      } catch {
        fail(new Error(`dependency-cruiser gave no report: ${error?.message ?? ''}\n${stderr}`));
      }
    });
  });
}

const byRule = (violations: Violation[]) =>
  [...new Set(violations.map((violation) => `${violation.rule.name}: ${violation.from}`))].sort();

describe('boundaries (.dependency-cruiser.cjs)', () => {
  it(
    'fails each rule on its violating fixture, and allows standalone to compose the services',
    async () => {
      const violations = await cruise(FIXTURES, ['libs', 'services', 'tools']);
      expect(byRule(violations)).toEqual([
        'cli-imports-no-service: tools/cli/src/uses-gateway.ts',
        'domain-and-contracts-do-no-io: libs/contracts/src/uses-driver.ts',
        'domain-and-contracts-do-no-io: libs/domain/src/reads-files.ts',
        'gateway-and-engine-load-no-browser: services/gateway/src/main.ts',
        'library-roots-load-no-adapter: libs/store/src/index.ts',
        'libs-import-no-service: libs/runtime/src/uses-service.ts',
        'libs-imported-by-entry-point: services/persistence-agent/src/deep-import.ts',
        'mongodb-store-loads-no-sqlite: libs/store/src/mongodb/index.ts',
        'no-circular: libs/runtime/src/cycle-a.ts',
        'services-import-no-other-service: services/gateway/src/uses-engine.ts',
        'sqlite-store-loads-no-mongodb: libs/store/src/sqlite/index.ts',
      ]);
      expect(violations.every((violation) => violation.rule.severity === 'error')).toBe(true);
      const reached = (rule: string) => violations.filter((v) => v.rule.name === rule).map((v) => v.to);
      expect(reached('gateway-and-engine-load-no-browser')).toEqual([
        expect.stringMatching(/node_modules\/puppeteer-core\//),
      ]);
      expect(reached('sqlite-store-loads-no-mongodb')).toEqual([expect.stringMatching(/node_modules\/mongodb\//)]);
    },
    CRUISE_MS,
  );

  it(
    'finds no violation in the repository',
    async () => {
      expect(byRule(await cruise(ROOT, ['libs', 'services', 'deploy', 'tools']))).toEqual([]);
    },
    CRUISE_MS,
  );
});
