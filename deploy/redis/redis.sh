#!/bin/sh
# Redis with a password (docker-compose-db.yml), from the services' own secret redis_url
# (redis://:<password>@redis:6379, or redis://default:<password>@...): one source for both
# sides. `serve` writes a configuration file holding `requirepass` to the container's tmpfs
# /tmp (mode 600) and starts redis-server on it, so the password is never on a command line
# (`ps` would show it); `ping` is the health check, passing the password to redis-cli through
# REDISCLI_AUTH (the environment, not the arguments). Passwords are taken as written: use
# URL-safe characters (npm run make-secrets does).
set -eu
secrets=${DROVER_SECRETS:-/run/secrets}
url=$(cat "$secrets/redis_url")
credentials=${url#*://}
case "$credentials" in *@*) ;; *) echo 'redis_url must be redis://:<password>@redis:6379' >&2; exit 1 ;; esac
credentials=${credentials%%@*}
password=${credentials#*:}
if [ -z "$password" ] || [ "$password" = "$credentials" ]; then
  echo 'redis_url must be redis://:<password>@redis:6379' >&2
  exit 1
fi
case "${1:-serve}" in
  serve)
    umask 077
    conf=${DROVER_REDIS_CONF:-/tmp/redis.conf}
    # RDB snapshot after 1000 writes in 60 s (and at shutdown); expiry events for the services.
    printf 'requirepass %s\nsave 60 1000\nnotify-keyspace-events Ex\nappendonly no\ndir /data\n' "$password" > "$conf"
    exec docker-entrypoint.sh redis-server "$conf"
    ;;
  ping)
    [ "$(REDISCLI_AUTH=$password redis-cli --no-auth-warning ping)" = PONG ]
    ;;
  *)
    echo "usage: redis.sh serve|ping" >&2
    exit 2
    ;;
esac
