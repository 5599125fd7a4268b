import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { FIXTURES } from '../helpers/paths.js';
import {
  ARCH_NAMES,
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_ARM,
  AUDIT_ARCH_I386,
  AUDIT_ARCH_LOONGARCH64,
  AUDIT_ARCH_MIPS,
  AUDIT_ARCH_MIPS64,
  AUDIT_ARCH_MIPS64N32,
  AUDIT_ARCH_MIPSEL,
  AUDIT_ARCH_MIPSEL64,
  AUDIT_ARCH_MIPSEL64N32,
  AUDIT_ARCH_PPC64,
  AUDIT_ARCH_PPC64LE,
  AUDIT_ARCH_RISCV64,
  AUDIT_ARCH_S390X,
  AUDIT_ARCH_X86_64,
  X32_SYSCALL_BIT,
  archFromInterpretedName,
  archName,
  auditArchOf,
  readSyscallTable,
  seccompArchName,
  syscallName,
  syscallNumber,
  syscallTable,
  type ArchName,
} from '../../src/syscalls/syscall-table.js';

const TABLE_DIR = fileURLToPath(new URL('../../syscall-tables/', import.meta.url));

// Each value checked by hand against Linux 7.1.5's .tbl files (plus the logged-number offsets).
const KNOWN: ReadonlyArray<readonly [ArchName, number, string | null]> = [
  ['x86_64', 0, 'read'],
  ['x86_64', 59, 'execve'],
  ['x86_64', 231, 'exit_group'],
  ['x86_64', 435, 'clone3'],
  ['x86_64', 471, 'rseq_slice_yield'],
  ['x86_64', 512, null], // x32-only slot (rt_sigaction) is not an x86_64 call
  ['x32', X32_SYSCALL_BIT | 0, 'read'],
  ['x32', X32_SYSCALL_BIT | 520, 'execve'],
  ['x32', X32_SYSCALL_BIT | 512, 'rt_sigaction'],
  ['x32', X32_SYSCALL_BIT | 435, 'clone3'],
  ['x32', X32_SYSCALL_BIT | 59, null], // "64"-only: x32 execve lives at 520
  ['i386', 1, 'exit'],
  ['i386', 11, 'execve'],
  ['i386', 132, 'getpgid'],
  ['i386', 243, 'set_thread_area'],
  ['i386', 17, 'break'], // listed without an entry point: kept, since the number is still assigned
  ['aarch64', 63, 'read'],
  ['aarch64', 221, 'execve'],
  ['aarch64', 242, 'accept4'],
  ['aarch64', 38, 'renameat'], // arm64 opts into the "renameat" ABI
  ['aarch64', 163, 'getrlimit'],
  ['aarch64', 447, 'memfd_secret'],
  ['aarch64', 1024, null],
  ['arm', 0, 'restart_syscall'],
  ['arm', 11, 'execve'],
  ['arm', 13, null], // oabi-only time
  ['arm', 0x0f0001, 'breakpoint'],
  ['arm', 0x0f0002, 'cacheflush'],
  ['arm', 0x0f0005, 'set_tls'],
  ['arm', 0x0f0006, 'get_tls'],
  ['arm', 0x0f0007, null],
  ['arm', 0x0f0000, null],
  ['ppc64', 2, 'fork'], // nospu
  ['ppc64', 11, 'execve'],
  ['ppc64', 13, 'time'], // the "64" variant of 13
  ['ppc64', 363, 'switch_endian'],
  ['ppc64le', 11, 'execve'],
  ['s390x', 0, null],
  ['s390x', 1, 'exit'],
  ['s390x', 11, 'execve'],
  ['riscv64', 221, 'execve'],
  ['riscv64', 258, 'riscv_hwprobe'],
  ['riscv64', 259, 'riscv_flush_icache'],
  ['riscv64', 38, null], // no renameat ABI on riscv
  ['loongarch64', 221, 'execve'],
  ['loongarch64', 79, 'newfstatat'],
  ['loongarch64', 80, 'fstat'],
  ['loongarch64', 163, null], // loongarch does not opt into "rlimit"
  ['loongarch64', 258, null], // riscv-private
  ['mips', 4000, 'syscall'],
  ['mips', 4011, 'execve'],
  ['mips', 4147, 'cacheflush'],
  ['mips', 11, null], // unoffset numbers are never logged
  ['mipsel', 4011, 'execve'],
  ['mips64', 5000, 'read'],
  ['mips64', 5057, 'execve'],
  ['mips64', 5450, 'set_mempolicy_home_node'], // the n64 file's one "common" line
  ['mips64el', 5057, 'execve'],
  ['mips64n32', 6057, 'execve'],
  ['mips64n32', 6000, 'read'],
  ['mipsel64n32', 6057, 'execve'],
];

