import { jest } from '@jest/globals';

/**
 * Applies the project's default test timeout. Jest takes `testTimeout` from the global
 * configuration only, so a project's own (unit 15 s, int and e2e 180 s) would be ignored and
 * every test would get jest's 5 s; jest.config.js passes it here through `globals`.
 */
const timeoutMs = (globalThis as { DROVER_TEST_TIMEOUT_MS?: unknown }).DROVER_TEST_TIMEOUT_MS;
if (typeof timeoutMs !== 'number') throw new Error('jest.config.js sets globals.DROVER_TEST_TIMEOUT_MS per project');
jest.setTimeout(timeoutMs);
