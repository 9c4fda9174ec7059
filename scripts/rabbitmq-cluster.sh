#!/usr/bin/env bash
# A three-node RabbitMQ cluster on this host, for the cluster test (services/bootstrap/test/
# broker-cluster.int-spec.ts) and for trying Drover on a cluster by hand. Debian's
# rabbitmq-server package is enough: each node gets its own node name, AMQP port, distribution
# port and data directory, no plugins, and the host's Erlang cookie; b and c join a.
#
#   scripts/rabbitmq-cluster.sh start            # prints the RABBITMQ_URL listing the three nodes
#   scripts/rabbitmq-cluster.sh leader <queue>   # the node leading a quorum queue (a, b or c)
#   scripts/rabbitmq-cluster.sh members <queue>  # the nodes holding a quorum queue's replicas
#   scripts/rabbitmq-cluster.sh kill <a|b|c>     # SIGKILL the node's Erlang VM
#   scripts/rabbitmq-cluster.sh restart <a|b|c>  # start a killed node again; it rejoins
#   scripts/rabbitmq-cluster.sh stop             # stop the three nodes and remove their data
#
# Ports: AMQP 5701-5703, distribution 25701-25703 (override the base with CLUSTER_PORT_BASE).
set -euo pipefail
DIR="${DROVER_CLUSTER_DIR:-/tmp/drover-rabbitmq-cluster}"
BASE="${CLUSTER_PORT_BASE:-5700}"
HOST="$(hostname -s)"
NODES=(a b c)

node_name() { echo "drover-$1@$HOST"; }
index_of() { case "$1" in a) echo 1 ;; b) echo 2 ;; c) echo 3 ;; *) echo "unknown node $1 (a, b or c)" >&2; exit 2 ;; esac; }
ctl() { rabbitmqctl -q -n "$(node_name "$1")" "${@:2}"; }

start_node() {
  local n="$1" i
  i="$(index_of "$n")"
  mkdir -p "$DIR/$n"
  echo '[].' > "$DIR/$n/enabled_plugins"
  # As root, rabbitmq-server runs the node as the rabbitmq user, who must own its files.
  if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then chown -R rabbitmq:rabbitmq "$DIR"; fi
  RABBITMQ_NODENAME="$(node_name "$n")" \
    RABBITMQ_NODE_PORT=$((BASE + i)) \
    RABBITMQ_DIST_PORT=$((BASE + 20000 + i)) \
    RABBITMQ_MNESIA_BASE="$DIR/$n/mnesia" \
    RABBITMQ_LOG_BASE="$DIR/$n/log" \
    RABBITMQ_PID_FILE="$DIR/$n/pid" \
    RABBITMQ_ENABLED_PLUGINS_FILE="$DIR/$n/enabled_plugins" \
    RABBITMQ_CONFIG_FILE="$DIR/$n/rabbitmq" \
    rabbitmq-server -detached
}

wait_node() {
  for _ in $(seq 1 60); do
    if ctl "$1" await_startup --timeout 5 >/dev/null 2>&1; then return 0; fi
    sleep 1
  done
  echo "node $(node_name "$1") did not start; its log: $DIR/$1/log" >&2
  return 1
}

urls() {
  local list=() n
  for n in "${NODES[@]}"; do list+=("amqp://guest:guest@127.0.0.1:$((BASE + $(index_of "$n")))"); done
  (IFS=,; echo "${list[*]}")
}

case "${1:-}" in
  start)
    for n in "${NODES[@]}"; do start_node "$n"; done
    for n in "${NODES[@]}"; do wait_node "$n"; done
    for n in b c; do
      ctl "$n" stop_app
      ctl "$n" join_cluster "$(node_name a)"
      ctl "$n" start_app
    done
    # guest may log in from loopback only, which is where the tests run.
    urls
    ;;
  urls) urls ;;
  leader)
    queue="${2:?leader <queue>}"
    leader="$(ctl a list_queues name leader --no-table-headers 2>/dev/null | awk -v q="$queue" '$1 == q { print $2 }')"
    [ -n "$leader" ] || { echo "no quorum queue $queue" >&2; exit 1; }
    echo "${leader#drover-}" | cut -d@ -f1
    ;;
  members)
    queue="${2:?members <queue>}"
    ctl a list_queues name members --no-table-headers 2>/dev/null |
      awk -v q="$queue" '$1 == q { $1 = ""; print }' | tr -d '[],' | sed "s/drover-\([abc]\)@[^ ]*/\1/g" | xargs
    ;;
  kill)
    n="${2:?kill <a|b|c>}"
    index_of "$n" >/dev/null
    kill -KILL "$(cat "$DIR/$n/pid")"
    ;;
  restart)
    n="${2:?restart <a|b|c>}"
    start_node "$n"
    wait_node "$n"
    ;;
  stop)
    for n in "${NODES[@]}"; do
      if [ -f "$DIR/$n/pid" ]; then kill -KILL "$(cat "$DIR/$n/pid")" 2>/dev/null || true; fi
    done
    # epmd keeps the names a moment; the data goes.
    rm -rf "$DIR"
    ;;
  *)
    echo "usage: $0 start|urls|leader <queue>|members <queue>|kill <node>|restart <node>|stop" >&2
    exit 2
    ;;
esac
