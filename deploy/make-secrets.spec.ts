import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '@drover/runtime';
import { repoRoot } from './compose-checks';

/** scripts/make-secrets.mjs (`npm run make-secrets -- <dir>`): the directory compose expects, with fresh values. */
describe('make-secrets', () => {
  const root = repoRoot();
  const dir = mkdtempSync(join(tmpdir(), 'drover-make-secrets-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const make = (target: string) =>
    spawnSync(process.execPath, [join(root, 'scripts/make-secrets.mjs'), target], { encoding: 'utf8' });
  const read = (target: string, file: string) => readFileSync(join(target, file), 'utf8').trim();

  it('writes every file of deploy/secrets.example, the directory closed to other users', () => {
    const target = join(dir, 'a');
    expect(make(target).status).toBe(0);
    const examples = readdirSync(join(root, 'deploy/secrets.example')).filter((file) => file !== 'README.md');
    expect(readdirSync(target).sort()).toEqual([...examples, 'host.env'].sort());
    expect(statSync(target).mode & 0o777).toBe(0o700);
    expect(statSync(join(target, 'host.env')).mode & 0o077).toBe(0);
  });

  it('makes values every service accepts, in the formats the infrastructure reads', () => {
    const target = join(dir, 'b');
    expect(make(target).status).toBe(0);
    const profiles = join(root, 'run-profiles');
    for (const service of ['engine', 'gateway', 'session-agent', 'persistence-agent', 'scheduler', 'bootstrap']) {
      expect(read(target, `rabbitmq_url_${service}.txt`)).toMatch(
        new RegExp(`^amqp://drover-${service}:[A-Za-z0-9_-]{32}@rabbitmq:5672$`),
      );
    }
    const { env } = loadConfig({
      DROVER_PROFILES_DIR: profiles,
      RABBITMQ_URL_FILE: join(target, 'rabbitmq_url_engine.txt'),
      MONGO_URL_FILE: join(target, 'mongo_url.txt'),
      REDIS_URL_FILE: join(target, 'redis_url.txt'),
      DROVER_API_KEYS_FILE: join(target, 'api_keys.txt'),
      DROVER_SECRETS_KEY_FILE: join(target, 'secrets_key.txt'),
    });
    expect(env.MONGO_URL).toMatch(/^mongodb:\/\/drover:[A-Za-z0-9_-]{32}@mongodb:27017\/drover\?replicaSet=rs0$/);
    expect(env.REDIS_URL).toMatch(/^redis:\/\/:[A-Za-z0-9_-]{32}@redis:6379$/);
    // mongod wants 6 to 1024 base64 characters in its keyFile.
    expect(read(target, 'mongo_keyfile.txt')).toMatch(/^[A-Za-z0-9+/=]{6,1024}$/);
    // The host's URLs carry the same passwords as the containers'.
    const hostEnv = read(target, 'host.env');
    expect(hostEnv).toContain(`REDIS_URL=${env.REDIS_URL!.replace('@redis:', '@127.0.0.1:')}`);
    expect(hostEnv).toContain(`RABBITMQ_URL=amqp://drover:${read(target, 'rabbitmq_password.txt')}@127.0.0.1:5672`);
  });

  it('makes different values on every run', () => {
    expect(make(join(dir, 'c')).status).toBe(0);
    expect(make(join(dir, 'd')).status).toBe(0);
    for (const file of [
      'api_keys.txt',
      'secrets_key.txt',
      'mongo_url.txt',
      'mongo_keyfile.txt',
      'rabbitmq_password.txt',
    ]) {
      expect(read(join(dir, 'c'), file)).not.toBe(read(join(dir, 'd'), file));
    }
  });

  it('refuses to overwrite secrets that already exist, and wants a directory', () => {
    const target = join(dir, 'e');
    mkdirSync(target);
    writeFileSync(join(target, 'mongo_url.txt'), 'mongodb://drover:in-use@mongodb:27017/drover\n');
    const result = make(target);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('already holds mongo_url.txt');
    expect(read(target, 'mongo_url.txt')).toBe('mongodb://drover:in-use@mongodb:27017/drover');
    expect(readdirSync(target)).toEqual(['mongo_url.txt']);
    expect(make('').status).toBe(2);
  });
});
