import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { checkDockerfile, checkDockerignore, isPinned, parseDockerfile } from './dockerfile-rules';

const repo = resolve(__dirname, '../..');
const read = (path: string) => readFileSync(resolve(repo, path), 'utf8');

const SERVICES = ['gateway', 'engine', 'session-agent', 'persistence-agent', 'scheduler', 'bootstrap'];
const HEALTH = `HEALTHCHECK CMD ["node", "-e", "fetch('http://127.0.0.1:9090/live').then(r=>process.exit(r.ok?0:1))"]`;

/** A passing runtime file; each bad example changes one thing. */
const GOOD = `
ARG BUILDER_IMAGE=drover-builder:latest
FROM \${BUILDER_IMAGE} AS builder
FROM node:22.23.5-bookworm-slim AS base
COPY --from=builder /app/dist dist
ENTRYPOINT ["/usr/bin/tini", "--"]
USER 10001
FROM base AS web
${HEALTH}
CMD ["node", "dist/services/gateway/src/main.js"]
FROM base AS bootstrap
CMD ["node", "dist/services/bootstrap/src/main.js"]
`;

function expectProblem(text: string, pattern: RegExp): void {
  const problems = checkDockerfile(text);
  assert.ok(
    problems.some((p) => pattern.test(p)),
    `expected a problem matching ${pattern}, got ${JSON.stringify(problems)}`,
  );
}

