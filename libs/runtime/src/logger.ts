import pino from 'pino';

export type Logger = pino.Logger;

/** JSON logs on stdout; `LOG_LEVEL` is read by the config, never here. */
export function createLogger(service: string, level = 'info'): Logger {
  return pino({
    name: service,
    level,
    base: { service },
    redact: {
      paths: ['proxy', '*.proxy', 'config.password', '*.config.password', 'headers.authorization', 'apiKey'],
      censor: '***',
    },
  });
}

/** DI token of the process's logger. */
export const LOGGER = Symbol('Logger');

/** A logger that drops everything, for tests. */
export const silentLogger = (): Logger => pino({ level: 'silent' });
