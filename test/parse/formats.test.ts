import t from 'tap';
import { collect } from '../helpers/collect.js';

// Lines in every form the product reads. They are built from the kernel's format
// (audit_seccomp in kernel/auditsc.c), a record measured on a real kernel (KERNEL below, from
// /bin/true under a logging filter) and the documented renderings of auditd, journald
// and ausearch; the real sample lines have their own test (shared-samples.test.ts).
const FIELDS = 'auid=4294967295 uid=0 gid=0 ses=4294967295 pid=2026 comm="true" exe="/usr/bin/true" sig=0 arch=c000003e syscall=12 compat=0 ip=0x7fcfd5ec1c47 code=0x7ffc0000';
const KERNEL = `audit: type=1326 audit(1795759595.762:3): ${FIELDS}`;
const BASE = { time: 1795759595762, serial: 3, pid: 2026, comm: 'true', exe: '/usr/bin/true', arch: 'x86_64', syscallNr: 12, syscall: 'brk', action: 'log', uid: 0, gid: 0, compat: false, ip: '0x7fcfd5ec1c47' };

t.test('the kernel printk forms', async (t) => {
  const forms: [string, string][] = [
    ['/dev/kmsg record', `5,1234,391088404,-;${KERNEL}`],
    ['dmesg', `[  391.088404] ${KERNEL}`],
    ['dmesg with priority prefix', `<5>[  391.088404] ${KERNEL}`],
    ['dmesg with caller id', `[  391.088404] [   T55] ${KERNEL}`],
    ['syslog', `Jul  6 15:37:40 host kernel: [369128.669452] ${KERNEL}`],
    ['syslog with RFC 3339 time', `2026-11-27T07:21:26.123456+00:00 node-1 kernel: [  391.088404] ${KERNEL}`],
    ['syslog without the kernel time', `2026-11-27T07:21:26+01:00 node-1 kernel: ${KERNEL}`],
    ['auditd raw', `type=SECCOMP msg=audit(1795759595.762:3): ${FIELDS}`],
    ['auditd enriched', `type=SECCOMP msg=audit(1795759595.762:3): ${FIELDS}\x1dAUID="unset" UID="root" GID="root" ARCH=x86_64 SYSCALL=unknown-syscall(-1)`],
    ['auditd enriched, separator lost', `type=SECCOMP msg=audit(1795759595.762:3): ${FIELDS}AUID="unset" UID="root" GID="root" ARCH=x86_64 SYSCALL=unknown-syscall(-1)`],
    ['auditd with its node name', `node=node-1 type=SECCOMP msg=audit(1795759595.762:3): ${FIELDS}`],
    // a relay any local user can imitate: parsed only from a source said to trust it
    ['auditd enriched through rsyslog (#035 escape)', `Nov 27 07:21:26 node-1 audisp-syslog: type=SECCOMP msg=audit(1795759595.762:3): ${FIELDS}#035AUID="unset" SYSCALL=unknown-syscall(-1)`],
  ];
  for (const [name, line] of forms) {
    const got = collect(`${line}\n`, 1 << 20, undefined, line.includes('audisp-syslog:') ? { audisp: true } : {});
    t.equal(got.records.length, 1, `${name}: one record`);
    t.match(got.records[0], BASE, `${name}: fields`);
    t.same(got.malformed, [], `${name}: not malformed`);
  }
});

t.test('kmsg continuation lines are not records', async (t) => {
  const got = collect(`5,1234,391088404,-;${KERNEL}\n SUBSYSTEM=audit\n DEVICE=+audit:type=1326 \n`);
  t.equal(got.records.length, 1);
  t.equal(got.stats.skipped, 2);
});

