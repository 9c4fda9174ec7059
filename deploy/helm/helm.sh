#!/usr/bin/env bash
# Helm, the binary the chart check (deploy/helm/chart.int-spec.ts) and `npm run helm:template`
# render deploy/helm/drover with. Built from the Go module proxy (nothing else on the network)
# once into the CI cache dir, the way scripts/ferretdb.sh builds FerretDB; never assumes the
# cache exists.
#
#   bash deploy/helm/helm.sh build   builds helm once (reused when present); last line: its path
#   bash deploy/helm/helm.sh bin     prints the binary's path (built or not)
#   bash deploy/helm/helm.sh template [helm template flags...]
#                                    builds it if needed, then renders deploy/helm/drover as
#                                    release `drover` (npm run helm:template -- -f <values>)
#
# Tests find it through HELM_BIN, or else at the path `bin` prints.
# Go: helm v3.22.0's go.mod needs a recent Go (1.24 or newer); GOTOOLCHAIN=local so that an
# older go fails here instead of fetching a toolchain behind our back.
set -euo pipefail

HELM_VERSION=v3.22.0
# The Kubernetes version helm assumes offline (`helm template`, `helm lint`): its client-go's,
# v0.37.0 -> 1.37, as helm's own Makefile sets it; without it a plain `go install` says v1.20.
K8S_MAJOR=1
K8S_MINOR=37
CACHE_DIR="${DROVER_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/drover-ci}"
BUILD_DIR="$CACHE_DIR/helm-$HELM_VERSION"
BIN="$BUILD_DIR/helm"

go_bin() {
  if command -v go >/dev/null; then
    command -v go
  elif [ -x /usr/local/go/bin/go ]; then
    echo /usr/local/go/bin/go
  else
    echo "go is missing: helm $HELM_VERSION is built from the Go module proxy (Go >= 1.24)" >&2
    return 1
  fi
}

build() {
  if [ -x "$BIN" ] && [ "$("$BIN" version --template '{{.Version}}' 2>/dev/null)" = "$HELM_VERSION" ]; then
    echo "helm $HELM_VERSION: reusing $BIN (0 s)" >&2
    echo "$BIN"
    return 0
  fi
  local go started tmp
  go="$(go_bin)"
  started=$SECONDS
  mkdir -p "$BUILD_DIR"
  tmp="$(mktemp -d "$BUILD_DIR/bin.XXXXXX")"
  # `go install module@version` builds with the module's own go.mod and go.sum (every
  # dependency pinned); run from / so that no enclosing module interferes. The -X flags are
  # those of helm's Makefile: its version, and the Kubernetes version it renders for.
  local ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  local pkg
  for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
    ldflags="$ldflags -X $pkg.k8sVersionMajor=$K8S_MAJOR -X $pkg.k8sVersionMinor=$K8S_MINOR"
  done
  (cd / && GOTOOLCHAIN=local GOFLAGS="-mod=readonly -buildvcs=false" CGO_ENABLED=0 GOBIN="$tmp" \
    "$go" install -trimpath -ldflags "$ldflags" "helm.sh/helm/v3/cmd/helm@$HELM_VERSION")
  mv "$tmp/helm" "$BIN"
  rm -rf "$tmp"
  echo "helm $HELM_VERSION built in $((SECONDS - started)) s with $("$go" env GOVERSION): $("$BIN" version --short)" >&2
  echo "$BIN"
}

template() {
  local helm chart
  helm="$(build | tail -1)"
  chart="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/drover"
  exec "$helm" template drover "$chart" "$@"
}

case "${1:-}" in
  build) build ;;
  bin) echo "$BIN" ;;
  template)
    shift
    template "$@"
    ;;
  *)
    echo "usage: $0 build|bin|template [flags]" >&2
    exit 2
    ;;
esac
