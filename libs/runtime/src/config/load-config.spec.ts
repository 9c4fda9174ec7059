import { describe, expect, it } from '@jest/globals';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ConfigError, loadConfig } from './load-config';

const repoProfiles = resolve(__dirname, '../../../../run-profiles');

function profilesWith(profile: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'drover-config-'));
  mkdirSync(join(dir, 'p'));
  writeFileSync(join(dir, 'p', 'profile.json'), JSON.stringify(profile));
  return dir;
}

describe('loadConfig', () => {
  it('reads the dev profile with defaults', () => {
    const { env, profile } = loadConfig({ DROVER_PROFILES_DIR: repoProfiles });
    expect(env.PORT).toBe(8080);
    expect(env.DROVER_DATA_DIR).toBe('./.drover');
    expect(profile.name).toBe('dev');
    expect(profile.recovery.onInterrupt).toBe('restart');
    expect(profile.recovery.maxAttempts).toBe(3);
  });

  it('reads the production profile: a 30 s lease, heartbeats every 5 s', () => {
    const { profile } = loadConfig({ DROVER_PROFILES_DIR: repoProfiles, DROVER_PROFILE: 'production' });
    expect(profile.name).toBe('production');
    expect(profile.sessionAgent).toEqual({ maxConcurrentAgents: 10, heartbeatMs: 5_000, leaseMs: 30_000 });
    expect(profile.agents).toEqual([]);
  });

  it('lets agents of the dev profile reach loopback, and those of production only public addresses', () => {
    expect(loadConfig({ DROVER_PROFILES_DIR: repoProfiles }).profile.egress).toEqual({
      allow: ['loopback'],
      agentsMayAllow: ['private'],
    });
    const production = loadConfig({ DROVER_PROFILES_DIR: repoProfiles, DROVER_PROFILE: 'production' }).profile;
    expect(production.egress).toEqual({ allow: [], agentsMayAllow: [] });
    expect(
      loadConfig({ DROVER_PROFILES_DIR: profilesWith({ name: 'p' }), DROVER_PROFILE: 'p' }).profile.egress,
    ).toEqual({ allow: [], agentsMayAllow: [] });
  });

  it('names an egress rule that does not parse, and a CHROME_NO_SANDBOX that is not a boolean', () => {
    const dir = profilesWith({
      name: 'p',
      egress: { allow: ['loopback', '10.0.0.0/40'], agentsMayAllow: ['nope nope'] },
    });
    assert.throws(
      () => loadConfig({ DROVER_PROFILES_DIR: dir, DROVER_PROFILE: 'p' }),
      (error: Error) =>
        /egress\.allow\.1/.test(error.message) &&
        /10\.0\.0\.0\/40/.test(error.message) &&
        /egress\.agentsMayAllow\.0/.test(error.message),
    );
    assert.throws(
      () => loadConfig({ DROVER_PROFILES_DIR: repoProfiles, CHROME_NO_SANDBOX: 'yes' }),
      /CHROME_NO_SANDBOX is true or false/,
    );
    expect(loadConfig({ DROVER_PROFILES_DIR: repoProfiles }).env.CHROME_NO_SANDBOX).toBe(false);
    expect(loadConfig({ DROVER_PROFILES_DIR: repoProfiles, CHROME_NO_SANDBOX: 'true' }).env.CHROME_NO_SANDBOX).toBe(
      true,
    );
  });

  it('lets the environment override the profile', () => {
    const { profile } = loadConfig({ DROVER_PROFILES_DIR: repoProfiles, MAX_CONCURRENT_AGENTS: '3', PORT: '0' });
    expect(profile.sessionAgent.maxConcurrentAgents).toBe(3);
  });

  it('names every bad setting', () => {
    assert.throws(
      () => loadConfig({ DROVER_PROFILES_DIR: repoProfiles, PORT: 'eighty', LOG_LEVEL: 'loud' }),
      (error: Error) => error instanceof ConfigError && /PORT/.test(error.message) && /LOG_LEVEL/.test(error.message),
    );
  });

  it('takes one broker or the nodes of a cluster in RABBITMQ_URL, and names anything else', () => {
    const nodes = 'amqp://u:p@rabbit-1:5672, amqp://u:p@rabbit-2:5672,amqp://u:p@rabbit-3:5672';
    expect(loadConfig({ DROVER_PROFILES_DIR: repoProfiles, RABBITMQ_URL: nodes }).env.RABBITMQ_URL).toBe(nodes);
    for (const bad of ['rabbit-1:5672', 'amqp://u:p@rabbit-1:5672,http://rabbit-2']) {
      assert.throws(
        () => loadConfig({ DROVER_PROFILES_DIR: repoProfiles, RABBITMQ_URL: bad }),
        (error: Error) => error instanceof ConfigError && /RABBITMQ_URL .*nodes of one cluster/.test(error.message),
      );
    }
  });

  it('reads DROVER_BUS_USERS as who is who, and names what is wrong with it', () => {
    const roles = 'engine=e;gateway=g;session-agent=s1, s2;persistence-agent=p;scheduler=sc;bootstrap=b';
    const { env } = loadConfig({ DROVER_PROFILES_DIR: repoProfiles, DROVER_BUS_USERS: `${roles};operator=alice,bob` });
    expect(env.DROVER_BUS_USERS?.get('s2')).toBe('session-agent');
    expect(env.DROVER_BUS_USERS?.get('bob')).toBe('operator');
    expect(loadConfig({ DROVER_PROFILES_DIR: repoProfiles }).env.DROVER_BUS_USERS).toBe(undefined);
    for (const [value, problem] of [
      ['engine=e;gateway=g', /no user for session-agent, persistence-agent, scheduler, bootstrap/],
      [`${roles};admin=root`, /unknown role "admin"/],
      [`${roles};operator=e`, /user "e" is listed as engine and as operator/],
    ] as const) {
      assert.throws(
        () => loadConfig({ DROVER_PROFILES_DIR: repoProfiles, DROVER_BUS_USERS: value }),
        (error: Error) =>
          error instanceof ConfigError && /DROVER_BUS_USERS/.test(error.message) && problem.test(error.message),
      );
    }
  });

  it('names a bad profile key and a missing profile', () => {
    const dir = profilesWith({ name: 'p', recovery: { maxAttempts: 0 }, surprise: true });
    assert.throws(
      () => loadConfig({ DROVER_PROFILES_DIR: dir, DROVER_PROFILE: 'p' }),
      (error: Error) => /recovery\.maxAttempts/.test(error.message) && /surprise/.test(error.message),
    );
    assert.throws(() => loadConfig({ DROVER_PROFILES_DIR: dir, DROVER_PROFILE: 'nope' }), /DROVER_PROFILE=nope/);
  });

  it('keeps 7 days and 10,000 entries per agent by default, and takes null for no limit', () => {
    const week = 7 * 24 * 3_600_000;
    const { profile } = loadConfig({ DROVER_PROFILES_DIR: repoProfiles });
    expect(profile.retention.activities).toEqual({ maxAgeMs: week, maxPerAgent: 10_000 });
    expect(profile.retention.commands).toEqual({ maxAgeMs: week, maxPerAgent: 10_000 });
    expect(profile.retention.deadLetters).toEqual({ maxAgeMs: week, maxLength: 10_000 });
    const dir = profilesWith({
      name: 'p',
      retention: { commands: { maxAgeMs: null }, deadLetters: { maxLength: null } },
    });
    const custom = loadConfig({ DROVER_PROFILES_DIR: dir, DROVER_PROFILE: 'p' }).profile.retention;
    expect(custom.commands).toEqual({ maxAgeMs: null, maxPerAgent: 10_000 });
    expect(custom.deadLetters).toEqual({ maxAgeMs: week, maxLength: null });
    const typo = profilesWith({ name: 'p', retention: { activities: { maxAge: 1_000 } } });
    assert.throws(() => loadConfig({ DROVER_PROFILES_DIR: typo, DROVER_PROFILE: 'p' }), /retention\.activities/);
  });

  it('reads NAME_FILE in place of NAME', () => {
    const dir = mkdtempSync(join(tmpdir(), 'drover-secret-'));
    writeFileSync(join(dir, 'port'), '9191\n');
    const { env } = loadConfig({ DROVER_PROFILES_DIR: repoProfiles, PORT_FILE: join(dir, 'port') });
    expect(env.PORT).toBe(9191);
  });

  it("ignores other programs' *_FILE variables", () => {
    const { env } = loadConfig({ DROVER_PROFILES_DIR: repoProfiles, TF_CLI_CONFIG_FILE: '/nonexistent/.terraformrc' });
    expect(env.PORT).toBe(8080);
  });

  it('names the variable whose file cannot be read', () => {
    assert.throws(() => loadConfig({ DROVER_PROFILES_DIR: repoProfiles, PORT_FILE: '/nonexistent/port' }), /PORT_FILE/);
  });

  it('refuses a lease that is not longer than the heartbeat', () => {
    assert.throws(
      () => loadConfig({ DROVER_PROFILES_DIR: repoProfiles, HEARTBEAT_MS: '5000', LEASE_MS: '5000' }),
      /LEASE_MS/,
    );
  });

  it("refuses a start timeout that a dead engine's lease alone could use up", () => {
    // The dev profile times starts out after 60 s.
    assert.throws(
      () => loadConfig({ DROVER_PROFILES_DIR: repoProfiles, ENGINE_LEASE_MS: '30001' }),
      /startTimeoutMs must be at least twice engine.leaseMs \(ENGINE_LEASE_MS\)/,
    );
    expect(loadConfig({ DROVER_PROFILES_DIR: repoProfiles, ENGINE_LEASE_MS: '30000' }).profile.engine.leaseMs).toBe(
      30_000,
    );
  });
});
