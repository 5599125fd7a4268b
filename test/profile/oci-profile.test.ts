import t from 'tap';
import { buildOciProfile, withLogDenied, type SyscallRow } from '../../src/profile/oci-profile.js';
import type { StoredSyscall } from '../../src/store/syscall-store.js';
import { AUDIT_ARCH_AARCH64, AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, X32_SYSCALL_BIT } from '../../src/syscalls/syscall-table.js';

// x86_64: read 0, write 1, execve 59, ptrace 101, mount 165; i386: read 3, _llseek 140;
// x32: write 0x40000001, rt_sigaction 0x40000200; aarch64: read 63
const X64 = AUDIT_ARCH_X86_64;
const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 6);

function row(auditArch: number, syscallNr: number, fields: Partial<SyscallRow> = {}): SyscallRow {
  return { auditArch, syscallNr, action: 'log', count: 1, firstSeen: T0, lastSeen: T0, ...fields };
}

const cases: Array<{
  name: string;
  rows: SyscallRow[];
  architectures: string[];
  names: string[] | null;
  notAllowed?: unknown[];
  unknownNumbers?: unknown[];
}> = [
  { name: 'empty input: no architectures, no rule', rows: [], architectures: [], names: null },
  {
    name: 'x86_64 only, duplicates across workloads collapse, names sorted',
    rows: [row(X64, 59), row(X64, 1), row(X64, 0), row(X64, 1, { count: 5 })],
    architectures: ['SCMP_ARCH_X86_64'],
    names: ['execve', 'read', 'write'],
  },
  {
    name: 'i386 compat records add SCMP_ARCH_X86',
    rows: [row(X64, 0), row(AUDIT_ARCH_I386, 140), row(AUDIT_ARCH_I386, 3)],
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    names: ['_llseek', 'read'],
  },
  {
    name: 'x32 records add SCMP_ARCH_X32 and are named from the x32 table',
    rows: [row(X64, 0), row(X64, X32_SYSCALL_BIT | 0x200), row(X64, X32_SYSCALL_BIT | 1)],
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32'],
    names: ['read', 'rt_sigaction', 'write'],
  },
  {
    name: 'x32 only: no SCMP_ARCH_X86_64 invented',
    rows: [row(X64, X32_SYSCALL_BIT | 1)],
    architectures: ['SCMP_ARCH_X32'],
    names: ['write'],
  },
  { name: 'aarch64', rows: [row(AUDIT_ARCH_AARCH64, 63)], architectures: ['SCMP_ARCH_AARCH64'], names: ['read'] },
  {
    name: 'syscalls seen only with non-log actions are not allowed, one entry per action',
    rows: [row(X64, 0), row(X64, 101, { action: 'errno' }), row(X64, 101, { action: 'kill_process' }), row(X64, 165, { action: 'trap' })],
    architectures: ['SCMP_ARCH_X86_64'],
    names: ['read'],
    notAllowed: [
      { name: 'mount', arch: 'x86_64', action: 'trap' },
      { name: 'ptrace', arch: 'x86_64', action: 'errno' },
      { name: 'ptrace', arch: 'x86_64', action: 'kill_process' },
    ],
  },
  {
    name: 'a syscall seen with both log and errno is allowed',
    rows: [row(X64, 101, { action: 'errno' }), row(X64, 101, { action: 'log' })],
    architectures: ['SCMP_ARCH_X86_64'],
    names: ['ptrace'],
    notAllowed: [],
  },
  {
    name: 'allowed on one ABI means allowed: names are not per ABI in OCI',
    rows: [row(X64, 0), row(AUDIT_ARCH_I386, 3, { action: 'errno' })],
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    names: ['read'],
    notAllowed: [],
  },
  {
    name: 'an ABI seen only blocked still goes in architectures',
    rows: [row(X64, 0), row(AUDIT_ARCH_I386, 140, { action: 'errno' })],
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    names: ['read'],
    notAllowed: [{ name: '_llseek', arch: 'i386', action: 'errno' }],
  },
  {
    name: 'allow, trace, user_notif, unknown: only allow counts as running',
    rows: [row(X64, 0, { action: 'allow' }), row(X64, 1, { action: 'trace' }), row(X64, 59, { action: 'user_notif' }), row(X64, 101, { action: 'unknown' })],
    architectures: ['SCMP_ARCH_X86_64'],
    names: ['read'],
    notAllowed: [
      { name: 'execve', arch: 'x86_64', action: 'user_notif' },
      { name: 'ptrace', arch: 'x86_64', action: 'unknown' },
      { name: 'write', arch: 'x86_64', action: 'trace' },
    ],
  },
  {
    name: 'numbers without a name and unknown audit arches are listed, not allowed',
    rows: [row(X64, 0), row(X64, 999), row(X64, 999, { action: 'errno' }), row(0x12345678, 7), row(AUDIT_ARCH_I386, 9999)],
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    names: ['read'],
    notAllowed: [],
    unknownNumbers: [{ arch: '0x12345678', nr: 7 }, { arch: 'i386', nr: 9999 }, { arch: 'x86_64', nr: 999 }],
  },
  { name: 'only unknown numbers: nothing to allow', rows: [row(X64, 999)], architectures: ['SCMP_ARCH_X86_64'], names: null, unknownNumbers: [{ arch: 'x86_64', nr: 999 }] },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const { profile, explain } = buildOciProfile(c.rows, { defaultAction: 'errno' });
    t.same(profile.architectures, c.architectures);
    t.same(profile.syscalls, c.names === null ? [] : [{ names: c.names, action: 'SCMP_ACT_ALLOW' }]);
    t.equal(explain.syscalls, c.names?.length ?? 0);
    t.same(explain.notAllowed, c.notAllowed ?? []);
    t.same(explain.unknownNumbers, c.unknownNumbers ?? []);
  });
}