t.test('journald: JSON entries of both transports and the syslog-style rendering', async (t) => {
  const kernel = JSON.stringify({ __CURSOR: 's=1;i=2', __REALTIME_TIMESTAMP: '1795759595763000', _TRANSPORT: 'kernel', MESSAGE: KERNEL });
  const audit = JSON.stringify({
    __CURSOR: 's=1;i=3', _TRANSPORT: 'audit', _AUDIT_TYPE: '1326', _AUDIT_TYPE_NAME: 'SECCOMP', _AUDIT_ID: '3',
    _SOURCE_REALTIME_TIMESTAMP: '1795759595762000', __REALTIME_TIMESTAMP: '1795759595770000', SYSLOG_IDENTIFIER: 'audit',
    MESSAGE: `SECCOMP ${FIELDS}`,
  });
  const bytes = JSON.stringify({ _TRANSPORT: 'audit', _AUDIT_TYPE: '1326', _AUDIT_ID: '3', _SOURCE_REALTIME_TIMESTAMP: '1795759595762000', MESSAGE: [...Buffer.from(`SECCOMP ${FIELDS}`)] });
  const got = collect([kernel, audit, bytes].join('\n') + '\n');
  t.equal(got.records.length, 3);
  for (const r of got.records) t.match(r, BASE);

  const now = new Date(2026, 10, 27, 12, 0, 0).getTime();
  // journalctl's short rendering, from a source said to hold journalctl's output (a plain syslog
  // file's `audit[1]:` can come from `logger`)
  const journalText = { journalText: true };
  const short = collect(`Nov 27 07:21:26 node-1 audit[2026]: SECCOMP ${FIELDS}\n`, 1 << 20, () => now, journalText);
  t.match(short.records[0], { ...BASE, time: new Date(2026, 10, 27, 7, 21, 26).getTime(), serial: null });
  const iso = collect(`2026-11-27T07:21:26.500000+0000 node-1 audit[2026]: SECCOMP ${FIELDS}\n`, 1 << 20, undefined, journalText);
  t.equal(iso.records[0]?.time, Date.UTC(2026, 10, 27, 7, 21, 26, 500), 'journalctl -o short-iso-precise time');
  const newYear = collect(`Dec 31 23:59:59 node-1 audit[2026]: SECCOMP ${FIELDS}\n`, 1 << 20, () => new Date(2027, 0, 1, 0, 5).getTime(), journalText);
  t.equal(newYear.records[0]?.time, new Date(2026, 11, 31, 23, 59, 59).getTime(), 'a BSD date from last December is last year');
  const broken = collect('{"_TRANSPORT":"kernel","MESSAGE":"audit: type=1326 audit(1795759595.762:3): auid=0 pi\n');
  t.equal(broken.malformed.length, 1, 'a truncated JSON entry is malformed');
});

t.test('ausearch --interpret output', async (t) => {
  const text = [
    '----',
    'type=SECCOMP msg=audit(06/08/2015 19:28:47.186:10262) : auid=unset uid=sshd gid=sshd ses=21 pid=11217 comm=sshd exe=/usr/sbin/sshd sig=SIGSYS arch=i386 syscall=getpgid compat=0 ip=0xb7670aac code=kill ',
    'type=SECCOMP msg=audit(11/27/26 07:21:26.123:7) : auid=unset uid=root gid=root ses=unset subj=docker-default (enforce) pid=4242 comm=my prog exe=/usr/bin/my prog sig=0 arch=x86_64 syscall=openat compat=0 ip=0x7f00 code=log',
    'type=SECCOMP msg=audit(27.11.2026 07:21:26.123:8) : auid=unset uid=root gid=root ses=unset pid=4243 comm=a exe=/a sig=0 arch=aarch64 syscall=unknown-syscall(999) compat=0 ip=0x7f00 code=errno',
  ].join('\n');
  const got = collect(text + '\n');
  t.same(got.malformed, []);
  t.equal(got.records.length, 3);
  t.match(got.records[0], {
    time: new Date(2015, 5, 8, 19, 28, 47, 186).getTime(), serial: 10262, pid: 11217, comm: 'sshd', exe: '/usr/sbin/sshd',
    arch: 'i386', syscallNr: 132, syscall: 'getpgid', action: 'kill_thread', uid: null, gid: null, auid: 4294967295, ses: 21, sig: 31,
  });
  t.match(got.records[1], {
    time: new Date(2026, 10, 27, 7, 21, 26, 123).getTime(), pid: 4242, comm: 'my prog', exe: '/usr/bin/my prog',
    subj: 'docker-default (enforce)', arch: 'x86_64', syscallNr: 257, syscall: 'openat', action: 'log', uid: 0,
  });
  t.match(got.records[2], { serial: 8, arch: 'aarch64', syscallNr: 999, syscall: null, action: 'errno' });
  const bad = collect('type=SECCOMP msg=audit(06/08/2015 19:28:47.186:1) : pid=1 arch=x86_64 syscall=no_such_call code=log\n');
  t.match(bad.malformed, [{ line: 1, reason: /unknown syscall "no_such_call"/ }]);
});

