// @ts-check
// Boundaries between the libraries and services, checked by `npm run lint` (`depcruise libs
// services deploy tools`). Each rule is shown to fail on a violating tree in deploy/boundaries/fixtures
// (deploy/boundaries/boundaries.spec.ts). See docs/design.md, section 2.

/** Node modules that reach a disk, a network, another process or a browser. */
const NODE_IO = '^(node:)?(fs|fs/promises|net|http|https|http2|tls|dgram|child_process|cluster|worker_threads)$';
/** Drivers, frameworks and browser code: whatever is not a pure function of its input. */
const IO_PACKAGES =
  'node_modules/(mongodb|better-sqlite3|amqplib|rascal|ioredis|undici|express|@nestjs/[^/]+|puppeteer|puppeteer-core|proxy-chain)/';
/** Browser and proxy code, which only the session agent (and standalone, which embeds it) runs. */
const BROWSER_PACKAGES = 'node_modules/(puppeteer|puppeteer-core|proxy-chain)/';
/** The entry points of the libraries (tsconfig.json `paths`); anything else is inside one. */
const LIB_ENTRY_POINTS = [
  '^libs/[^/]+/src/index\\.ts$',
  '^libs/store/src/(sqlite|mongodb)/index\\.ts$',
  '^libs/messaging/src/(in-memory|rabbitmq|nest)/index\\.ts$',
  '^libs/behaviors/src/catalog\\.ts$',
  '^libs/browser/src/proxy\\.ts$',
  // Scratch vhosts, run-profiles and service processes without jest (the benchmarks): the root
  // entry point loads @jest/globals.
  '^libs/testing/src/(rabbitmq-vhost|run-profile|service-process)\\.ts$',
  // Test helpers, imported by path from specs and jest.config.js.
  '^libs/[^/]+/src/testing/',
  '^libs/[^/]+/src/[^/]+/testing/',
  '^libs/testing/src/jest/',
];

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'domain-and-contracts-do-no-io',
      severity: 'error',
      comment:
        'libs/domain and libs/contracts are pure: decisions, evolutions and schemas. No file, socket, process, ' +
        'database driver, broker client, framework or browser; the services bring those.',
      from: { path: '^libs/(domain|contracts)/' },
      to: { path: [NODE_IO, IO_PACKAGES] },
    },
    {
      name: 'libs-import-no-service',
      severity: 'error',
      comment: 'Libraries are shared by the services, so none of them may depend on one.',
      from: { path: '^libs/' },
      to: { path: '^services/' },
    },
    {
      name: 'services-import-no-other-service',
      severity: 'error',
      comment:
        'Services talk over the bus, not by importing each other. services/standalone alone composes them ' +
        'into one process.',
      from: { path: '^services/([^/]+)/', pathNot: '^services/standalone/' },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'libs-imported-by-entry-point',
      severity: 'error',
      comment:
        'A library is imported through one of its entry points (@drover/<lib>, or a subpath such as @drover/store/sqlite), never a file inside it.',
      from: { path: '^(libs/[^/]+|services|deploy|tools)/' },
      to: { path: '^libs/[^/]+/src/', pathNot: ['^$1/', ...LIB_ENTRY_POINTS] },
    },
    {
      name: 'cli-imports-no-service',
      severity: 'error',
      comment:
        'The drover CLI (tools/cli) is a client of the REST API and, for publish --amqp, of the broker: it uses ' +
        'the contracts, never the services, and never loads browser code.',
      from: { path: '^tools/' },
      to: { path: ['^services/', BROWSER_PACKAGES], reachable: true },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'No import cycles, type-only imports included.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'gateway-and-engine-load-no-browser',
      severity: 'error',
      comment:
        'The gateway and the engine validate behaviour configs through @drover/behaviors/catalog and never load ' +
        'puppeteer or proxy-chain.',
      from: { path: '^services/(gateway|engine)/src/main\\.ts$' },
      to: { path: BROWSER_PACKAGES, reachable: true },
    },
    {
      name: 'library-roots-load-no-adapter',
      severity: 'error',
      comment:
        '@drover/store and @drover/messaging export ports only; the adapters have their own entry points ' +
        '(@drover/store/sqlite|mongodb, @drover/messaging/in-memory|rabbitmq|nest).',
      from: { path: '^libs/(store|messaging)/src/index\\.ts$' },
      to: {
        path: [
          '^libs/store/src/(sqlite|mongodb)/',
          '^libs/messaging/src/(in-memory|rabbitmq|nest)/',
          'node_modules/(mongodb|better-sqlite3|amqplib|rascal|@nestjs/[^/]+)/',
        ],
        reachable: true,
      },
    },
    {
      name: 'sqlite-store-loads-no-mongodb',
      severity: 'error',
      comment: 'A process on the embedded SQLite store never loads the MongoDB driver.',
      from: { path: '^libs/store/src/sqlite/index\\.ts$' },
      to: { path: 'node_modules/mongodb/', reachable: true },
    },
    {
      name: 'mongodb-store-loads-no-sqlite',
      severity: 'error',
      comment: 'A process on MongoDB never loads the native SQLite driver.',
      from: { path: '^libs/store/src/mongodb/index\\.ts$' },
      to: { path: 'node_modules/better-sqlite3/', reachable: true },
    },
  ],
  options: {
    // The violating trees that show each rule failing are cruised by their spec, not by the lint.
    exclude: { path: '^deploy/boundaries/fixtures/' },
    doNotFollow: { path: 'node_modules' },
    // Type-only imports count: a cycle through types is still a cycle between the files.
    tsPreCompilationDeps: true,
    // Absolute, so the fixtures (cruised from their own directory) resolve as the repository does.
    tsConfig: { fileName: `${__dirname}/tsconfig.json` },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    skipAnalysisNotInRules: true,
  },
};
