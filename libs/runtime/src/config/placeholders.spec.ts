import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from './load-config';
import { PUBLISHED_PLACEHOLDERS, urlPasswords } from './placeholders';

const repoRoot = resolve(__dirname, '../../../..');
const repoProfiles = join(repoRoot, 'run-profiles');
const examples = join(repoRoot, 'deploy/secrets.example');
const exampleFiles = readdirSync(examples).filter((file) => file !== 'README.md');

/** The environments a published file would reach a service through, each with the variable named in the refusal. */
function settingsOf(file: string): { variable: string; env: Record<string, string> }[] {
  const path = join(examples, file);
  if (file === 'api_keys.txt') return [{ variable: 'DROVER_API_KEYS', env: { DROVER_API_KEYS_FILE: path } }];
  if (file === 'secrets_key.txt') return [{ variable: 'DROVER_SECRETS_KEY', env: { DROVER_SECRETS_KEY_FILE: path } }];
  if (file.startsWith('rabbitmq_url_')) return [{ variable: 'RABBITMQ_URL', env: { RABBITMQ_URL_FILE: path } }];
  if (file === 'mongo_url.txt') return [{ variable: 'MONGO_URL', env: { MONGO_URL_FILE: path } }];
  if (file === 'redis_url.txt') return [{ variable: 'REDIS_URL', env: { REDIS_URL_FILE: path } }];
  // Any other file is a password (or key) an operator could paste into a service's URL.
  const password = encodeURIComponent(readFileSync(path, 'utf8').trim());
  return [
    { variable: 'RABBITMQ_URL', env: { RABBITMQ_URL: `amqp://drover:${password}@rabbitmq:5672` } },
    { variable: 'MONGO_URL', env: { MONGO_URL: `mongodb://root:${password}@mongodb:27017/?replicaSet=rs0` } },
    { variable: 'REDIS_URL', env: { REDIS_URL: `redis://default:${password}@redis:6379` } },
  ];
}

describe('published placeholder secrets (deploy/secrets.example)', () => {
  it('finds the example files', () => {
    expect(exampleFiles).toEqual(expect.arrayContaining(['api_keys.txt', 'secrets_key.txt', 'mongo_url.txt']));
  });

  it.each(exampleFiles)('refuses the value of %s, naming the variable', (file) => {
    for (const { variable, env } of settingsOf(file)) {
      assert.throws(
        () => loadConfig({ DROVER_PROFILES_DIR: repoProfiles, ...env }),
        (error: Error) =>
          error instanceof ConfigError &&
          error.message.includes(`${variable} holds`) &&
          error.message.includes('make-secrets'),
        `${file} through ${variable}`,
      );
    }
  });

  it('takes the same settings with values of their own', () => {
    const { env } = loadConfig({
      DROVER_PROFILES_DIR: repoProfiles,
      DROVER_API_KEYS: 'a-key-of-our-own-0123456789',
      DROVER_SECRETS_KEY: `k1:${Buffer.alloc(32, 7).toString('base64')}`,
      RABBITMQ_URL: 'amqp://drover-engine:Zq8-our-own@rabbitmq:5672,amqp://drover-engine:Zq8-our-own@rabbitmq-2:5672',
      MONGO_URL: 'mongodb://drover:our-own@mongodb:27017/drover?replicaSet=rs0',
      REDIS_URL: 'redis://:our-own@redis:6379',
    });
    expect(env.MONGO_URL).toBe('mongodb://drover:our-own@mongodb:27017/drover?replicaSet=rs0');
  });

  it('accepts guest, which local development and CI use on loopback', () => {
    const { env } = loadConfig({
      DROVER_PROFILES_DIR: repoProfiles,
      RABBITMQ_URL: 'amqp://guest:guest@127.0.0.1:5672',
    });
    expect(env.RABBITMQ_URL).toBe('amqp://guest:guest@127.0.0.1:5672');
  });

  it('refuses a placeholder in any node of a cluster URL, and a percent-encoded one, without printing it', () => {
    const url = 'amqp://u:fresh@a:5672, amqp://u:placeholder%2Dengine-change-me@b:5672';
    assert.throws(
      () => loadConfig({ DROVER_PROFILES_DIR: repoProfiles, RABBITMQ_URL: url }),
      (error: Error) => /RABBITMQ_URL holds/.test(error.message) && !error.message.includes('change-me'),
    );
  });

  it('refuses a placeholder key kept below a fresh one in the key ring', () => {
    const ring = `k2:${Buffer.alloc(32, 1).toString('base64')}\nexample-not-secret:ZHJvdmVyLWV4YW1wbGUta2V5LW5vdC1hLXNlY3JldCE=`;
    assert.throws(
      () => loadConfig({ DROVER_PROFILES_DIR: repoProfiles, DROVER_SECRETS_KEY: ring }),
      /DROVER_SECRETS_KEY holds/,
    );
  });

  it('reads passwords from URLs without one, with one, and with several nodes', () => {
    expect(urlPasswords('redis://redis:6379')).toEqual([]);
    expect(urlPasswords('redis://:p%40ss@redis:6379')).toEqual(['p@ss']);
    expect(urlPasswords('mongodb://u:a@h1:1,h2:2/db')).toEqual(['a']);
    expect(PUBLISHED_PLACEHOLDERS.has('guest')).toBe(false);
  });
});
