// Prints a fresh Drover secrets key ring (docs/security.md, "Secrets"): `npm run --silent secrets-key > secrets.key`.
// To rotate, put a new key line first and keep the old one below it until nothing sealed with it is left.
import { randomBytes } from 'node:crypto';

const id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}`;
process.stdout.write(
  `# Drover secrets key ring: <key id>:<base64 key>; the first key seals, every key opens.\n` +
    `${id}:${randomBytes(32).toString('base64')}\n`,
);
