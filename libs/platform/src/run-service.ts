import { ConfigError, createLogger, loadConfig, type DroverConfig, type Logger } from '@drover/runtime';

export interface RunningService {
  /** Graceful stop: stop taking work, finish or hand off what runs, close connections. */
  stop(): Promise<void>;
}

/**
 * The `main` of every Drover process: validated config (a bad setting exits 2 naming it),
 * JSON logs, SIGTERM/SIGINT handled once with a deadline, exit 0 after a clean stop.
 */
export function runService(
  name: string,
  start: (config: DroverConfig, logger: Logger) => Promise<RunningService>,
): void {
  let config: DroverConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`drover ${name}: ${error.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(name, config.env.LOG_LEVEL);

  start(config, logger).then(
    (service) => {
      let stopping = false;
      const shutdown = (signal: string) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, 'shutting down');
        const deadline = setTimeout(() => {
          logger.error('graceful shutdown timed out');
          process.exit(1);
        }, config.env.SHUTDOWN_TIMEOUT_MS);
        deadline.unref();
        service.stop().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (error: Error) => {
            logger.error({ err: error.message }, 'shutdown failed');
            process.exit(1);
          },
        );
      };
      process.on('SIGTERM', () => shutdown('SIGTERM'));
      process.on('SIGINT', () => shutdown('SIGINT'));
    },
    (error: Error) => {
      if (error instanceof ConfigError) {
        // A setting that only makes sense with others (the API's bind and its keys): exit 2 like any bad setting.
        logger.fatal({ err: error.message }, 'invalid configuration');
        process.stderr.write(`drover ${name}: ${error.message}\n`);
        process.exit(2);
      }
      logger.fatal({ err: error.message }, 'failed to start');
      process.stderr.write(`drover ${name}: failed to start: ${error.message}\n`);
      process.exit(1);
    },
  );
}
