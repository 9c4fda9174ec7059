#!/usr/bin/env bash
# FerretDB, the MongoDB wire-protocol server the MongoDB store adapter's contract suite
# (libs/store/src/mongodb/mongo-store.int-spec.ts) runs against in CI. Apache-2.0, built from
# the Go module proxy (nothing else on the network), SQLite backend, loopback only.
#
#   bash scripts/ferretdb.sh build   builds FerretDB once into the cache dir (reused when present)
#   bash scripts/ferretdb.sh start   starts it on 127.0.0.1:${FERRETDB_PORT:-27017} with a fresh
#                                    SQLite dir; the last line printed is the MONGO_URL to use
#   bash scripts/ferretdb.sh stop    stops the server `start` started
#   bash scripts/ferretdb.sh bin     prints the binary's path (tests that run their own server)
#
# Go: FerretDB 1.24's go.mod says `go 1.24` (toolchain go1.24.3), so Go 1.24 or newer is needed.
# Debian 12's golang-go is 1.19 (too old; bookworm-backports' golang-1.24-go or trixie's golang-go
# are new enough); otherwise install the official Go release tarball to /usr/local/go.
# GOTOOLCHAIN=local: an older go must fail here, not fetch a toolchain behind our back.
#
# FerretDB's main package panics at start-up without build/version/version.txt, which its
# release process generates and the module zip lacks; so `go install ...@v1.24.2` builds a binary
# that cannot start. We copy the module source from the module cache, write version.txt, and
# build that copy (its go.sum pins every dependency).
set -euo pipefail

FERRETDB_VERSION=v1.24.2
CACHE_DIR="${DROVER_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover-ci}"
BUILD_DIR="$CACHE_DIR/ferretdb-$FERRETDB_VERSION"
BIN="$BUILD_DIR/ferretdb"
PORT="${FERRETDB_PORT:-27017}"
STATE_FILE="${TMPDIR:-/tmp}/drover-ferretdb-$PORT.dir"

go_bin() {
  if command -v go >/dev/null; then
    command -v go
  elif [ -x /usr/local/go/bin/go ]; then
    echo /usr/local/go/bin/go
  else
    echo "go is missing: FerretDB $FERRETDB_VERSION needs Go >= 1.24 (see the comment at the top of $0)" >&2
    return 1
  fi
}

check_go() {
  local go version minor
  go="$(go_bin)"
  version="$(GOTOOLCHAIN=local "$go" env GOVERSION)" # e.g. go1.26.8
  minor="$(echo "$version" | sed -E 's/^go1\.([0-9]+).*/\1/')"
  if ! [ "$minor" -ge 24 ] 2>/dev/null; then
    echo "$go is $version; FerretDB $FERRETDB_VERSION needs Go >= 1.24 (see the comment at the top of $0)" >&2
    return 1
  fi
  echo "$go"
}

build() {
  if [ -x "$BIN" ] && "$BIN" --version >/dev/null 2>&1; then
    echo "FerretDB $FERRETDB_VERSION: reusing $BIN (0 s)"
    return 0
  fi
  local go started src work
  go="$(check_go)"
  started=$SECONDS
  export GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false"
  src="$(cd / && "$go" mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" |
    sed -n -E 's/^[[:space:]]*"Dir": "(.*)",?$/\1/p')"
  if [ -z "$src" ] || [ ! -d "$src" ]; then
    echo "go mod download github.com/FerretDB/FerretDB@$FERRETDB_VERSION gave no source dir" >&2
    return 1
  fi
  mkdir -p "$BUILD_DIR"
  work="$(mktemp -d "$BUILD_DIR/src.XXXXXX")"
  cp -R "$src/." "$work"
  chmod -R u+w "$work"
  echo "$FERRETDB_VERSION" >"$work/build/version/version.txt"
  echo "module-proxy" >"$work/build/version/package.txt"
  # Default build tags: SQLite and PostgreSQL backends, no debug build.
  (cd "$work" && CGO_ENABLED=0 "$go" build -trimpath -o "$BIN.tmp" ./cmd/ferretdb)
  rm -rf "$work"
  mv "$BIN.tmp" "$BIN"
  "$BIN" --version | head -1
  echo "FerretDB $FERRETDB_VERSION built in $((SECONDS - started)) s with $("$go" env GOVERSION): $BIN"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

start() {
  if [ ! -x "$BIN" ]; then
    echo "$BIN is missing: run 'bash $0 build' first" >&2
    return 1
  fi
  if port_open "$PORT"; then
    echo "127.0.0.1:$PORT is already taken" >&2
    return 1
  fi
  local dir pid
  dir="$(mktemp -d "${TMPDIR:-/tmp}/drover-ferretdb.XXXXXX")"
  mkdir -p "$dir/data"
  # Loopback only; the debug HTTP listener (metrics) is off; telemetry is off; no auth (the
  # sqlite handler has none to set up). The process outlives this script: `stop` ends it.
  FERRETDB_TELEMETRY=disable setsid "$BIN" \
    --handler=sqlite \
    --sqlite-url="file:$dir/data/" \
    --state-dir="$dir" \
    --listen-addr="127.0.0.1:$PORT" \
    --debug-addr=- \
    --telemetry=disable \
    --log-level=warn \
    </dev/null >"$dir/ferretdb.log" 2>&1 &
  pid=$!
  echo "$pid" >"$dir/ferretdb.pid"
  echo "$dir" >"$STATE_FILE"
  for _ in $(seq 1 60); do
    if port_open "$PORT"; then
      echo "FerretDB $FERRETDB_VERSION (sqlite, $dir) pid $pid on 127.0.0.1:$PORT"
      echo "mongodb://127.0.0.1:$PORT/"
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then break; fi
    sleep 0.5
  done
  echo "FerretDB did not open 127.0.0.1:$PORT; its log:" >&2
  cat "$dir/ferretdb.log" >&2
  kill "$pid" 2>/dev/null || true
  return 1
}

stop() {
  local dir pid
  if [ ! -f "$STATE_FILE" ]; then
    echo "no FerretDB started on port $PORT"
    return 0
  fi
  dir="$(cat "$STATE_FILE")"
  pid="$(cat "$dir/ferretdb.pid")"
  if kill "$pid" 2>/dev/null; then
    for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
  fi
  rm -rf "$dir" "$STATE_FILE"
  echo "FerretDB (pid $pid) stopped"
}

case "${1:-}" in
  build) build ;;
  start) start ;;
  stop) stop ;;
  bin) echo "$BIN" ;;
  *)
    echo "usage: $0 build|start|stop|bin" >&2
    exit 2
    ;;
esac
