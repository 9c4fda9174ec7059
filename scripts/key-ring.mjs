// A fresh Drover secrets key ring (docs/security.md, "Secrets"): one line `<key id>:<base64 32-byte key>`,
// the id dated so that rotations can be told apart. Shared by `npm run secrets-key` and `npm run make-secrets`.
import { randomBytes } from 'node:crypto';

export function freshKeyRing(now = new Date()) {
  const id = `k${now.toISOString().slice(0, 10).replaceAll('-', '')}`;
  return (
    `# Drover secrets key ring: <key id>:<base64 key>; the first key seals, every key opens.\n` +
    `${id}:${randomBytes(32).toString('base64')}\n`
  );
}
