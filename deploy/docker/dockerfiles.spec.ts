import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import dockerignore from '@balena/dockerignore';
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
ENV DROVER_DATA_DIR=/data PERSISTENT_DATA_PATH=/data/files
VOLUME ["/data"]
ENTRYPOINT ["/usr/bin/tini", "--"]
USER 10001
FROM base AS web
${HEALTH}
COPY --from=builder /app/images/gateway/ ./
CMD ["node", "dist/services/gateway/src/main.js"]
FROM base AS bootstrap
COPY --from=builder /app/images/bootstrap ./
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

  it('the build context holds every file the builder copies (.dockerignore drops none of them)', () => {
    const ignored = dockerignore().add(read('.dockerignore'));
    const copied = parseDockerfile(read('deploy/docker/Dockerfile.builder'))
      .stages.flatMap((stage) => stage.instructions)
      .filter((i) => i.keyword === 'COPY' && !i.args.includes('--from='))
      .flatMap((i) => i.args.split(/\s+/).slice(0, -1));
    // The files under those paths (not through git: CI also runs this in a copy without .git).
    const files = copied.flatMap((path) =>
      statSync(resolve(repo, path)).isDirectory()
        ? readdirSync(resolve(repo, path), { recursive: true, encoding: 'utf8' })
            .map((entry) => `${path}/${entry}`)
            .filter((file) => !file.split('/').includes('node_modules') && statSync(resolve(repo, file)).isFile())
        : [path],
    );
    expect(files.length).toBeGreaterThan(100);
    expect(files.filter((file) => ignored.ignores(file))).toEqual([]);
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

  it("each runtime target copies only its own service's file set, root-owned", () => {
    const { stages } = parseDockerfile(read('deploy/docker/Dockerfile'));
    const base = stages.find((s) => s.name === 'base');
    expect(base?.instructions.filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')).toEqual([]);
    for (const service of SERVICES) {
      const copies = stages.find((s) => s.name === service)!.instructions.filter((i) => i.keyword === 'COPY');
      expect(copies.map((c) => c.args)).toEqual([`--from=builder /app/images/${service}/ ./`]);
    }
    const text = read('deploy/docker/Dockerfile');
    expect(text).not.toMatch(/^\s*(COPY|ADD)\b.*\.env/m);
    expect(text).toMatch(/ENV NODE_ENV=production/);
  });

  it('the session agent has Chromium and documents /dev/shm and the sandbox', () => {
    const text = read('deploy/docker/Dockerfile');
    expect(text).toMatch(/install -y --no-install-recommends chromium-headless-shell fonts-liberation \\\n/);
    // Without documentation, manual pages or translations.
    for (const path of ['doc', 'man', 'locale']) expect(text).toContain(`'path-exclude=/usr/share/${path}/*'`);
    expect(text).toMatch(/ENV CHROME_PATH=\/usr\/lib\/chromium\/chromium-headless-shell\n/);
    expect(text).toMatch(/shm_size: 1gb/);
    expect(text).toMatch(/--disable-dev-shm-usage/);
    expect(text).toMatch(/deploy\/seccomp\/chromium\.json/);
    expect(text).toMatch(/CHROME_NO_SANDBOX=true/);
  });

  it("the builder caches the dependency layer, can run the unit tests and cuts each service's file set", () => {
    const text = read('deploy/docker/Dockerfile.builder');
    const copyManifest = text.indexOf('COPY package.json package-lock.json');
    expect(copyManifest > 0 && copyManifest < text.indexOf('COPY libs')).toBeTruthy();
    expect(text).toMatch(/ARG RUN_TESTS=false/);
    expect(text).toMatch(/RUN node deploy\/docker\/service-files\.mjs --out \/app\/images\n/);
    // A `# syntax=` line would make BuildKit pull a frontend image: builds must work offline.
    for (const file of ['Dockerfile', 'Dockerfile.builder', 'Dockerfile.cmdRunner']) {
      expect(read(`deploy/docker/${file}`)).not.toMatch(/^# syntax=/m);
    }
  });

  it('CI runs the images as hardened as compose runs them (deploy/docker/images.sh)', () => {
    const script = read('deploy/docker/images.sh');
    const hardened = /^HARDENED=\(([^)]*)\)/m.exec(script)?.[1]?.replace(/\s+/g, ' ') ?? '';
    for (const flag of [
      '--user 10001',
      '--read-only',
      '--tmpfs /tmp',
      '--cap-drop ALL',
      '--security-opt no-new-privileges:true',
    ]) {
      expect(hardened).toContain(flag);
    }
    expect(hardened).not.toMatch(/--privileged|--cap-add/);
    expect(script).toContain('session-agent) extra=(--security-opt seccomp=deploy/seccomp/chromium.json');
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

    it('a runtime target that gains privileges from its image', () => {
      const withRun = (run: string) => GOOD.replace('USER 10001', `RUN ${run}\nUSER 10001`);
      expectProblem(withRun('setcap cap_net_bind_service=+ep /usr/local/bin/node'), /setcap/);
      expectProblem(withRun('chmod 4755 /usr/bin/helper'), /chmod 4755.*setuid/);
      expectProblem(withRun('apt-get install -y x && chmod u+s /usr/bin/helper'), /chmod u\+s/);
      expectProblem(withRun('chmod -R g+s /data'), /chmod g\+s/);
      expectProblem(withRun('--security=insecure make'), /--security=insecure/);
      // Ordinary modes are fine.
      expect(checkDockerfile(withRun('chmod 0755 /app/tool && chmod -R a+rX,go-w /app'))).toEqual([]);
    });

    it('a runtime target that writes outside its volumes, or owns its code', () => {
      expectProblem(
        GOOD.replace('VOLUME ["/data"]', 'VOLUME ["/var/lib/drover"]'),
        /DROVER_DATA_DIR=\/data is not inside a VOLUME/,
      );
      expectProblem(
        GOOD.replace('PERSISTENT_DATA_PATH=/data/files', 'PERSISTENT_DATA_PATH=/srv/files'),
        /PERSISTENT_DATA_PATH/,
      );
      expectProblem(
        GOOD.replace(
          'COPY --from=builder /app/images/gateway/',
          'COPY --from=builder --chown=10001:10001 /app/images/gateway/',
        ),
        /--chown gives the service user its own code/,
      );
      expect(checkDockerfile(GOOD.replace('VOLUME ["/data"]', 'VOLUME /data /cache'))).toEqual([]);
    });

    it('a runtime target that is more than one service', () => {
      expectProblem(
        GOOD.replace('/app/images/gateway/', '/app/node_modules'),
        /COPY --from \/app\/node_modules.*file set/,
      );
      expectProblem(
        GOOD.replace('/app/images/gateway/', '/app/images/engine/'),
        /another service's file set; this image runs gateway/,
      );
      expectProblem(
        GOOD.replace(
          '["node", "dist/services/gateway/src/main.js"]',
          'node dist/services/gateway/src/main.js & node dist/services/engine/src/main.js',
        ),
        /runs 2 services' mains/,
      );
      expectProblem(
        GOOD.replace('["node", "dist/services/gateway/src/main.js"]', '["node", "server.js"]'),
        /runs 0 services' mains/,
      );
    });

    it('a .dockerignore that lets .env or node_modules in', () => {
      expect(checkDockerignore('node_modules\n.env\n')).toEqual([]);
      expect(checkDockerignore('node_modules\n').join()).toMatch(/\.env/);
      expect(checkDockerignore('.env\ndist\n').join()).toMatch(/node_modules/);
      expect(checkDockerignore('node_modules\n.env*\n!.env\n').join()).toMatch(/\.env/);
    });
  });
});