t.test('default actions and key order', async (t) => {
  const rows = [row(X64, 0)];
  const errno = buildOciProfile(rows, { defaultAction: 'errno' }).profile;
  t.equal(
    JSON.stringify(errno),
    '{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":1,"architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}',
  );
  const log = buildOciProfile(rows, { defaultAction: 'log' }).profile;
  t.equal(JSON.stringify(log), '{"defaultAction":"SCMP_ACT_LOG","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{"names":["read"],"action":"SCMP_ACT_ALLOW"}]}');
  t.notOk('defaultErrnoRet' in log, 'no errno return without SCMP_ACT_ERRNO');
});

t.test('explain: record count and ISO 8601 time range over every row, blocked ones too', async (t) => {
  const { explain } = buildOciProfile(
    [
      row(X64, 0, { count: 10, firstSeen: T0 + 5000, lastSeen: T0 + 9000 }),
      row(X64, 101, { action: 'errno', count: 2, firstSeen: T0, lastSeen: T0 + 1000 }),
      row(X64, 1, { count: 3, firstSeen: T0 + 2000, lastSeen: T0 + 20_000 }),
    ],
    { defaultAction: 'log' },
  );
  t.equal(explain.records, 15);
  t.equal(explain.from, '2024-01-02T03:04:05.006Z');
  t.equal(explain.to, '2024-01-02T03:04:25.006Z');
  const empty = buildOciProfile([], { defaultAction: 'errno' }).explain;
  t.same(empty, { records: 0, syscalls: 0, from: null, to: null, notAllowed: [], baselineAdded: [], unknownNumbers: [] });
});

