#!/usr/bin/env bash
# Rehearses the runtime images without Docker: for each service, assembles exactly what its
# target in deploy/docker/Dockerfile copies (its file set from deploy/docker/service-files.mjs:
# its compiled code, the node_modules files that code loads, package.json, run-profiles) into a
# temp dir, prints its size, then runs the service from there as an unprivileged user
# (uid/gid 65534) with a clean environment, as the container would:
# long-running services must answer GET /live on their ops port (OPS_PORT) with 200 within 30 s,
# then exit 0 on SIGTERM;
# bootstrap must run once and exit 0.
#
# Usage: RABBITMQ_URL=amqp://... deploy/rehearse/rehearse.sh <service|all>
# Needs: `npm run build` done in the repository, and root (to drop privileges). Optional:
# CHROME_PATH (default /usr/lib/chromium/chromium-headless-shell), REHEARSE_KEEP=1 keeps the temp dir.
set -euo pipefail

SERVICES=(bootstrap gateway engine session-agent persistence-agent scheduler)
REPO="$(cd "$(dirname "$0")/../.." && pwd)"
RUN_UID=65534
RUN_GID=65534
LIVE_TIMEOUT_S=30
STOP_TIMEOUT_S=35 # above the services' SHUTDOWN_TIMEOUT_MS default of 25 s

usage() { echo "usage: $0 <$(IFS='|'; echo "${SERVICES[*]}")|all>" >&2; exit 2; }
fail() { echo "FAIL: $*" >&2; exit 1; }

