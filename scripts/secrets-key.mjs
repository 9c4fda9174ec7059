// Prints a fresh Drover secrets key ring (docs/security.md, "Secrets"): `npm run --silent secrets-key > secrets.key`.
// To rotate, put a new key line first and keep the old one below it until nothing sealed with it is left.
import { freshKeyRing } from './key-ring.mjs';

process.stdout.write(freshKeyRing());
