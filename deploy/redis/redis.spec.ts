import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../compose-checks';

/**
 * deploy/redis/redis.sh with stand-ins for the image's entrypoint and redis-cli that record
 * their arguments and environment: Redis gets the password of the services' own redis_url,
 * through a configuration file, never through its command line.
 */
describe('deploy/redis/redis.sh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-redis-'));
  const secrets = join(dir, 'secrets');
  mkdirSync(secrets);
  const calls = join(dir, 'calls');
  const conf = join(dir, 'redis.conf');
  writeFileSync(join(dir, 'docker-entrypoint.sh'), `#!/bin/sh\necho "entrypoint $*" >> ${calls}\n`);
  writeFileSync(join(dir, 'redis-cli'), `#!/bin/sh\necho "cli $* auth=$REDISCLI_AUTH" >> ${calls}\necho PONG\n`);
  chmodSync(join(dir, 'docker-entrypoint.sh'), 0o755);
  chmodSync(join(dir, 'redis-cli'), 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (url: string, mode: string) => {
    writeFileSync(join(secrets, 'redis_url'), `${url}\n`);
    rmSync(calls, { force: true });
    return spawnSync('sh', [join(repoRoot(), 'deploy/redis/redis.sh'), mode], {
      env: { PATH: `${dir}:${process.env.PATH ?? ''}`, DROVER_SECRETS: secrets, DROVER_REDIS_CONF: conf },
      encoding: 'utf8',
    });
  };

  it('starts redis-server on a file holding the password, readable by Redis alone', () => {
    const result = run('redis://:s3cret-Pass_word@redis:6379', 'serve');
    expect(result.status).toBe(0);
    const call = readFileSync(calls, 'utf8');
    expect(call).toBe(`entrypoint redis-server ${conf}\n`);
    expect(readFileSync(conf, 'utf8')).toContain('requirepass s3cret-Pass_word\n');
    expect(readFileSync(conf, 'utf8')).toContain('notify-keyspace-events Ex\n');
    expect(statSync(conf).mode & 0o077).toBe(0);
  });

  it('pings with the password in the environment, and fails unless Redis answers PONG', () => {
    expect(run('redis://default:s3cret@redis:6379', 'ping').status).toBe(0);
    expect(readFileSync(calls, 'utf8')).toBe('cli --no-auth-warning ping auth=s3cret\n');
    writeFileSync(join(dir, 'redis-cli'), '#!/bin/sh\necho "NOAUTH Authentication required."\n');
    expect(run('redis://default:s3cret@redis:6379', 'ping').status).not.toBe(0);
  });

  it('refuses a redis_url without a password', () => {
    for (const url of ['redis://redis:6379', 'redis://default@redis:6379', 'redis://:@redis:6379']) {
      const result = run(url, 'serve');
      expect(result.status).toBe(1);
      expect(result.stderr).toContain('redis_url must be redis://:<password>@redis:6379');
    }
  });
});