t.test('string encodings and labels', async (t) => {
  const got = collect([
    // the kernel hex-encodes values with spaces or control bytes
    'audit: type=1326 audit(1.000:1): auid=1 uid=2 gid=3 ses=4 pid=5 comm=6D7920636F6D6D exe=2F746D702F6D792070726F67 sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x7ffc0000',
    // AppArmor labels hold spaces; SELinux labels hold ':' and ','
    'audit: type=1326 audit(1.000:2): auid=1 uid=2 gid=3 ses=4 subj=docker-default (enforce) pid=6 comm="a" exe="/a" sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x7ffc0000',
    'audit: type=1326 audit(1.000:3): auid=1 uid=2 gid=3 ses=4 subj=system_u:system_r:container_t:s0:c19,c27 pid=7 comm="a" exe=(null) sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x7ffc0000',
    'audit: type=1326 audit(1.000:4): auid=1 uid=2 gid=3 ses=4 subj=a=b c=d pid=8 comm="a" exe="/a" sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x7ffc0000',
  ].join('\n'));
  t.same(got.malformed, []);
  t.match(got.records[0], { comm: 'my comm', exe: '/tmp/my prog', subj: null, auid: 1, uid: 2, gid: 3, ses: 4, pid: 5 });
  t.match(got.records[1], { subj: 'docker-default (enforce)', pid: 6 });
  t.match(got.records[2], { subj: 'system_u:system_r:container_t:s0:c19,c27', exe: null, pid: 7 });
  t.match(got.records[3], { subj: 'a=b c=d', pid: 8 });
});

t.test('names by the record\'s arch, on every ABI', async (t) => {
  const rec = (arch: string, nr: number, compat = 0): string =>
    `audit: type=1326 audit(1.000:1): auid=0 uid=0 gid=0 ses=1 pid=1 comm="x" exe="/x" sig=0 arch=${arch} syscall=${nr} compat=${compat} ip=0x1 code=0x7ffc0000`;
  const cases: [string, number, string | null, string | null, number?][] = [
    ['c000003e', 59, 'x86_64', 'execve'],
    ['c000003e', 0x40000000 + 520, 'x32', 'execve'],
    ['40000003', 11, 'i386', 'execve', 1],
    ['c00000b7', 221, 'aarch64', 'execve'],
    ['40000028', 11, 'arm', 'execve'],
    ['40000028', 0x0f0005, 'arm', 'set_tls'],
    ['c0000015', 11, 'ppc64le', 'execve'],
    ['80000015', 11, 'ppc64', 'execve'],
    ['80000016', 11, 's390x', 'execve'],
    ['c00000f3', 221, 'riscv64', 'execve'],
    ['c0000102', 221, 'loongarch64', 'execve'],
    ['8', 4011, 'mips', 'execve'],
    ['40000008', 4011, 'mipsel', 'execve'],
    ['80000008', 5057, 'mips64', 'execve'],
    ['c0000008', 5057, 'mips64el', 'execve'],
    ['a0000008', 6057, 'mips64n32', 'execve'],
    ['e0000008', 6057, 'mipsel64n32', 'execve'],
    ['c000003e', 999, 'x86_64', null],
    ['deadbeef', 1, null, null],
  ];
  const got = collect(cases.map(([a, nr, , , compat]) => rec(a, nr, compat)).join('\n'));
  t.equal(got.records.length, cases.length);
  cases.forEach(([archHex, nr, arch, name, compat], i) => {
    t.match(got.records[i], { auditArch: Number.parseInt(archHex, 16), syscallNr: nr, arch, syscall: name, compat: compat === 1 }, `${archHex} ${nr}`);
  });
});

