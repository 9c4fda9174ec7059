/* global db, print -- mongosh globals */
// Runs once, on MongoDB's first boot (the image's /docker-entrypoint-initdb.d), as the root user:
// creates Drover's application user from the services' own secret, mongo_url
// (mongodb://<user>:<password>@mongodb:27017/<db>?replicaSet=rs0), with readWrite on Drover's
// database only (MONGO_DB): no user administration, no other database, no cluster actions.
// The user lives in that database, so the URL's path (its authentication database) names it.
// Rotating the password later: see docs/security.md, "Hardened containers".
const fs = require('fs');
const url = fs.readFileSync('/run/secrets/mongo_url', 'utf8').trim();
const match = /^mongodb:\/\/([^:@/]+):([^@/]+)@[^/]+\/([A-Za-z0-9_-]+)/.exec(url);
if (!match) {
  throw new Error('mongo_url must be mongodb://<user>:<password>@<host>:<port>/<database>?replicaSet=rs0');
}
const [, user, password, database] = match;
const expected = process.env.MONGO_DB || 'drover';
if (database !== expected) {
  throw new Error(`mongo_url names database ${database}, MONGO_DB is ${expected}: they must be the same`);
}
db.getSiblingDB(database).createUser({
  user: decodeURIComponent(user),
  pwd: decodeURIComponent(password),
  roles: [{ role: 'readWrite', db: database }],
});
print(`created MongoDB user ${decodeURIComponent(user)} (readWrite on ${database})`);
