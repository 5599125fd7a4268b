import t from 'tap';
import { checkOciProfile } from '../../src/profile/oci-profile-check.js';

// Table of what runtimes load as meant, and what they would silently get wrong.
t.test('accepts the shapes runc, crun and containerd read', async (t) => {
  for (const profile of [
    { defaultAction: 'SCMP_ACT_ERRNO' },
    { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'], syscalls: [{ names: ['read', '_llseek', 'pread64'], action: 'SCMP_ACT_ALLOW' }] },
    { defaultAction: 'SCMP_ACT_LOG', flags: ['SECCOMP_FILTER_FLAG_LOG'], syscalls: [] },
    { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 21505, op: 'SCMP_CMP_EQ' }] }] },
    // docker's format: archMap, comment, includes/excludes, a single name
    { defaultAction: 'SCMP_ACT_ERRNO', archMap: [{ architecture: 'SCMP_ARCH_X86_64', subArchitectures: ['SCMP_ARCH_X86', 'SCMP_ARCH_X32'] }], syscalls: [{ name: 'read', action: 'SCMP_ACT_ALLOW', comment: 'x', includes: {}, excludes: {}, args: null }] },
  ]) {
    t.same(checkOciProfile(profile), { ok: true, profile }, JSON.stringify(profile).slice(0, 80));
  }
});

t.test('refuses with the field and the problem', async (t) => {
  const cases: [unknown, string | RegExp][] = [
    [[], 'a profile is a JSON object with at least defaultAction'],
    [null, 'a profile is a JSON object with at least defaultAction'],
    [{}, 'defaultAction is missing (e.g. "SCMP_ACT_ERRNO")'],
    [{ defaultaction: 'SCMP_ACT_ERRNO' }, /^unknown field defaultaction \(runtimes would ignore it\); known: defaultAction, /],
    [{ defaultAction: 'SCMP_ACT_DENY' }, /^defaultAction: "SCMP_ACT_DENY" is not one of SCMP_ACT_KILL, /],
    [{ defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: -1 }, 'defaultErrnoRet must be an errno number (0 to 4095)'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', architectures: ['x86_64'] }, 'architectures[0]: "x86_64" is not a known architecture (SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, ...)'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', architectures: 'SCMP_ARCH_X86_64' }, 'architectures must be a list of SCMP_ARCH_* names'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: {} }, 'syscalls must be a list of rules ({names, action})'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'] }] }, 'syscalls[0].action is missing'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ action: 'SCMP_ACT_ALLOW' }] }, 'syscalls[0] names no syscall (names: [...])'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: 'read', action: 'SCMP_ACT_ALLOW' }] }, 'syscalls[0].names must be a list of syscall names'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'Write'], action: 'SCMP_ACT_ALLOW' }] }, 'syscalls[0].names[1]: "Write" is not a syscall name (lower-case letters, digits, _)'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW', nmes: [] }] }, /^unknown field syscalls\[0\]\.nmes/],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 6, value: 1, op: 'SCMP_CMP_EQ' }] }] }, 'syscalls[0].args[0].index must be an integer from 0 to 5 (the syscall\'s argument)'],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 1, op: 'EQ' }] }] }, /^syscalls\[0\]\.args\[0\]\.op: "EQ" is not one of SCMP_CMP_NE/],
    [{ defaultAction: 'SCMP_ACT_ERRNO', flags: ['TSYNC'] }, /^flags\[0\]: "TSYNC" is not one of SECCOMP_FILTER_FLAG_TSYNC/],
    [{ defaultAction: 'SCMP_ACT_ERRNO', syscalls: Array.from({ length: 10_001 }, () => ({ names: ['read'], action: 'SCMP_ACT_ALLOW' })) }, 'syscalls has 10001 rules; at most 10000'],
  ];
  for (const [profile, problem] of cases) {
    const r = checkOciProfile(profile);
    t.equal(r.ok, false, JSON.stringify(profile).slice(0, 80));
    if (!r.ok) t.match(r.problem, typeof problem === 'string' ? new RegExp(`^${problem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) : problem);
  }
});
