import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MAX_MESSAGE_BYTES } from '@drover/messaging';
import { repoRoot } from '../compose-checks';

describe('deploy/rabbitmq/10-drover-limits.conf', () => {
  const text = readFileSync(join(repoRoot(), 'deploy/rabbitmq/10-drover-limits.conf'), 'utf8');

  it("sets the broker's max_message_size above what Drover's adapters send, so they refuse first", () => {
    const setting = /^max_message_size\s*=\s*(\d+)\s*$/m.exec(text);
    expect(setting).not.toBeNull();
    expect(Number(setting![1])).toBeGreaterThan(MAX_MESSAGE_BYTES);
  });

  it('is mounted into the broker config directory by docker-compose-db.yml', () => {
    const compose = readFileSync(join(repoRoot(), 'docker-compose-db.yml'), 'utf8');
    expect(compose).toContain(
      "'./deploy/rabbitmq/10-drover-limits.conf:/etc/rabbitmq/conf.d/10-drover-limits.conf:ro'",
    );
  });
});
