import { describe, expect, it } from '@jest/globals';
import { checkComposeHardening, checkSecretsDirRequired, type HardenedService } from './compose-checks';

/** The hardening rules of compose-checks.ts, each with a failing example; compose.int-spec.ts applies them to the files. */
const hardened: HardenedService = {
  cap_drop: ['ALL'],
  security_opt: ['no-new-privileges:true'],
  read_only: true,
  tmpfs: ['/tmp:size=64m,mode=1777'],
  secrets: [{ source: 'rabbitmq_url_gateway', target: 'rabbitmq_url' }],
  environment: { RABBITMQ_URL_FILE: '/run/secrets/rabbitmq_url' },
};
const options = { noStoreFor: ['gateway', 'session-agent'], cacheFor: ['gateway'] };

function rulesBroken(service: Partial<HardenedService>, name = 'gateway'): string[] {
  const problems = checkComposeHardening({ [name]: { ...hardened, ...service } }, options);
  return [...new Set(problems.map((problem) => problem.rule))];
}

describe('compose hardening rules', () => {
  it('passes a hardened service', () => {
    expect(rulesBroken({})).toEqual([]);
    expect(
      rulesBroken({ secrets: [{ source: 'mongo_url' }], environment: { MONGO_URL_FILE: '/x' } }, 'engine'),
    ).toEqual([]);
  });

  it('drop-capabilities: cap_drop ALL, nothing added back', () => {
    expect(rulesBroken({ cap_drop: undefined })).toEqual(['drop-capabilities']);
    expect(rulesBroken({ cap_drop: ['NET_RAW'] })).toEqual(['drop-capabilities']);
    expect(rulesBroken({ cap_add: ['SYS_ADMIN'] })).toEqual(['drop-capabilities']);
  });

  it('no-new-privileges: in security_opt, beside a seccomp profile or not', () => {
    expect(rulesBroken({ security_opt: undefined })).toEqual(['no-new-privileges']);
    expect(rulesBroken({ security_opt: ['seccomp:./deploy/seccomp/chromium.json'] })).toEqual(['no-new-privileges']);
    expect(rulesBroken({ security_opt: ['no-new-privileges:false'] })).toEqual(['no-new-privileges']);
    expect(rulesBroken({ security_opt: ['seccomp:x.json', 'no-new-privileges:true'] })).toEqual([]);
  });

  it('read-only-root: read_only, with a tmpfs on /tmp', () => {
    expect(rulesBroken({ read_only: undefined })).toEqual(['read-only-root']);
    expect(rulesBroken({ tmpfs: undefined })).toEqual(['read-only-root']);
    expect(rulesBroken({ tmpfs: ['/tmpdata'] })).toEqual(['read-only-root']);
    expect(rulesBroken({ tmpfs: '/tmp' })).toEqual([]);
  });

  it('no-store-credentials: no mongo_url for the gateway and the session agents, redis_url for the gateway only', () => {
    expect(rulesBroken({ secrets: [{ source: 'mongo_url' }] })).toEqual(['no-store-credentials']);
    expect(rulesBroken({ environment: { MONGO_URL_FILE: '/run/secrets/mongo_url' } }, 'session-agent')).toEqual([
      'no-store-credentials',
    ]);
    expect(rulesBroken({ secrets: [{ source: 'db', target: 'mongo_url' }] }, 'session-agent')).toEqual([
      'no-store-credentials',
    ]);
    expect(rulesBroken({ secrets: [{ source: 'redis_url' }] }, 'session-agent')).toEqual(['no-store-credentials']);
    expect(rulesBroken({ environment: { REDIS_URL_FILE: '/run/secrets/redis_url' } }, 'engine')).toEqual([
      'no-store-credentials',
    ]);
    expect(rulesBroken({ secrets: [{ source: 'redis_url' }] }, 'gateway')).toEqual([]);
  });

  it('skips exempt services', () => {
    expect(checkComposeHardening({ 'standalone-dev': {} }, { exempt: ['standalone-dev'] })).toEqual([]);
    expect(checkComposeHardening({ 'standalone-dev': {} }).length).toBeGreaterThan(0);
  });
});

describe('no-default-secrets: DROVER_SECRETS_DIR is required', () => {
  const rules = (text: string) => checkSecretsDirRequired(text).map((problem) => problem.rule);

  it('passes ${DROVER_SECRETS_DIR:?message}', () => {
    expect(rules('file: ${DROVER_SECRETS_DIR:?make secrets with npm run make-secrets}/a.txt')).toEqual([]);
    expect(rules('file: ${DROVER_SECRETS_DIR?required}/a.txt')).toEqual([]);
  });

  it('fails a default, an empty fallback and a bare variable', () => {
    expect(rules('file: ${DROVER_SECRETS_DIR:-./deploy/secrets.example}/a.txt')).toEqual(['no-default-secrets']);
    expect(rules('file: ${DROVER_SECRETS_DIR-./x}/a.txt')).toEqual(['no-default-secrets']);
    expect(rules('file: ${DROVER_SECRETS_DIR}/a.txt')).toEqual(['no-default-secrets']);
    expect(rules('file: $DROVER_SECRETS_DIR/a.txt')).toEqual(['no-default-secrets']);
    expect(rules('file: ${DROVER_SECRETS_DIR:?}/a.txt')).toEqual(['no-default-secrets']);
  });
});