t.test('known numbers on every ABI', async (t) => {
  const covered = new Set(KNOWN.map(([a]) => a));
  t.same([...covered].sort(), [...ARCH_NAMES].sort(), 'every ABI has at least one known number');
  for (const [arch, nr, name] of KNOWN) {
    t.equal(syscallName(auditArchOf(arch), nr), name, `${arch} ${nr} -> ${name}`);
    if (name !== null) t.equal(syscallNumber(arch, name), nr, `${arch} ${name} -> ${nr}`);
  }
});

t.test('audit arch constants match audit.h arithmetic', async (t) => {
  const B64 = 0x80000000;
  const LE = 0x40000000;
  const N32 = 0x20000000;
  const u = (n: number) => n >>> 0;
  t.equal(AUDIT_ARCH_X86_64, u(62 | B64 | LE));
  t.equal(AUDIT_ARCH_I386, u(3 | LE));
  t.equal(AUDIT_ARCH_AARCH64, u(183 | B64 | LE));
  t.equal(AUDIT_ARCH_ARM, u(40 | LE));
  t.equal(AUDIT_ARCH_PPC64, u(21 | B64));
  t.equal(AUDIT_ARCH_PPC64LE, u(21 | B64 | LE));
  t.equal(AUDIT_ARCH_S390X, u(22 | B64));
  t.equal(AUDIT_ARCH_RISCV64, u(243 | B64 | LE));
  t.equal(AUDIT_ARCH_LOONGARCH64, u(258 | B64 | LE));
  t.equal(AUDIT_ARCH_MIPS, 8);
  t.equal(AUDIT_ARCH_MIPSEL, u(8 | LE));
  t.equal(AUDIT_ARCH_MIPS64, u(8 | B64));
  t.equal(AUDIT_ARCH_MIPSEL64, u(8 | B64 | LE));
  t.equal(AUDIT_ARCH_MIPS64N32, u(8 | B64 | N32));
  t.equal(AUDIT_ARCH_MIPSEL64N32, u(8 | B64 | LE | N32));
  t.equal(AUDIT_ARCH_X86_64, 0xc000003e, 'as records print it: arch=c000003e');
});

t.test('archName', async (t) => {
  for (const arch of ARCH_NAMES) {
    const nr = arch === 'x32' ? X32_SYSCALL_BIT : 0;
    t.equal(archName(auditArchOf(arch), nr), arch, arch);
  }
  t.equal(archName(AUDIT_ARCH_X86_64, 59), 'x86_64');
  t.equal(archName(AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 520), 'x32');
  t.equal(archName(AUDIT_ARCH_ARM, 0x0f0005), 'arm');
  t.equal(archName(0x28, 11), null, 'big-endian ARM (AUDIT_ARCH_ARMEB) has no table');
  t.equal(archName(0x14, 11), null, '32-bit ppc');
  t.equal(archName(0x16, 11), null, '31-bit s390');
  t.equal(archName(-1, 0), null, 'ABSENT');
  t.equal(archName(0, 0), null);
});

