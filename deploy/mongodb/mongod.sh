#!/bin/sh
# Starts MongoDB with authentication (docker-compose-db.yml). Access control on a replica set
# needs a keyFile, which mongod accepts only when its owner alone can read it (mode 400, owned
# by the user mongod runs as); a compose secret is a bind mount of the host's file with the
# host's owner and mode, so this copies it to the container's tmpfs /tmp with the right ones.
# The container runs as the image's `mongodb` user (999) without capabilities: the copy is
# owned by that user already, no chown needed. Then the stock entrypoint: on the first boot it
# creates the root user (MONGO_INITDB_ROOT_*), runs /docker-entrypoint-initdb.d/*.js on a
# temporary server without --replSet (create-drover-user.js) and starts the real one.
set -eu
keyfile=/tmp/mongodb-keyfile
umask 077
rm -f "$keyfile" # a copy left in /tmp (mode 400) would refuse to be overwritten
cp /run/secrets/mongo_keyfile "$keyfile"
chmod 400 "$keyfile"
exec docker-entrypoint.sh mongod --replSet rs0 --bind_ip_all --keyFile "$keyfile" "$@"
