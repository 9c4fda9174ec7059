import { afterAll, describe, expect, it } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../compose-checks';

/**
 * deploy/rabbitmq/set-passwords.sh, run with the placeholder secrets and a stand-in `rabbitmqctl`
 * that records its arguments: each service user gets the password of its own RABBITMQ_URL secret.
 */
describe('deploy/rabbitmq/set-passwords.sh', () => {
  const dir = mkdtempSync(join(tmpdir(), 'drover-passwords-'));
  const secrets = join(dir, 'secrets');
  cpSync(join(repoRoot(), 'deploy/secrets.example'), secrets, { recursive: true });
  // Compose mounts each secret file without its .txt.
  for (const name of ['engine', 'gateway', 'session-agent', 'persistence-agent', 'scheduler', 'bootstrap']) {
    cpSync(join(secrets, `rabbitmq_url_${name}.txt`), join(secrets, `rabbitmq_url_${name}`));
  }
  cpSync(join(secrets, 'rabbitmq_operator_password.txt'), join(secrets, 'rabbitmq_operator_password'));
  const calls = join(dir, 'calls');
  writeFileSync(join(dir, 'rabbitmqctl'), `#!/bin/sh\necho "$*" >> ${calls}\n`);
  chmodSync(join(dir, 'rabbitmqctl'), 0o755);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = () =>
    spawnSync('sh', [join(repoRoot(), 'deploy/rabbitmq/set-passwords.sh')], {
      env: {
        PATH: `${dir}:${process.env.PATH ?? ''}`,
        DROVER_SECRETS: secrets,
        DROVER_PASSWORDS_MARKER: join(dir, 'marker'),
      },
      encoding: 'utf8',
    });
  const recorded = () => readFileSync(calls, 'utf8').trim().split('\n');

  it('sets every service user from its own URL secret, and the operator from its file', () => {
    expect(run().status).toBe(0);
    expect(recorded()).toEqual([
      ...['engine', 'gateway', 'session-agent', 'persistence-agent', 'scheduler', 'bootstrap'].map(
        (name) => `-q change_password drover-${name} placeholder-${name}-change-me`,
      ),
      '-q change_password drover-operator placeholder-operator-change-me',
    ]);
  });

  it('does nothing while the secrets are unchanged, and sets them again once they change', () => {
    const before = recorded().length;
    expect(run().status).toBe(0);
    expect(recorded().length).toBe(before);
    writeFileSync(join(secrets, 'rabbitmq_url_engine'), 'amqp://drover-engine:rotated@rabbitmq:5672\n');
    expect(run().status).toBe(0);
    expect(recorded()).toContain('-q change_password drover-engine rotated');
  });

  it("refuses a service URL that logs in as another service's user", () => {
    writeFileSync(join(secrets, 'rabbitmq_url_gateway'), 'amqp://drover-engine:x@rabbitmq:5672\n');
    const result = run();
    expect(result.status).toBe(1);
    expect(result.stderr).toMatch(/rabbitmq_url_gateway must be amqp:\/\/drover-gateway:<password>@/);
  });
});
