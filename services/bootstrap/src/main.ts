import 'reflect-metadata';
import { ConfigError, createLogger, loadConfig, systemClock } from '@drover/runtime';
import { openBus, openStore } from '@drover/platform';
import { applyProfile, ProfileError } from './apply-profile';
import { boundDeadLetters } from './bound-dead-letters';

/**
 * `npm run start:bootstrap [-- --profile <name>]`: one shot. Connecting the bus asserts the
 * topology; then the dead-letter queues are bounded and the profile is applied; exit 0.
 * Exit 2 for a bad setting or profile.
 */
async function main(): Promise<number> {
  const flag = process.argv.indexOf('--profile');
  const profileName = flag >= 0 ? process.argv[flag + 1] : undefined;
  let config;
  try {
    config = loadConfig({ ...process.env, ...(profileName ? { DROVER_PROFILE: profileName } : {}) });
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`drover bootstrap: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const logger = createLogger('bootstrap', config.env.LOG_LEVEL);
  const bus = await openBus(config.env, logger, { shared: true, declaresTopology: true, service: 'bootstrap' });
  const store = await openStore(config.env);
  try {
    await boundDeadLetters(config.env, config.profile.retention.deadLetters, logger);
    const commands = await applyProfile({ bus, store, clock: systemClock, logger, profile: config.profile });
    process.stdout.write(`bootstrap: profile ${config.profile.name} applied, ${commands.length} agent(s) registered\n`);
    return 0;
  } catch (error) {
    if (error instanceof ProfileError) {
      process.stderr.write(`drover bootstrap: ${error.message}\n`);
      return 2;
    }
    throw error;
  } finally {
    await bus.close();
    await store.close();
  }
}

main().then(
  (code) => process.exit(code),
  (error: Error) => {
    process.stderr.write(`drover bootstrap: failed: ${error.message}\n`);
    process.exit(1);
  },
);
