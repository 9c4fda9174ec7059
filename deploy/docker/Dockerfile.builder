# The builder image: compiles the monorepo once and cuts each service's file set out of it;
# every runtime target (deploy/docker/Dockerfile) copies its own set, and the one-off command
# runner (Dockerfile.cmdRunner) starts from the whole builder.
#
#   docker build -f deploy/docker/Dockerfile.builder -t drover-builder:latest .
#   docker build -f deploy/docker/Dockerfile.builder --build-arg RUN_TESTS=true -t drover-builder:latest .
#
# Add `--network host` where the package registries are reachable from the host only (CI does).
# No `# syntax=` line: it makes BuildKit pull a frontend image, and builds must work offline.
#
# Base image: Node.js 22 LTS, pinned to the exact release tag (Debian 12 bookworm: glibc for
# better-sqlite3, and the same Chromium package as our machines). Pin the digest too once it is known where the image is built:
#   FROM node:22.23.5-bookworm-slim@sha256:<digest>
# Keep the tag identical in deploy/docker/Dockerfile so the runtime ABI matches the builder.

# --- toolchain: what native modules (better-sqlite3) need when no prebuilt binary fits;
# tini so the command runner image has an init as PID 1.
FROM node:22.23.5-bookworm-slim AS toolchain
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ tini \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# puppeteer never downloads a browser (.puppeteerrc.cjs); the variable says so again for any
# install step that runs without the config file.
ENV PUPPETEER_SKIP_DOWNLOAD=true \
    npm_config_update_notifier=false \
    npm_config_fund=false \
    npm_config_audit=false

# --- builder: every dependency (TypeScript, test tooling), then the sources.
FROM toolchain AS builder
COPY package.json package-lock.json .puppeteerrc.cjs ./
RUN npm ci
COPY tsconfig.json tsconfig.build.json nest-cli.json jest.config.js ./
COPY libs libs
COPY services services
COPY tools tools
COPY bin bin
COPY run-profiles run-profiles
RUN npm run build
ARG RUN_TESTS=false
RUN if [ "$RUN_TESTS" = true ]; then npm run test:unit; fi
# Each service's file set, /app/images/<service>: its compiled code and only the node_modules
# files that code loads (traced; no dev dependency, no native build tree, no other service's
# dependencies). Runtime targets copy their own set, never /app/node_modules.
COPY deploy/docker/service-files.mjs deploy/docker/service-files.mjs
RUN node deploy/docker/service-files.mjs --out /app/images
