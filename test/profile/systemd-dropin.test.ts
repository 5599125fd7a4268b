import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOciProfile, type SyscallRow } from '../../src/profile/oci-profile.js';
import { formatSystemdDropIn, SystemdDropInError } from '../../src/profile/systemd-dropin.js';
import { auditArchOf, syscallNumber, type ArchName } from '../../src/syscalls/syscall-table.js';
import { makeTempDir } from '../helpers/real-kernel.js';

const T0 = Date.UTC(2026, 10, 27, 8, 0, 0);

// What a typical network daemon is seen calling (names as the kernel tables spell them).
const SEEN = [
  'accept4', 'arch_prctl', 'bind', 'brk', 'clock_gettime', 'clone3', 'close', 'connect', 'epoll_create1', 'epoll_ctl', 'epoll_wait',
  'execve', 'exit_group', 'fcntl', 'fstat', 'futex', 'getdents64', 'getpid', 'getrandom', 'getsockopt', 'ioctl', 'listen', 'lseek',
  'madvise', 'mmap', 'mprotect', 'munmap', 'newfstatat', 'openat', 'pipe2', 'prctl', 'pread64', 'prlimit64', 'read', 'recvfrom',
  'rseq', 'rt_sigaction', 'rt_sigprocmask', 'rt_sigreturn', 'sendto', 'set_robust_list', 'set_tid_address', 'setsockopt', 'socket',
  'statx', 'uname', 'wait4', 'write', 'writev',
];

function row(arch: ArchName, name: string, fields: Partial<SyscallRow> = {}): SyscallRow {
  const nr = syscallNumber(arch, name);
  if (nr === null) throw new Error(`${arch} has no ${name}`);
  return { auditArch: auditArchOf(arch), syscallNr: nr, action: 'log', count: 2, firstSeen: T0, lastSeen: T0 + 3_600_000, ...fields };
}

const ROWS = [...SEEN.map((n) => row('x86_64', n)), row('i386', '_llseek'), row('x86_64', 'ptrace', { action: 'errno' })];

/** `systemd-analyze verify` on a unit with ExecStart=/bin/true and the drop-in in NAME.service.d/: its complaints. */
function verify(unit: string, dropIn: string): { status: number | null; output: string } {
  const dir = makeTempDir('sa-systemd-');
  writeFileSync(join(dir, unit), '[Unit]\nDescription=seccomp-auditor drop-in test\n[Service]\nExecStart=/bin/true\n');
  mkdirSync(join(dir, `${unit}.d`));
  writeFileSync(join(dir, `${unit}.d`, 'seccomp-auditor.conf'), dropIn);
  const r = spawnSync('systemd-analyze', ['verify', join(dir, unit)], { encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

t.test('enforcing drop-in: header, arches in systemd names, the allow-list, EPERM', async (t) => {
  const dropIn = formatSystemdDropIn(buildOciProfile(ROWS, { defaultAction: 'errno' }), { unit: 'web.service', defaultAction: 'errno' });
  const names = [...SEEN, '_llseek'].sort((a, b) => (a < b ? -1 : 1));
  t.equal(dropIn, [
    `# /etc/systemd/system/web.service.d/seccomp-auditor.conf — learned by seccomp-auditor from ${ROWS.length * 2} records, 2026-11-27T08:00:00.000Z..2026-11-27T09:00:00.000Z`,
    '# Calls outside SystemCallFilter= fail with EPERM.',
    '# Seen only blocked, so left out: ptrace',
    '# Then: systemctl daemon-reload && systemctl restart web.service',
    '[Service]',
    'SystemCallArchitectures=x86-64 x86',
    `SystemCallFilter=${names.join(' ')}`,
    'SystemCallErrorNumber=EPERM',
    '',
  ].join('\n'));
  const v = verify('web.service', dropIn);
  t.equal(v.output, '', 'systemd-analyze verify has nothing to say');
  t.equal(v.status, 0);
});

t.test('every name in the filter is one systemd knows (systemd-analyze syscall-filter)', async (t) => {
  const listing = execFileSync('systemd-analyze', ['syscall-filter'], { encoding: 'utf8' });
  const known = new Set(listing.split('\n').map((l) => l.trim().replace(/^#\s*/, '')).filter((l) => /^[a-z0-9_]+$/.test(l)));
  t.ok(known.size > 300, `systemd lists ${known.size} names`);
  const dropIn = formatSystemdDropIn(buildOciProfile(ROWS, { defaultAction: 'errno' }), { unit: 'web.service', defaultAction: 'errno' });
  const filter = /^SystemCallFilter=(.*)$/m.exec(dropIn)![1]!.split(' ');
  t.same(filter.filter((n) => !known.has(n)), [], 'no name systemd would ignore');
  // and systemd does complain about a name it does not know, so the check above has teeth
  const bad = verify('web.service', dropIn.replace(/^SystemCallFilter=/m, 'SystemCallFilter=no_such_call '));
  t.match(bad.output, /Failed to parse system call, ignoring: no_such_call/);
});

t.test('complain mode: SystemCallLog=~ the learned names, nothing filtered', async (t) => {
  const dropIn = formatSystemdDropIn(buildOciProfile(ROWS, { defaultAction: 'log' }), { unit: 'web.service', defaultAction: 'log' });
  t.match(dropIn, /^# Complain mode: nothing is blocked/m);
  t.match(dropIn, /\n\[Service\]\nSystemCallLog=~_llseek accept4 .* writev\n$/);
  t.notMatch(dropIn, /SystemCallFilter=|SystemCallArchitectures=/);
  const v = verify('web.service', dropIn);
  t.equal(v.output, '');
  t.equal(v.status, 0);
});

t.test('only services get a drop-in, and only with something learned', async (t) => {
  const built = buildOciProfile(ROWS, { defaultAction: 'errno' });
  t.throws(() => formatSystemdDropIn(built, { unit: 'session-3.scope', defaultAction: 'errno' }), new SystemdDropInError('session-3.scope is not a service: SystemCallFilter= goes in a [Service] section, so only NAME.service units get a drop-in'));
  t.throws(() => formatSystemdDropIn(buildOciProfile([row('x86_64', 'ptrace', { action: 'errno' })], { defaultAction: 'errno' }), { unit: 'a.service', defaultAction: 'errno' }), /no syscall of a\.service was seen running: a drop-in would allow nothing/);
  t.throws(() => formatSystemdDropIn(buildOciProfile([], { defaultAction: 'errno' }), { unit: 'a.service', defaultAction: 'errno' }), /was seen running/);
});
