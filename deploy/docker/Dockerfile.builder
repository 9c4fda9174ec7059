# syntax=docker/dockerfile:1
# The builder image: compiles the monorepo once; every runtime target (deploy/docker/Dockerfile)
# and the one-off command runner (Dockerfile.cmdRunner) start from it.
#
#   docker build -f deploy/docker/Dockerfile.builder -t drover-builder:latest .
#   docker build -f deploy/docker/Dockerfile.builder --build-arg RUN_TESTS=true -t drover-builder:latest .
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

# --- prod-deps: production dependencies only, installed from the lock file. Only the manifest
# is copied, so this layer is rebuilt only when package.json / package-lock.json change.
FROM toolchain AS prod-deps
COPY package.json package-lock.json .puppeteerrc.cjs ./
# --omit=optional too: puppeteer's config loader (cosmiconfig) names TypeScript as an optional
# peer, and npm keeps such a package (the dev TypeScript) in a production install otherwise.
RUN npm ci --omit=dev --omit=optional

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
# Runtime targets copy these, never /app/node_modules (which holds the dev dependencies).
COPY --from=prod-deps /app/node_modules /app/prod_node_modules
