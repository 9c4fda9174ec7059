import { describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { repoRoot } from './compose-checks';

/**
 * Each built service, given the environment docker-compose-services.yml gives it but with the
 * published secrets of deploy/secrets.example (what compose used to default to), refuses to
 * start: exit 2, the refused variable named, before connecting to anything.
 */
const root = repoRoot();
const examples = join(root, 'deploy/secrets.example');
const SERVICES: Record<string, { env: Record<string, string>; refused: string[] }> = {
  bootstrap: {
    env: { MONGO_URL_FILE: join(examples, 'mongo_url.txt') },
    refused: ['RABBITMQ_URL', 'MONGO_URL'],
  },
  engine: {
    env: {
      MONGO_URL_FILE: join(examples, 'mongo_url.txt'),
      DROVER_SECRETS_KEY_FILE: join(examples, 'secrets_key.txt'),
    },
    refused: ['RABBITMQ_URL', 'MONGO_URL', 'DROVER_SECRETS_KEY'],
  },
  gateway: {
    env: {
      REDIS_URL_FILE: join(examples, 'redis_url.txt'),
      DROVER_API_KEYS_FILE: join(examples, 'api_keys.txt'),
      DROVER_SECRETS_KEY_FILE: join(examples, 'secrets_key.txt'),
    },
    refused: ['RABBITMQ_URL', 'REDIS_URL', 'DROVER_API_KEYS', 'DROVER_SECRETS_KEY'],
  },
  'persistence-agent': {
    env: { MONGO_URL_FILE: join(examples, 'mongo_url.txt') },
    refused: ['RABBITMQ_URL', 'MONGO_URL'],
  },
  scheduler: { env: { MONGO_URL_FILE: join(examples, 'mongo_url.txt') }, refused: ['RABBITMQ_URL', 'MONGO_URL'] },
  'session-agent': {
    env: { DROVER_SECRETS_KEY_FILE: join(examples, 'secrets_key.txt') },
    refused: ['RABBITMQ_URL', 'DROVER_SECRETS_KEY'],
  },
};

describe('services refuse the published example secrets', () => {
  it.each(Object.keys(SERVICES))('%s exits 2 naming each refused variable', (name) => {
    const { env, refused } = SERVICES[name]!;
    const result = spawnSync(process.execPath, [join(root, 'dist/services', name, 'src/main.js')], {
      cwd: root,
      env: {
        PATH: process.env.PATH ?? '',
        RABBITMQ_URL_FILE: join(examples, `rabbitmq_url_${name}.txt`),
        OPS_PORT: '0',
        PORT: '0',
        ...env,
      },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(result.status).toBe(2);
    for (const variable of refused) expect(result.stderr).toContain(`${variable} holds`);
    expect(result.stderr).toContain('make-secrets');
    expect(result.stderr).not.toContain('change-me');
  });
});
