// Jest runs the TypeScript sources directly (SWC strips the types, keeps decorator metadata for
// Nest's DI), so no stale `dist/` is ever tested. The three test levels are projects chosen by
// file name: `npm run test:unit|test:int|test:e2e` selects one, `npm test` runs all three.
/** @type {import('@swc/core').Options} */
const swc = {
  jsc: {
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    target: 'es2022',
    keepClassNames: true,
  },
  module: { type: 'commonjs' },
  sourceMaps: 'inline',
};

/** The same for the ECMAScript-module-only packages below, which jest loads as CommonJS. */
const swcForJs = { ...swc, jsc: { ...swc.jsc, parser: { syntax: 'ecmascript' } } };

/**
 * Packages published only as ECMAScript modules. Node loads them with require(esm), but jest's
 * module registry can only do so from Node 24.9 on, so SWC turns them into CommonJS first.
 */
const ESM_ONLY = [
  'proxy-chain',
  'socks-proxy-agent',
  'agent-base',
  '@nestjs',
  'file-type',
  'strtok3',
  'token-types',
  '@tokenizer',
  'uint8array-extras',
  '@borewit',
];

/** What every level shares: sources, the `@drover/*` paths of tsconfig.json, the transform. */
const common = {
  rootDir: __dirname,
  roots: ['<rootDir>/libs', '<rootDir>/services', '<rootDir>/deploy'],
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', swc], '^.+\\.m?js$': ['@swc/jest', swcForJs] },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleNameMapper: {
    '^@drover/([^/]+)$': '<rootDir>/libs/$1/src',
    '^@drover/([^/]+)/(.+)$': '<rootDir>/libs/$1/src/$2',
  },
  // Servers on their standard local ports are used when their URLs are unset.
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
};

/**
 * One test level: its files and its default timeout. Jest reads `testTimeout` from the global
 * configuration only, so each project's is applied by a setup file (kept here for the record).
 */
function level(displayName, testMatch, testTimeout) {
  return {
    ...common,
    displayName,
    testMatch: [testMatch],
    testTimeout,
    globals: { DROVER_TEST_TIMEOUT_MS: testTimeout },
    setupFilesAfterEnv: ['<rootDir>/libs/testing/src/jest/test-timeout.ts'],
  };
}

/** @type {import('jest').Config} */
module.exports = {
  // Two cores: one worker per core (jest's default would leave one idle).
  maxWorkers: 2,
  collectCoverageFrom: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts', '!**/*spec.ts', '!**/testing/**'],
  coverageThreshold: {
    './libs/domain/src/': { lines: 90 },
    './libs/contracts/src/': { lines: 90 },
    './libs/store/src/': { lines: 90 },
  },
  projects: [
    level('unit', '**/*.spec.ts', 15_000),
    level('int', '**/*.int-spec.ts', 180_000),
    level('e2e', '**/*.e2e-spec.ts', 180_000),
  ],
};
