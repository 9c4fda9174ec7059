import 'reflect-metadata';
import { ConfigError, createLogger, loadConfig } from '@drover/runtime';
import { startStandalone } from './standalone-system';

/** `npm start`: the whole system in one process on embedded defaults. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`drover: ${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
  const logger = createLogger('standalone', config.env.LOG_LEVEL);
  const system = await startStandalone(config, logger);
  logger.info(
    { url: system.url, profile: config.profile.name, dataDir: config.env.DROVER_DATA_DIR },
    'drover is running',
  );
  process.stdout.write(
    `Drover is running at ${system.url} (profile ${config.profile.name}, data in ${config.env.DROVER_DATA_DIR})\n`,
  );

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
    system.stop().then(
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
}

main().catch((error: Error) => {
  process.stderr.write(`drover: failed to start: ${error.stack ?? error.message}\n`);
  process.exit(1);
});
