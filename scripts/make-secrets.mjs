// Makes a directory of fresh secrets for the compose files (docs/security.md, "Hardened containers"):
//
//   npm run --silent make-secrets -- /etc/drover/secrets
//   export DROVER_SECRETS_DIR=/etc/drover/secrets
//
// Same file names and formats as deploy/secrets.example (whose values every service refuses),
// each value random: passwords of 32 URL-safe characters (no percent-encoding needed inside the
// URLs), a 756-byte base64 MongoDB keyFile, API keys of 43 characters, a key ring as from
// `npm run secrets-key`. Also `host.env`: the URLs a process on the Docker host uses to reach the
// published development ports (`set -a; . "$DROVER_SECRETS_DIR/host.env"; set +a`).
//
// Refuses a directory that already holds any of the files: regenerating a password that MongoDB,
// Redis or RabbitMQ already stored locks the services out, and a new key ring opens nothing the
// old one sealed. The directory is made mode 700; the files are 644 inside it, because compose
// bind-mounts each file into containers that run as other users (10001, 999), and the directory
// keeps every other user of the host out.
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freshKeyRing } from './key-ring.mjs';

const SERVICES = ['engine', 'gateway', 'session-agent', 'persistence-agent', 'scheduler', 'bootstrap'];

const password = () => randomBytes(24).toString('base64url'); // 32 characters of [A-Za-z0-9_-]

export function secretFiles({ mongoDb = 'drover' } = {}) {
  const mongo = password();
  const redis = password();
  const admin = password();
  const files = {
    'api_keys.txt': `${randomBytes(32).toString('base64url')}\n`,
    'secrets_key.txt': freshKeyRing(),
    'rabbitmq_password.txt': `${admin}\n`,
    'rabbitmq_operator_password.txt': `${password()}\n`,
    'mongo_root_password.txt': `${password()}\n`,
    'mongo_keyfile.txt': `${randomBytes(756).toString('base64')}\n`,
    'mongo_url.txt': `mongodb://drover:${mongo}@mongodb:27017/${mongoDb}?replicaSet=rs0\n`,
    'redis_url.txt': `redis://:${redis}@redis:6379\n`,
    'grafana_admin_password.txt': `${password()}\n`,
    'host.env':
      '# Development on the Docker host, through the ports docker-compose-db.yml publishes on 127.0.0.1.\n' +
      `RABBITMQ_URL=amqp://drover:${admin}@127.0.0.1:5672\n` +
      `MONGO_URL=mongodb://drover:${mongo}@127.0.0.1:27017/${mongoDb}?directConnection=true\n` +
      `MONGO_DB=${mongoDb}\n` +
      `REDIS_URL=redis://:${redis}@127.0.0.1:6379\n`,
  };
  for (const service of SERVICES) {
    files[`rabbitmq_url_${service}.txt`] = `amqp://drover-${service}:${password()}@rabbitmq:5672\n`;
  }
  return files;
}

function main(args) {
  const dir = args[0];
  if (!dir || dir.startsWith('-')) {
    process.stderr.write('usage: npm run --silent make-secrets -- <directory>\n');
    return 2;
  }
  const files = secretFiles({ mongoDb: process.env.MONGO_DB || 'drover' });
  const target = resolve(dir);
  const existing = Object.keys(files).filter((name) => existsSync(join(target, name)));
  if (existing.length > 0) {
    process.stderr.write(
      `make-secrets: ${target} already holds ${existing.join(', ')}; not overwriting ` +
        '(the broker, MongoDB and Redis keep the passwords they were first given: see docs/security.md, "Hardened containers")\n',
    );
    return 1;
  }
  mkdirSync(target, { recursive: true, mode: 0o700 });
  chmodSync(target, 0o700);
  for (const [name, content] of Object.entries(files)) {
    // host.env is for the operator alone; the others are mounted into containers.
    writeFileSync(join(target, name), content, { mode: name === 'host.env' ? 0o600 : 0o644, flag: 'wx' });
  }
  process.stdout.write(`${target}: ${Object.keys(files).length} fresh secrets; export DROVER_SECRETS_DIR=${target}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