[ $# -eq 1 ] || usage
if [ "$1" = all ]; then
  selected=("${SERVICES[@]}")
else
  selected=()
  for s in "${SERVICES[@]}"; do [ "$s" = "$1" ] && selected=("$s"); done
  [ ${#selected[@]} -eq 1 ] || usage
fi

[ -n "${RABBITMQ_URL:-}" ] || fail "RABBITMQ_URL is not set (every service but the standalone needs the broker)"
for s in "${selected[@]}"; do
  [ -f "$REPO/dist/services/$s/src/main.js" ] || fail "dist/services/$s/src/main.js is missing: run \"npm run build\" first"
done

# Drop privileges like `USER` in the image: setpriv (util-linux, in Debian 12) or runuser.
if [ "$(id -u)" -ne 0 ]; then
  fail "must run as root to start the services as uid $RUN_UID (the image's USER rehearsal)"
elif command -v setpriv >/dev/null; then
  AS_USER=(setpriv --reuid="$RUN_UID" --regid="$RUN_GID" --clear-groups --)
elif command -v runuser >/dev/null; then
  AS_USER=(runuser -u "$(getent passwd "$RUN_UID" | cut -d: -f1)" --)
else
  fail "neither setpriv nor runuser is available"
fi

NODE="$(command -v node)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/drover-rehearse.XXXXXX")"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill -KILL "$pid" 2>/dev/null || true; done
  if [ -n "${REHEARSE_KEEP:-}" ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
chmod 755 "$WORK"

free_port() {
  "$NODE" -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}
# The image's HEALTHCHECK command, verbatim but for the port.
live() {
  OPS_PORT="$1" "$NODE" -e "fetch('http://127.0.0.1:'+(process.env.OPS_PORT||9090)+'/live').then(r=>process.exit(r.status===200?0:1),()=>process.exit(1))"
}

# --- each service's file set: what its runtime target copies from the builder, made by the same
# script (deploy/docker/service-files.mjs: its compiled code and the node_modules files that code loads).
echo "== file sets (deploy/docker/service-files.mjs, traced from dist/ and node_modules/)"
started=$SECONDS
APPS="$WORK/apps"
"$NODE" "$REPO/deploy/docker/service-files.mjs" --out "$APPS" "${selected[@]}" | sed 's/^/   /' \
  || fail "deploy/docker/service-files.mjs failed"
echo "   traced in $((SECONDS - started)) s"
for svc in "${selected[@]}"; do
  for dev in typescript eslint jest; do
    [ ! -d "$APPS/$svc/node_modules/$dev" ] || fail "$svc: the dev dependency $dev is in its file set"
  done
  if [ "$svc" != session-agent ] && [ -d "$APPS/$svc/node_modules/puppeteer-core" ]; then
    fail "$svc: puppeteer is in its file set (only the session agent drives a browser)"
  fi
  if [ -d "$APPS/$svc/node_modules/better-sqlite3" ]; then
    [ ! -d "$APPS/$svc/node_modules/better-sqlite3/deps" ] && [ ! -d "$APPS/$svc/node_modules/better-sqlite3/src" ] \
      || fail "$svc: better-sqlite3's build tree is in its file set"
    (cd "$APPS/$svc" && "$NODE" -e "new (require('better-sqlite3'))(':memory:').prepare('select 1').get()") \
      || fail "$svc: better-sqlite3 does not load from its file set"
  fi
done
echo "   no dev dependency, no native build tree, puppeteer only in the session agent"

# One data dir shared by every service, as the compose volume is: writable by the service user.
DATA="$WORK/data"
mkdir -p "$DATA/files"
# The secrets key ring a compose deployment mounts as a secret file, readable by the service user only.
"$NODE" "$REPO/scripts/secrets-key.mjs" >"$DATA/secrets.key"
chmod 600 "$DATA/secrets.key"
chown -R "$RUN_UID:$RUN_GID" "$DATA"

assemble() { # <service> → its file set, what the runtime target holds under /app
  local app="$APPS/$1"
  # Root-owned, world-readable, not writable by the service user (as COPY without --chown).
  chown -R 0:0 "$app"
  chmod -R a+rX,go-w "$app"
  echo "$app"
}

# "12.3 MB, node_modules 9.1 MB": what the image adds above its base, for the code.
sizes() {
  echo "$(du -sm "$1" | cut -f1) MB, node_modules $(du -sm "$1/node_modules" | cut -f1) MB"
}

run_env() { # <ops port> : the container's environment, nothing inherited from this shell (the API port is any free one)
  local chrome="${CHROME_PATH:-/usr/lib/chromium/chromium-headless-shell}"
  echo PATH=/usr/local/bin:/usr/bin:/bin HOME=/tmp NODE_ENV=production LOG_LEVEL="${LOG_LEVEL:-warn}" \
    HOST=127.0.0.1 PORT=0 OPS_HOST=127.0.0.1 OPS_PORT="$1" RABBITMQ_URL="$RABBITMQ_URL" DROVER_DATA_DIR="$DATA" \
    PERSISTENT_DATA_PATH="$DATA/files" CHROME_PATH="$chrome" SHUTDOWN_TIMEOUT_MS=25000 \
    DROVER_SECRETS_KEY_FILE="$DATA/secrets.key"
}

rehearse_bootstrap() {
  local app log code=0
  app="$(assemble bootstrap)"
  log="$WORK/bootstrap.log"
  echo "bootstrap: size $(sizes "$app") ($app)"
  # shellcheck disable=SC2046
  (cd "$app" && "${AS_USER[@]}" env -i $(run_env 0) "$NODE" dist/services/bootstrap/src/main.js --profile dev) \
    >"$log" 2>&1 || code=$?
  if [ "$code" -ne 0 ]; then
    tail -40 "$log" >&2
    fail "bootstrap exited $code"
  fi
  echo "bootstrap: ran as uid $RUN_UID, exit 0 ($(grep -m1 'applied' "$log" || echo 'no summary line'))"
}

rehearse_service() {
  local svc="$1" app log port pid code waited=0 started
  app="$(assemble "$svc")"
  log="$WORK/$svc.log"
  port="$(free_port)"
  echo "$svc: size $(sizes "$app") ($app)"
  cd "$app"
  # shellcheck disable=SC2046
  "${AS_USER[@]}" env -i $(run_env "$port") "$NODE" "dist/services/$svc/src/main.js" >"$log" 2>&1 &
  pid=$!
  cd "$REPO"
  PIDS+=("$pid")
  started=$SECONDS
  until live "$port"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      code=0; wait "$pid" || code=$?
      tail -40 "$log" >&2
      fail "$svc exited $code before /live answered"
    fi
    if [ $((SECONDS - started)) -ge "$LIVE_TIMEOUT_S" ]; then
      tail -40 "$log" >&2
      fail "$svc: /live did not answer 200 within ${LIVE_TIMEOUT_S} s"
    fi
    sleep 0.5
  done
  local user
  user="$(awk '/^Uid:/ {print $2}' "/proc/$pid/status")"
  [ "$user" = "$RUN_UID" ] || fail "$svc runs as uid $user, not $RUN_UID"
  echo "$svc: live ok on port $port after $((SECONDS - started)) s as uid $user"
  if [ "$svc" = gateway ]; then
    # The drover CLI ships in the same file set (docs/cli.md): its launcher and every module it
    # loads must be there, from the production node_modules alone.
    local cli_code=0
    # shellcheck disable=SC2046
    (cd "$app" && "${AS_USER[@]}" env -i $(run_env 0) "$NODE" bin/drover.mjs --help) >"$WORK/cli.log" 2>&1 || cli_code=$?
    if [ "$cli_code" -ne 0 ] || ! grep -q '^Exit codes' "$WORK/cli.log"; then
      tail -20 "$WORK/cli.log" >&2
      fail "node bin/drover.mjs --help exited $cli_code in the gateway's file set"
    fi
    echo "$svc: the drover CLI runs from its file set (node bin/drover.mjs --help)"
  fi
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    if [ "$waited" -ge $((STOP_TIMEOUT_S * 10)) ]; then
      tail -40 "$log" >&2
      fail "$svc did not exit within ${STOP_TIMEOUT_S} s of SIGTERM"
    fi
    sleep 0.1
    waited=$((waited + 1))
  done
  code=0; wait "$pid" || code=$?
  if [ "$code" -ne 0 ]; then
    tail -40 "$log" >&2
    fail "$svc exited $code after SIGTERM (expected 0)"
  fi
  echo "$svc: SIGTERM → exit 0 in $((waited / 10)).$((waited % 10)) s"
}

for svc in "${selected[@]}"; do
  if [ "$svc" = bootstrap ]; then rehearse_bootstrap; else rehearse_service "$svc"; fi
done
echo "== rehearsal passed: ${selected[*]}"