t.test('unknown arch or number gives null', async (t) => {
  t.equal(syscallName(0x28, 11), null, 'AUDIT_ARCH_ARMEB');
  t.equal(syscallName(0xdeadbeef, 0), null);
  t.equal(syscallName(-1, 0), null);
  t.equal(syscallName(AUDIT_ARCH_X86_64, -1), null);
  t.equal(syscallName(AUDIT_ARCH_X86_64, 100000), null);
  t.equal(syscallName(AUDIT_ARCH_X86_64, 1.5), null);
  t.equal(syscallName(AUDIT_ARCH_X86_64, Number.NaN), null);
  t.equal(syscallName(AUDIT_ARCH_X86_64, X32_SYSCALL_BIT | 100000), null);
  t.equal(syscallName(AUDIT_ARCH_ARM, 0x0f0000 + 100), null);
  t.equal(syscallName(AUDIT_ARCH_ARM, 5000), null, 'between the two ARM segments');
  t.equal(syscallNumber('x86_64', 'no_such_call'), null);
  t.equal(syscallNumber('x86_64', 'set_tls'), null, 'ARM-private names stay on ARM');
  t.equal(syscallNumber('x86_64', ''), null);
  t.equal(syscallNumber('x86_64', '__proto__'), null);
  t.equal(syscallNumber('nope' as ArchName, 'read'), null, 'unknown arch from untyped callers');
  t.equal(syscallNumber('__proto__' as ArchName, 'read'), null);
  t.equal(syscallNumber('toString' as ArchName, 'read'), null);
});

t.test('every entry of every table round-trips', async (t) => {
  for (const arch of ARCH_NAMES) {
    const file = JSON.parse(readFileSync(join(TABLE_DIR, `${arch}.json`), 'utf8')) as { syscalls: Record<string, string> };
    const entries = Object.entries(file.syscalls);
    let bad = 0;
    for (const [key, name] of entries) {
      const nr = Number(key);
      if (syscallName(auditArchOf(arch), nr) !== name) bad++;
      if (syscallNumber(arch, name) !== nr) bad++;
      if (archName(auditArchOf(arch), nr) !== arch) bad++;
    }
    t.equal(bad, 0, `${arch}: ${entries.length} entries`);
    t.equal(syscallTable(arch).size, entries.length);
  }
});

t.test('the tables folder holds exactly one file per ABI', async (t) => {
  const files = readdirSync(TABLE_DIR).filter((f) => f.endsWith('.json')).sort();
  t.same(files, ARCH_NAMES.map((a) => `${a}.json`).sort());
});

t.test('table metadata', async (t) => {
  for (const arch of ARCH_NAMES) {
    const table = syscallTable(arch);
    t.equal(table.kernel, '7.1.5', `${arch} kernel`);
    t.match(table.source, /\.tbl abi /, `${arch} source`);
  }
  t.equal(syscallTable('ppc64').size, syscallTable('ppc64le').size, 'ppc64 and ppc64le share one table');
  t.equal(syscallTable('mips').size, syscallTable('mipsel').size);
  t.equal(syscallTable('mips64').size, syscallTable('mips64el').size);
  t.equal(syscallTable('mips64n32').size, syscallTable('mipsel64n32').size);
});

t.test('archFromInterpretedName', async (t) => {
  const cases: ReadonlyArray<readonly [string, ArchName | null]> = [
    ['x86_64', 'x86_64'],
    ['i386', 'i386'],
    ['i686', 'i386'],
    ['i586', 'i386'],
    ['aarch64', 'aarch64'],
    ['armeb', 'arm'], // what auparse prints for AUDIT_ARCH_ARM
    ['armv7l', 'arm'],
    ['arm', 'arm'],
    ['ppc64', 'ppc64'],
    ['ppc64le', 'ppc64le'],
    ['s390x', 's390x'],
    ['riscv64', 'riscv64'],
    ['loongarch64', 'loongarch64'],
    ['x32', 'x32'],
    ['mips64n32', 'mips64n32'],
    ['unknown-elf-type(c0000102)', 'loongarch64'],
    ['unknown-elf-type(e0000008)', 'mipsel64n32'],
    ['unknown-elf-type(8)', 'mips'],
    ['unknown-elf-type(28)', null],
    ['unknown-elf-type()', null],
    ['s390', null],
    ['ppc', null],
    ['X86_64', null],
    ['', null],
    ['toString', null],
  ];
  for (const [name, arch] of cases) t.equal(archFromInterpretedName(name), arch, JSON.stringify(name));
});

