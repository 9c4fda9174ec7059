/** The codes better-sqlite3 gives primary-key and unique-index violations. */
const CONSTRAINT_CODES = new Set(['SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_UNIQUE']);

/**
 * True for primary-key and unique-index violations. Read from the error's code, not its class:
 * the native addon keeps the `SqliteError` class of the first module instance that loaded it,
 * so `instanceof` fails wherever the module is loaded again (jest gives each test file its own).
 */
export function isConstraintError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CONSTRAINT_CODES.has(code);
}
