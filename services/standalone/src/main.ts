import 'reflect-metadata';
import { runService } from '@drover/platform';
import { startStandalone } from './standalone-system';

/** `npm start`: the whole system in one process on embedded defaults. */
runService('standalone', async (config, logger) => {
  const system = await startStandalone(config, logger);
  logger.info(
    { api: system.url, host: system.apiHost, ops: system.opsUrl, profile: config.profile.name },
    'drover is running',
  );
  process.stdout.write(
    `Drover is running at ${system.url} (profile ${config.profile.name}, data in ${config.env.DROVER_DATA_DIR})\n`,
  );
  process.stdout.write(`Drover: /live, /ready and /metrics at ${system.opsUrl}\n`);
  if (system.apiWarning) process.stdout.write(`Drover: ${system.apiWarning}\n`);
  return system;
});
