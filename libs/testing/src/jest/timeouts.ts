import { jest } from '@jest/globals';

/**
 * Every test and hook gets a timeout, so a hang fails instead of stalling the run. Unit tests do
 * no I/O and get seconds; the levels that start servers, processes and browsers get minutes.
 * jest's `testTimeout` is one value for all projects, so each project names its level in
 * `globals.testLevel` and this setup file picks the timeout.
 */
const TIMEOUT_MS: Record<string, number> = { unit: 15_000, int: 180_000, e2e: 180_000 };

const level = (globalThis as { testLevel?: string }).testLevel ?? 'unit';
jest.setTimeout(TIMEOUT_MS[level] ?? TIMEOUT_MS.unit!);