t.test('seccompArchName: the names Docker\'s profile (and so runc and libseccomp) use', async (t) => {
  // an independent source: every architecture Docker's reference profile names, main and sub
  const docker = JSON.parse(readFileSync(join(FIXTURES, 'profiles', 'docker-default.json'), 'utf8')) as { archMap: { architecture: string; subArchitectures?: string[] }[] };
  const known = new Set(docker.archMap.flatMap((a) => [a.architecture, ...(a.subArchitectures ?? [])]));
  // Docker's profile has no powerpc entry; libseccomp names them like the others
  for (const name of ['SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE']) known.add(name);
  const names = ARCH_NAMES.map((arch) => seccompArchName(arch));
  for (const [i, arch] of ARCH_NAMES.entries()) t.ok(known.has(names[i]!), `${arch} → ${names[i]}`);
  t.equal(new Set(names).size, names.length, 'one name per ABI');
  // the names whose spelling differs from ours
  t.equal(seccompArchName('i386'), 'SCMP_ARCH_X86');
  t.equal(seccompArchName('mips64el'), 'SCMP_ARCH_MIPSEL64');
});

t.test('a missing or malformed table fails loudly, naming the file and the fix', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'syscall-table-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = readFileSync(join(TABLE_DIR, 'x86_64.json'), 'utf8');
  const write = (name: string, body: string) => {
    const file = join(dir, name);
    writeFileSync(file, body);
    return file;
  };
  const fix = /npm run gen:syscalls/;

  const missing = join(dir, 'absent.json');
  t.throws(() => readSyscallTable(missing, 'x86_64'), { message: /absent\.json: file is missing/ });
  t.throws(() => readSyscallTable(missing, 'x86_64'), { message: fix });

  const cases: ReadonlyArray<readonly [string, string, RegExp]> = [
    ['truncated.json', good.slice(0, 200), /not valid JSON/],
    ['array.json', '[]', /expected a JSON object/],
    ['wrong-abi.json', good.replace('"abi": "x86_64"', '"abi": "x32"'), /"abi" is "x32", expected "x86_64"/],
    ['wrong-arch.json', good.replace('"c000003e"', '"40000003"'), /"auditArch" is "40000003"/],
    ['no-syscalls.json', JSON.stringify({ ...JSON.parse(good), syscalls: undefined }), /"syscalls" must be an object/],
    ['empty.json', JSON.stringify({ ...JSON.parse(good), syscalls: {} }), /"syscalls" is empty/],
    ['bad-key.json', good.replace('"0": "read"', '"0x0": "read"'), /key "0x0" is not a syscall number/],
    ['bad-name.json', good.replace('"0": "read"', '"0": 7'), /name for 0 is 7/],
    ['dup-name.json', good.replace('"1": "write"', '"1": "read"'), /"read" is listed twice/],
  ];
  for (const [name, body, problem] of cases) {
    const file = write(name, body);
    t.throws(() => readSyscallTable(file, 'x86_64'), { message: problem }, name);
    t.throws(() => readSyscallTable(file, 'x86_64'), { message: new RegExp(name.replace('.', '\\.')) }, `${name} names the file`);
    t.throws(() => readSyscallTable(file, 'x86_64'), { message: fix }, `${name} names the fix`);
  }

  const copy = write('copy.json', good);
  t.equal(readSyscallTable(copy, 'x86_64').size, syscallTable('x86_64').size, 'an intact copy loads');
});
