// Jest runs the TypeScript sources directly (SWC strips the types, keeps decorator metadata for
// Nest's DI), so no stale `dist/` is ever tested. The three test levels are projects chosen by
// file name: `npm run test:unit|test:int|test:e2e` selects one, `npm test` runs all three.
const { existsSync } = require('node:fs');
const { join } = require('node:path');

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
  '@apidevtools/json-schema-ref-parser',
  'preact',
  'kubernetes-models',
  '@kubernetes-models',
  'is-cidr',
  'cidr-regex',
];

/**
 * Of those, the ones whose `exports` offer only an `import` condition, which jest's resolver (CommonJS
 * conditions) does not match: their files are mapped by path (deploy/helm/k8s-schemas.ts).
 */
const IMPORT_ONLY = {
  '^kubernetes-models/(.+)$': '<rootDir>/node_modules/kubernetes-models/$1',
  '^@kubernetes-models/apimachinery/(.+)$': '<rootDir>/node_modules/@kubernetes-models/apimachinery/$1',
  '^@kubernetes-models/validate$': '<rootDir>/node_modules/@kubernetes-models/validate/dist/index.js',
  '^@kubernetes-models/validate/runtime/(.+)$': '<rootDir>/node_modules/@kubernetes-models/validate/dist/runtime/$1',
  '^is-cidr$': '<rootDir>/node_modules/is-cidr/dist/index.js',
  '^cidr-regex$': '<rootDir>/node_modules/cidr-regex/dist/index.js',
};

/** What every level shares: sources, the `@drover/*` paths of tsconfig.json, the transform. */
const common = {
  rootDir: __dirname,
  // deploy/ is absent in the builder image, which runs the unit level of libs and services.
  roots: ['libs', 'services', 'deploy', 'tools', 'docs']
    .filter((dir) => existsSync(join(__dirname, dir)))
    .map((dir) => `<rootDir>/${dir}`),
  testEnvironment: 'node',
  transform: { '^.+\\.ts$': ['@swc/jest', swc], '^.+\\.m?js$': ['@swc/jest', swcForJs] },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleNameMapper: {
    ...IMPORT_ONLY,
    '^@drover/([^/]+)$': '<rootDir>/libs/$1/src',
    '^@drover/([^/]+)/(.+)$': '<rootDir>/libs/$1/src/$2',
  },
  // Servers on their standard local ports are used when their URLs are unset.
  globalSetup: '<rootDir>/libs/testing/src/jest/global-setup.ts',
  // Every test and hook has a timeout: seconds for unit, minutes for int and e2e.
  setupFilesAfterEnv: ['<rootDir>/libs/testing/src/jest/timeouts.ts'],
};

/** A level: a project that picks its files by name and its timeout by `testLevel`. */
const level = (name, testMatch) => ({ ...common, displayName: name, testMatch, globals: { testLevel: name } });

const LEVELS = [
  level('unit', ['**/*.spec.ts']),
  level('int', ['**/*.int-spec.ts']),
  level('e2e', ['**/*.e2e-spec.ts']),
];

/**
 * `DROVER_TEST_LEVEL=unit` (or `int,e2e`) picks levels; `npm run test:<level>` sets it. Not
 * `--selectProjects`: it takes every word after it as a project name, so a path given after
 * `npm run test:unit --` would be read as one instead of filtering the files.
 */
const only = process.env.DROVER_TEST_LEVEL?.split(',');

/** @type {import('jest').Config} */
module.exports = {
  // Two cores: one worker per core (jest's default would leave one idle).
  maxWorkers: 2,
  collectCoverageFrom: [
    'libs/*/src/**/*.ts',
    'services/*/src/**/*.ts',
    'tools/*/src/**/*.ts',
    '!**/*spec.ts',
    '!**/testing/**',
  ],
  coverageThreshold: {
    './libs/domain/src/': { lines: 90 },
    './libs/contracts/src/': { lines: 90 },
    // The MongoDB adapter's driver calls run in its contract suite against a MongoDB server (int
    // level); its filter translation is unit-tested and counted here.
    './libs/store/src/{*.ts,sqlite/*.ts,mongodb/mongo-translate.ts}': { lines: 90 },
  },
  projects: LEVELS.filter((project) => !only || only.includes(project.displayName)),
};
