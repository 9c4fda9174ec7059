/* global db, rs -- mongosh globals */
// MongoDB's health check (docker-compose-db.yml), run by mongosh inside the container: logs in
// as root with the password read from the secret file (never on a command line, where `ps`
// would show it), initiates the single-node replica set rs0 on the first check, then reports
// its status (mongosh exits non-zero when this throws).
const fs = require('fs');
const admin = db.getSiblingDB('admin');
admin.auth('root', fs.readFileSync('/run/secrets/mongo_root_password', 'utf8').trim());
try {
  rs.status();
} catch {
  rs.initiate({ _id: 'rs0', members: [{ _id: 0, host: 'mongodb:27017' }] });
}
