import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseAuditArches, parseTbl, resolveGenericAbi } from '../../syscall-tables/generate.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = join(REPO, 'syscall-tables', 'generate.ts');
const TABLE_DIR = join(REPO, 'syscall-tables');
const KERNEL_DIR = join(REPO, 'syscall-tables', 'linux-7.1.5');

function runGenerator(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', SCRIPT, ...args], { cwd: REPO, encoding: 'utf8' });
}

t.test('committed tables equal a fresh generator run, byte for byte', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'syscall-gen-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));

  const run = runGenerator(['--out', out]);
  t.equal(run.status, 0, `generator exits 0${run.stderr ? `: ${run.stderr}` : ''}`);

  const generated = readdirSync(out).sort();
  const committed = readdirSync(TABLE_DIR).filter((f) => f.endsWith('.json')).sort();
  t.same(generated, committed, 'same set of files');
  for (const f of generated) {
    const fresh = readFileSync(join(out, f));
    const kept = readFileSync(join(TABLE_DIR, f));
    t.ok(fresh.equals(kept), `${f} is up to date (else run \`npm run gen:syscalls\` and commit)`);
  }

  const lines = run.stdout.trim().split('\n');
  t.equal(lines.length, generated.length, 'one line per file written');
  t.match(lines[0]!, /x86_64\.json: \d+ syscalls$/);
});

t.test('generator refuses a kernel tree it cannot read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'linux-9.9.9-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const out = join(dir, 'out');
  const run = runGenerator(['--kernel', dir, '--out', out, '--kernel-version', '9.9.9']);
  t.not(run.status, 0);
  t.match(run.stderr, /cannot read include\/uapi\/linux\/audit\.h/);
  t.notOk(existsSync(out), 'nothing written on failure');
});

t.test('parseTbl', async (t) => {
  const text = '# comment\n\n0\tcommon\tread\t\tsys_read\n17\ti386\tbreak\n';
  t.same(
    parseTbl(text, 'x.tbl').map(({ nr, abi, name }) => [nr, abi, name]),
    [
      [0, 'common', 'read'],
      [17, 'i386', 'break'],
    ],
  );
  t.throws(() => parseTbl('0x1 common read\n', 'x.tbl'), { message: /x\.tbl:1/ });
  t.throws(() => parseTbl('1 common\n', 'x.tbl'), { message: /x\.tbl:1/ });
  t.throws(() => parseTbl('# c\n1 common re-ad sys_x\n', 'y.tbl'), { message: /y\.tbl:2: unexpected characters/ });
});

t.test('resolveGenericAbi follows Makefile.asm-headers semantics', async (t) => {
  const kernel = mkdtempSync(join(tmpdir(), 'kernel-'));
  t.teardown(() => rmSync(kernel, { recursive: true, force: true }));
  const makefile = (arch: string, body: string) => {
    const file = join(kernel, 'arch', arch, 'kernel', 'Makefile.syscalls');
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, body);
  };

  makefile('a', '# SPDX\n\nsyscall_abis_32 +=\nsyscall_abis_64 += renameat rlimit\nsyscalltbl = arch/a/tools/syscall_%.tbl\n');
  t.same(resolveGenericAbi(kernel, 'a', 64), { path: 'arch/a/tools/syscall_64.tbl', abis: ['common', '64', 'renameat', 'rlimit'] });
  t.same(resolveGenericAbi(kernel, 'a', 32), { path: 'arch/a/tools/syscall_32.tbl', abis: ['common', '32'] });

  makefile('b', 'syscall_abis_64 := 64,b\n');
  t.same(resolveGenericAbi(kernel, 'b', 64), { path: 'scripts/syscall.tbl', abis: ['64', 'b'] }, ':= replaces');

  makefile('c', 'ifeq ($(CONFIG_X),y)\nsyscall_abis_64 += x\nendif\n');
  t.throws(() => resolveGenericAbi(kernel, 'c', 64), { message: /Makefile\.syscalls:1: cannot interpret/ });
});

t.test('parseAuditArches evaluates the AUDIT_ARCH_* expressions', async (t) => {
  const h = [
    '#define __AUDIT_ARCH_CONVENTION_MIPS64_N32\t0x20000000',
    '#define __AUDIT_ARCH_64BIT 0x80000000',
    '#define __AUDIT_ARCH_LE\t   0x40000000',
    '#define AUDIT_ARCH_X86_64\t(EM_X86_64|__AUDIT_ARCH_64BIT|__AUDIT_ARCH_LE)',
    '#define AUDIT_ARCH_MIPS64N32\t(EM_MIPS|__AUDIT_ARCH_64BIT|\\',
    '\t\t\t\t __AUDIT_ARCH_CONVENTION_MIPS64_N32)',
    '#define AUDIT_ARCH_FRV\t\t(EM_FRV)',
  ].join('\n');
  const arches = parseAuditArches(h);
  t.equal(arches.get('AUDIT_ARCH_X86_64'), 0xc000003e);
  t.equal(arches.get('AUDIT_ARCH_MIPS64N32'), 0xa0000008);
  t.notOk(arches.has('AUDIT_ARCH_FRV'), 'machines the generator has no EM_ value for are left out');
});

t.test('the reference audit.h yields the arches the runtime expects', async (t) => {
  const arches = parseAuditArches(readFileSync(join(KERNEL_DIR, 'include/uapi/linux/audit.h'), 'utf8'));
  t.equal(arches.get('AUDIT_ARCH_AARCH64'), 0xc00000b7);
  t.equal(arches.get('AUDIT_ARCH_LOONGARCH64'), 0xc0000102);
  t.equal(arches.get('AUDIT_ARCH_MIPSEL64N32'), 0xe0000008);
  t.equal(arches.get('AUDIT_ARCH_S390X'), 0x80000016);
});