describe('deploy Dockerfiles', () => {
  for (const file of [
    'deploy/docker/Dockerfile',
    'deploy/docker/Dockerfile.builder',
    'deploy/docker/Dockerfile.cmdRunner',
  ]) {
    it(`${file} passes the rules`, () => {
      expect(checkDockerfile(read(file))).toEqual([]);
    });
  }

  it('.dockerignore excludes .env and node_modules', () => {
    expect(checkDockerignore(read('.dockerignore'))).toEqual([]);
    const ignore = read('.dockerignore').split('\n');
    for (const entry of ['dist', '.git', '.drover', 'secrets', 'coverage', 'logs', '.build']) {
      assert.ok(ignore.includes(entry), `.dockerignore lacks ${entry}`);
    }
  });

  it('the runtime file has one target per service running its main as uid 10001', () => {
    const { stages } = parseDockerfile(read('deploy/docker/Dockerfile'));
    const names = stages.map((s) => s.name);
    for (const service of SERVICES) {
      const stage = stages.find((s) => s.name === service);
      assert.ok(stage, `no target ${service} in ${names.join(', ')}`);
      expect(stage.image).toBe('base');
      // A target inherits USER, HEALTHCHECK, ENTRYPOINT from `base`: check what it ends up with.
      const base = stages.find((s) => s.name === 'base');
      const effective = [...(base?.instructions ?? []), ...stage.instructions];
      const last = (keyword: string) => effective.filter((i) => i.keyword === keyword).pop();
      expect(JSON.parse(last('CMD')?.args ?? 'null')).toEqual(['node', `dist/services/${service}/src/main.js`]);
      expect(last('USER')?.args).toBe('10001');
      expect(last('ENTRYPOINT')?.args ?? '').toMatch(/tini/);
      const health = last('HEALTHCHECK')?.args ?? 'NONE';
      if (service === 'bootstrap') assert.equal(health, 'NONE', 'bootstrap is one-shot');
      else assert.match(health, /OPS_PORT.*\/live/, `${service}: HEALTHCHECK on /live of the ops port`);
    }
  });

  it('the runtime base copies only dist, production node_modules, package.json, run-profiles and the CLI launcher', () => {
    const text = read('deploy/docker/Dockerfile');
    const base = parseDockerfile(text).stages.find((s) => s.name === 'base');
    const copies = base?.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD') ?? [];
    const sources = copies.map((c) => c.args.split(/\s+/).filter((w) => !w.startsWith('--'))[0]).sort();
    expect(sources).toEqual([
      '/app/bin',
      '/app/dist',
      '/app/package.json',
      '/app/prod_node_modules',
      '/app/run-profiles',
    ]);
    expect(copies.every((c) => c.args.includes('--from=builder'))).toBeTruthy();
    expect(text).not.toMatch(/^\s*(COPY|ADD)\b.*\.env/m);
    expect(text).toMatch(/ENV NODE_ENV=production/);
  });

  it('the session agent has Chromium and documents /dev/shm and the sandbox', () => {
    const text = read('deploy/docker/Dockerfile');
    expect(text).toMatch(/chromium-headless-shell fonts-liberation fonts-noto-color-emoji/);
    expect(text).toMatch(/ENV CHROME_PATH=\/usr\/lib\/chromium\/chromium-headless-shell\n/);
    expect(text).toMatch(/shm_size: 1gb/);
    expect(text).toMatch(/--disable-dev-shm-usage/);
    expect(text).toMatch(/deploy\/seccomp\/chromium\.json/);
    expect(text).toMatch(/CHROME_NO_SANDBOX=true/);
  });

  it('the builder caches the dependency layer and can run the unit tests', () => {
    const text = read('deploy/docker/Dockerfile.builder');
    const copyManifest = text.indexOf('COPY package.json package-lock.json');
    expect(copyManifest > 0 && copyManifest < text.indexOf('COPY libs')).toBeTruthy();
    expect(text).toMatch(/ARG RUN_TESTS=false/);
    expect(text).toMatch(/npm ci --omit=dev --omit=optional/);
    expect(text).toMatch(/\/app\/prod_node_modules/);
  });

  it('accepts the sample runtime file', () => {
    expect(checkDockerfile(GOOD)).toEqual([]);
  });

  describe('catches', () => {
    it('an unpinned FROM: latest, no tag, a bare major, a floating minor', () => {
      expectProblem(GOOD.replace('node:22.23.5-bookworm-slim', 'node:latest'), /not pinned/);
      expectProblem(GOOD.replace('node:22.23.5-bookworm-slim', 'node'), /not pinned/);
      expectProblem(GOOD.replace('node:22.23.5-bookworm-slim', 'node:22'), /not pinned/);
      expectProblem(GOOD.replace('node:22.23.5-bookworm-slim', 'node:22-bookworm-slim'), /not pinned/);
      expectProblem(GOOD.replace('node:22.23.5-bookworm-slim', 'node:22.23-bookworm-slim'), /not pinned/);
      expectProblem(GOOD.replace('${BUILDER_IMAGE}', '${UNDECLARED}'), /not a global ARG/);
      expect(isPinned(`node@sha256:${'a'.repeat(64)}`)).toBeTruthy();
      expect(isPinned('registry.local:5000/node:22.23.5')).toBeTruthy();
      expect(!isPinned('registry.local:5000/node')).toBeTruthy();
    });

    it('a runtime target running as root', () => {
      expectProblem(GOOD.replace('USER 10001', 'USER root'), /stage "web".*root/);
      expectProblem(GOOD.replace('USER 10001', 'USER 0:0'), /root/);
      expectProblem(GOOD.replace('USER 10001\n', ''), /stage "bootstrap".*root/);
      expectProblem(`${GOOD}USER root\n`, /stage "bootstrap".*root/);
    });

    it('a runtime target without an init as ENTRYPOINT', () => {
      expectProblem(GOOD.replace('ENTRYPOINT ["/usr/bin/tini", "--"]\n', ''), /no init/);
      expectProblem(GOOD.replace('/usr/bin/tini', 'node'), /no init/);
      expect(checkDockerfile(GOOD.replace('/usr/bin/tini', '/usr/bin/dumb-init'))).toEqual([]);
    });

    it('a long-running target without a HEALTHCHECK', () => {
      expectProblem(GOOD.replace(HEALTH, ''), /stage "web".*HEALTHCHECK/);
      // The bootstrap is one-shot; so is a target that says HEALTHCHECK NONE.
      expect(checkDockerfile(GOOD.replace(HEALTH, 'HEALTHCHECK NONE'))).toEqual([]);
    });

    it('ADD from a URL', () => {
      expectProblem(GOOD.replace('USER 10001', 'ADD https://example.com/tool.tgz /tmp/\nUSER 10001'), /ADD from a URL/);
      expect(checkDockerfile(GOOD.replace('USER 10001', 'ADD vendor.tgz /tmp/\nUSER 10001'))).toEqual([]);
    });

    it('secret-looking ENV and ARG values', () => {
      const withLine = (line: string) => GOOD.replace('USER 10001', `${line}\nUSER 10001`);
      expectProblem(withLine('ENV DB_PASSWORD=hunter2'), /DB_PASSWORD/);
      expectProblem(withLine('ENV NODE_ENV=production \\\n    GITHUB_TOKEN=abc'), /GITHUB_TOKEN/);
      expectProblem(withLine('ENV API_KEY abc'), /API_KEY/);
      expectProblem(withLine('ARG NPM_TOKEN=abc'), /NPM_TOKEN/);
      expectProblem(`ARG CLIENT_SECRET=abc\n${GOOD}`, /CLIENT_SECRET/);
      // Declaring an ARG without a value is fine: the value comes at build time.
      expect(checkDockerfile(withLine('ARG NPM_TOKEN'))).toEqual([]);
    });

    it('a .dockerignore that lets .env or node_modules in', () => {
      expect(checkDockerignore('node_modules\n.env\n')).toEqual([]);
      expect(checkDockerignore('node_modules\n').join()).toMatch(/\.env/);
      expect(checkDockerignore('.env\ndist\n').join()).toMatch(/node_modules/);
      expect(checkDockerignore('node_modules\n.env*\n!.env\n').join()).toMatch(/\.env/);
    });
  });
});
