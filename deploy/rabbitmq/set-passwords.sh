#!/bin/sh
# Sets the RabbitMQ passwords of Drover's broker users (deploy/rabbitmq/definitions.json creates
# them without one, so none is stored in the repository): drover-<service> from that service's
# own secret rabbitmq_url_<service> (amqp://drover-<service>:<password>@host:port, the URL the
# service logs in with), drover-operator from rabbitmq_operator_password. Runs inside the broker
# container; the rabbitmq health check (docker-compose-db.yml) runs it, and it does the work only
# when the secret files changed since it last did, so rotating a password is: change the secret
# files, recreate the broker container and the services. Passwords are taken as written: use
# URL-safe characters (letters, digits, "-", ".", "_", "~"), which need no percent-encoding.
set -eu
secrets=${DROVER_SECRETS:-/run/secrets}
marker=${DROVER_PASSWORDS_MARKER:-/var/lib/rabbitmq/.drover-passwords}
services='engine gateway session-agent persistence-agent scheduler bootstrap'

files=''
for service in $services; do files="$files $secrets/rabbitmq_url_$service"; done
files="$files $secrets/rabbitmq_operator_password"
# shellcheck disable=SC2086 # the paths hold no spaces
sum=$(cat $files | sha256sum)
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$sum" ]; then exit 0; fi

for service in $services; do
  url=$(cat "$secrets/rabbitmq_url_$service")
  credentials=${url#*://}
  credentials=${credentials%%@*}
  user=${credentials%%:*}
  password=${credentials#*:}
  if [ "$user" != "drover-$service" ] || [ -z "$password" ] || [ "$password" = "$credentials" ]; then
    echo "rabbitmq_url_$service must be amqp://drover-$service:<password>@<host>:<port>" >&2
    exit 1
  fi
  rabbitmqctl -q change_password "$user" "$password"
done
rabbitmqctl -q change_password drover-operator "$(cat "$secrets/rabbitmq_operator_password")"
echo "$sum" > "$marker"