t.test('deterministic: the same rows in any order give the same bytes', async (t) => {
  const rows = [
    row(X64, 0), row(X64, 1, { count: 4 }), row(AUDIT_ARCH_I386, 3), row(X64, X32_SYSCALL_BIT | 1), row(X64, 101, { action: 'errno' }),
    row(X64, 101, { action: 'kill_thread' }), row(X64, 999), row(AUDIT_ARCH_AARCH64, 63), row(0x12345678, 1),
  ];
  const expected = JSON.stringify(buildOciProfile(rows, { defaultAction: 'errno' }));
  let seed = 7;
  for (let i = 0; i < 20; i++) {
    const shuffled = [...rows];
    for (let j = shuffled.length - 1; j > 0; j--) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const k = seed % (j + 1);
      [shuffled[j], shuffled[k]] = [shuffled[k]!, shuffled[j]!];
    }
    t.equal(JSON.stringify(buildOciProfile(shuffled, { defaultAction: 'errno' })), expected);
  }
  t.same(buildOciProfile(rows, { defaultAction: 'errno' }).profile.architectures, ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_X86', 'SCMP_ARCH_AARCH64']);
});

t.test('store rows fit SyscallRow as they are', async (t) => {
  // StoredSyscall carries workload, comm and exe too; the structural type takes them
  const stored: StoredSyscall = { workload: 'container:x', auditArch: X64, syscallNr: 0, action: 'log', count: 1, firstSeen: T0, lastSeen: T0, comm: null, exe: null };
  t.same(buildOciProfile([stored], { defaultAction: 'errno' }).profile.syscalls, [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }]);
});

t.test('complain mode keeps process creation and exec logged; errno mode allows them', async (t) => {
  // x86_64: clone 56, fork 57, vfork 58, execve 59, clone3 435, execveat 322
  const rows = [row(X64, 0), row(X64, 56), row(X64, 57), row(X64, 58), row(X64, 59), row(X64, 322), row(X64, 435)];
  const errno = buildOciProfile(rows, { defaultAction: 'errno' });
  t.same(errno.profile.syscalls[0]!.names, ['clone', 'clone3', 'execve', 'execveat', 'fork', 'read', 'vfork']);
  const log = buildOciProfile(rows, { defaultAction: 'log' });
  t.same(log.profile.syscalls[0]!.names, ['read'], 'they fall to the default action: logged, and they run');
  t.equal(log.explain.syscalls, 1);
});

t.test('a baseline joins the allow list; explain names what only it brought', async (t) => {
  const rows = [row(X64, 0), row(X64, 59)];
  const built = buildOciProfile(rows, { defaultAction: 'errno', baseline: ['execve', 'fstatfs', 'close'] });
  t.same(built.profile.syscalls[0]!.names, ['close', 'execve', 'fstatfs', 'read']);
  t.same(built.explain.baselineAdded, ['close', 'fstatfs'], 'execve was observed anyway');
  t.equal(built.explain.syscalls, 4);
  const complain = buildOciProfile(rows, { defaultAction: 'log', baseline: ['execve', 'fstatfs'] });
  t.same(complain.profile.syscalls[0]!.names, ['fstatfs', 'read'], 'complain mode still leaves execve logged');
  t.same(complain.explain.baselineAdded, ['fstatfs']);
});

t.test('withLogDenied: the log flag, and the learned process-making calls logged (they still run) so a denying child can be attributed', async (t) => {
  // x86_64: clone 56, execve 59, wait4 61
  const enforcing = buildOciProfile([row(X64, 0), row(X64, 56), row(X64, 59), row(X64, 61)], { defaultAction: 'errno' }).profile;
  t.same(withLogDenied(enforcing), {
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [{ names: ['read', 'wait4'], action: 'SCMP_ACT_ALLOW' }, { names: ['clone', 'execve'], action: 'SCMP_ACT_LOG' }],
    flags: ['SECCOMP_FILTER_FLAG_LOG'],
  });
  t.notOk('flags' in enforcing, 'the profile given is not changed');
  t.same(withLogDenied(buildOciProfile([row(X64, 0)], { defaultAction: 'errno' }).profile).syscalls, [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }], 'no log rule when no process-making call was learned');
  t.throws(() => withLogDenied(buildOciProfile([row(X64, 0)], { defaultAction: 'log' }).profile), /only an enforcing/, 'complain mode has nothing denied to log');
});