t.test('every action', async (t) => {
  const codes: [string, string][] = [
    ['0x80000000', 'kill_process'], ['0x0', 'kill_thread'], ['0x30000', 'trap'], ['0x50000', 'errno'],
    ['0x50001', 'errno'], ['0x7fc00000', 'user_notif'], ['0x7ff00000', 'trace'], ['0x7ffc0000', 'log'],
    ['0x7fff0000', 'allow'], ['0x12340000', 'unknown'],
  ];
  const got = collect(codes.map(([c]) => `audit: type=1326 audit(1.000:1): pid=1 arch=c000003e syscall=0 code=${c}`).join('\n'));
  t.same(got.records.map((r) => r.action), codes.map(([, a]) => a));
  const enrichedKill = collect('type=SECCOMP msg=audit(1.000:1): pid=1 comm="a" exe="/a" sig=31 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x0AUID="unset" SYSCALL=read\n');
  t.equal(enrichedKill.records[0]?.action, 'kill_thread', 'code=0x0 glued to AUID= stays kill_thread');
  t.equal(enrichedKill.records[0]?.code, 0);
});

t.test('lost-record signals are counted, not skipped', async (t) => {
  const got = collect([
    'Dec 26 11:45:54 k8s kernel: [57795.753820] kauditd_printk_skb: 6 callbacks suppressed',
    '4,100,200,-;kauditd_printk_skb: 12 callbacks suppressed',
    '[  100.000000] audit: audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64',
    '[  100.000000] audit: backlog limit exceeded',
    '[  100.000000] audit: rate limit exceeded',
  ].join('\n'));
  t.same(got.signals, [
    { kind: 'printk_suppressed', count: 6, line: 1 },
    { kind: 'printk_suppressed', count: 12, line: 2 },
    { kind: 'audit_lost', count: 5, line: 3 },
    { kind: 'backlog_exceeded', count: 1, line: 4 },
    { kind: 'rate_limit_exceeded', count: 1, line: 5 },
  ]);
  t.equal(got.stats.lostSignals, 5);
});

t.test('other lines are skipped, broken records reported with their line number', async (t) => {
  const got = collect([
    'type=SYSCALL msg=audit(1.000:1): arch=c000003e syscall=59 success=yes exit=0 pid=1 comm="x"',
    '[  1.0] audit: type=1400 audit(1.000:2): apparmor="DENIED" operation="open"',
    'just text',
    '',
    `audit: type=1326 audit(1795759595.762:3): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=20`,
    'type=SECCOMP msg=audit(garbage): pid=1 arch=c000003e syscall=0 code=0x7ffc0000',
    'audit: type=1326 audit(1.000:9): pid=12x arch=c000003e syscall=0 code=0x7ffc0000',
    'audit: type=1326 audit(1.000:9): pid=1 comm="unterminated arch=c000003e syscall=0 code=0x7ffc0000',
    'audit: type=1326 audit(1.000:9): pid=1 arch=zz syscall=0 code=0x7ffc0000',
    'audit: type=1326 audit(1.000:9): pid=1 arch=c000003e syscall=0 code=7ffc0000',
    KERNEL,
  ].join('\n'));
  t.equal(got.records.length, 1);
  t.equal(got.records[0]?.line, 11);
  t.same(got.malformed.map((m) => [m.line, m.reason]), [
    [5, 'missing arch'],
    [6, 'bad audit() timestamp'],
    [7, 'bad pid value'],
    [8, 'unterminated comm value'],
    [9, 'bad arch value'],
    [10, 'bad code value'],
  ]);
  t.equal(got.stats.skipped, 4);
  t.equal(got.stats.lines, 11);
});

t.test('one line at a time, in a buffer that runs on past it (kmsg reads, followed files)', async (t) => {
  const { SeccompLineParser } = await import('../../src/parse/seccomp-line-parser.js');
  const seen: number[] = [];
  const parser = new SeccompLineParser({ handler: { onRecord: (r) => seen.push(r.pid), onLostSignal() {}, onMalformed() {} } });
  // the line of interest is followed by other lines holding markers: they must not be taken for it
  const text = `hello world\n${KERNEL.replace('pid=2026', 'pid=1')}\n[ 1.0] audit: backlog limit exceeded\n${KERNEL}\n`;
  const b = Buffer.from(text);
  const lines: [number, number][] = [];
  for (let p = 0; p < b.length;) { const nl = b.indexOf(10, p); lines.push([p, nl]); p = nl + 1; }
  lines.forEach(([s, e], i) => parser.parseLine(b, s, e, i + 1));
  t.same(seen, [1, 2026]);
  t.same(parser.stats, { lines: 4, records: 2, skipped: 1, malformed: 0, lostSignals: 1, foreign: 0 });
});
