import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '../..');

interface SeccompProfile {
  defaultAction: string;
  archMap: { architecture: string }[];
  syscalls: { names: string[]; action: string }[];
}

const profile = JSON.parse(readFileSync(join(ROOT, 'deploy/seccomp/chromium.json'), 'utf8')) as SeccompProfile;
const allowed = new Set(profile.syscalls.filter((s) => s.action === 'SCMP_ACT_ALLOW').flatMap((s) => s.names));

describe('the session agent’s seccomp profile (deploy/seccomp/chromium.json)', () => {
  it('refuses every system call it does not list, on x86-64 and arm64', () => {
    expect(profile.defaultAction).toBe('SCMP_ACT_ERRNO');
    expect(profile.archMap.map((a) => a.architecture)).toEqual(['SCMP_ARCH_X86_64', 'SCMP_ARCH_AARCH64']);
  });

  it('allows what Chromium’s namespace and seccomp-bpf sandbox needs', () => {
    for (const call of ['clone', 'clone3', 'unshare', 'chroot', 'seccomp', 'prctl', 'capset', 'setresuid']) {
      expect([call, allowed.has(call)]).toEqual([call, true]);
    }
  });

  it('keeps refusing what Docker’s default profile refuses an unprivileged container', () => {
    for (const call of ['mount', 'umount2', 'setns', 'pivot_root', 'ptrace', 'bpf', 'keyctl', 'kexec_load', 'reboot']) {
      expect([call, allowed.has(call)]).toEqual([call, false]);
    }
  });

  it('is the profile the compose file gives the session agent', () => {
    const compose = readFileSync(join(ROOT, 'docker-compose-services.yml'), 'utf8');
    expect(compose).toMatch(/security_opt: \[[^\]\n]*'seccomp=\.\/deploy\/seccomp\/chromium\.json'[^\]\n]*\]/);
  });
});
