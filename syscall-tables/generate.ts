/**
 * Writes syscall-tables/<abi>.json from a Linux source tree's own syscall tables.
 *
 *   npx tsx syscall-tables/generate.ts [--kernel DIR] [--out DIR] [--kernel-version X.Y.Z]
 *
 * DIR defaults to syscall-tables/linux-7.1.5 (the kernel files this script reads, copied into the
 * repo so a fresh clone regenerates without anything beside it); --out defaults to this script's folder.
 * The JSON files are committed: the daemon reads them at run time and never needs a kernel tree.
 * test/syscalls/generate.test.ts re-runs this script and compares bytes, so edit the generator,
 * not the JSON.
 *
 * Every number is written the way the kernel logs it in a seccomp record's `syscall=` field, which
 * is not always the number in the .tbl file: mips adds 4000/5000/6000, x32 sets bit 0x40000000.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

const HERE = dirname(fileURLToPath(import.meta.url));
const DEFAULT_KERNEL_DIR = resolve(HERE, 'linux-7.1.5');

/** __X32_SYSCALL_BIT, arch/x86/include/uapi/asm/unistd.h. */
const X32_SYSCALL_BIT = 0x40000000;

/**
 * include/uapi/linux/audit.h builds AUDIT_ARCH_* from EM_* constants of include/uapi/linux/elf-em.h,
 * which the reference tree does not carry. These are ELF machine numbers (fixed by the ELF ABI,
 * never renumbered), so they are safe to keep here; the flag bits are still read from audit.h.
 */
const ELF_MACHINES: Record<string, number> = {
  EM_386: 3,
  EM_MIPS: 8,
  EM_PPC64: 21,
  EM_S390: 22,
  EM_ARM: 40,
  EM_X86_64: 62,
  EM_AARCH64: 183,
  EM_RISCV: 243,
  EM_LOONGARCH: 258,
};

/**
 * ARM-private calls, numbered from __ARM_NR_BASE = __NR_SYSCALL_BASE + 0x0f0000 (0 for EABI).
 * They are not in arch/arm/tools/syscall.tbl; they are defined in
 * arch/arm/include/uapi/asm/unistd.h (__ARM_NR_breakpoint .. __ARM_NR_get_tls) and dispatched by
 * arm_syscall() in arch/arm/kernel/traps.c. The reference tree does not carry that header, and
 * these six have been part of the ARM ABI unchanged for years, so they are listed here.
 * arm64's AArch32 compat layer uses the same numbers (__ARM_NR_COMPAT_BASE).
 */
const ARM_PRIVATE_BASE = 0x0f0000;
const ARM_PRIVATE: ReadonlyArray<readonly [number, string]> = [
  [1, 'breakpoint'],
  [2, 'cacheflush'],
  [3, 'usr26'],
  [4, 'usr32'],
  [5, 'set_tls'],
  [6, 'get_tls'],
];

/** Where an ABI's entries come from. */
type TableSource =
  | {
      kind: 'tbl';
      path: string;
      /** The ABI column values the kernel's build selects for this ABI. */
      abis: readonly string[];
      /**
       * Every ABI column value the file is known to use. A value outside this list means the
       * kernel changed the file's format or ABI set, and the selection above may now be wrong.
       */
      known: readonly string[];
    }
  | {
      /** An arch that builds from the generic scripts/syscall.tbl (or its own copy of it). */
      kind: 'generic';
      arch: string;
      bits: 32 | 64;
    };

interface AbiSpec {
  abi: string;
  auditArchMacro: string;
  source: TableSource;
  /** Added to every table number to get the logged number. */
  offset: number;
  extra?: { note: string; entries: ReadonlyArray<readonly [number, string]> };
}

const X86_64_KNOWN = ['common', '64', 'x32'];
const PPC_KNOWN = ['common', '64', '32', 'nospu', 'spu'];

/**
 * The ABI selections below are those of the kernel's own build rules: arch/x86/entry/syscalls/
 * Makefile (common,64 / common,x32 / i386), arch/arm/tools/Makefile (common,eabi),
 * arch/powerpc/kernel/syscalls/Makefile (common,64,nospu for 64-bit), and for the generic table
 * scripts/Makefile.asm-headers (common,64 plus the arch's Makefile.syscalls additions).
 * arch/mips/kernel/syscalls/Makefile passes no ABI filter at all, so every line of a mips file is
 * built, whatever its ABI column says (syscall_n64.tbl has one `common` line, 450).
 */
const SPECS: readonly AbiSpec[] = [
  {
    abi: 'x86_64',
    auditArchMacro: 'AUDIT_ARCH_X86_64',
    source: { kind: 'tbl', path: 'arch/x86/entry/syscalls/syscall_64.tbl', abis: ['common', '64'], known: X86_64_KNOWN },
    offset: 0,
  },
  {
    abi: 'x32',
    // x32 has no audit arch of its own: the kernel logs x86_64's and keeps the x32 bit in syscall=.
    auditArchMacro: 'AUDIT_ARCH_X86_64',
    source: { kind: 'tbl', path: 'arch/x86/entry/syscalls/syscall_64.tbl', abis: ['common', 'x32'], known: X86_64_KNOWN },
    offset: X32_SYSCALL_BIT,
  },
  {
    abi: 'i386',
    auditArchMacro: 'AUDIT_ARCH_I386',
    source: { kind: 'tbl', path: 'arch/x86/entry/syscalls/syscall_32.tbl', abis: ['i386'], known: ['i386'] },
    offset: 0,
  },
  {
    abi: 'aarch64',
    auditArchMacro: 'AUDIT_ARCH_AARCH64',
    source: { kind: 'generic', arch: 'arm64', bits: 64 },
    offset: 0,
  },
  {
    abi: 'arm',
    auditArchMacro: 'AUDIT_ARCH_ARM',
    // oabi-only lines exist only for OABI binaries, which the kernel tells apart by the swi
    // immediate, not by audit arch; containers run EABI.
    source: { kind: 'tbl', path: 'arch/arm/tools/syscall.tbl', abis: ['common', 'eabi'], known: ['common', 'eabi', 'oabi'] },
    offset: 0,
    extra: {
      note: 'arch/arm/include/uapi/asm/unistd.h __ARM_NR_BASE+1..6',
      entries: ARM_PRIVATE.map(([n, name]) => [ARM_PRIVATE_BASE + n, name] as const),
    },
  },
  {
    abi: 'ppc64le',
    auditArchMacro: 'AUDIT_ARCH_PPC64LE',
    source: { kind: 'tbl', path: 'arch/powerpc/kernel/syscalls/syscall.tbl', abis: ['common', '64', 'nospu'], known: PPC_KNOWN },
    offset: 0,
  },
  {
    abi: 'ppc64',
    auditArchMacro: 'AUDIT_ARCH_PPC64',
    source: { kind: 'tbl', path: 'arch/powerpc/kernel/syscalls/syscall.tbl', abis: ['common', '64', 'nospu'], known: PPC_KNOWN },
    offset: 0,
  },
  {
    abi: 's390x',
    auditArchMacro: 'AUDIT_ARCH_S390X',
    // Since the 31-bit compat layer went away the file has one ABI value only ("<abi> is always
    // common"); `known` makes the generator stop if 64/32 columns ever come back.
    source: { kind: 'tbl', path: 'arch/s390/kernel/syscalls/syscall.tbl', abis: ['common'], known: ['common'] },
    offset: 0,
  },
  {
    abi: 'riscv64',
    auditArchMacro: 'AUDIT_ARCH_RISCV64',
    source: { kind: 'generic', arch: 'riscv', bits: 64 },
    offset: 0,
  },
  {
    abi: 'loongarch64',
    auditArchMacro: 'AUDIT_ARCH_LOONGARCH64',
    source: { kind: 'generic', arch: 'loongarch', bits: 64 },
    offset: 0,
  },
  ...mips('mips', 'AUDIT_ARCH_MIPS', 'o32', 4000),
  ...mips('mipsel', 'AUDIT_ARCH_MIPSEL', 'o32', 4000),
  ...mips('mips64', 'AUDIT_ARCH_MIPS64', 'n64', 5000),
  ...mips('mips64el', 'AUDIT_ARCH_MIPSEL64', 'n64', 5000),
  ...mips('mips64n32', 'AUDIT_ARCH_MIPS64N32', 'n32', 6000),
  ...mips('mipsel64n32', 'AUDIT_ARCH_MIPSEL64N32', 'n32', 6000),
];

function mips(abi: string, auditArchMacro: string, file: 'o32' | 'n64' | 'n32', offset: number): AbiSpec[] {
  // The .tbl numbers start at 0; the build adds __NR_Linux (4000/5000/6000) and the kernel logs
  // the sum, which is what userspace puts in v0.
  const abis = file === 'n64' ? ['common', 'n64'] : [file];
  return [
    {
      abi,
      auditArchMacro,
      source: { kind: 'tbl', path: `arch/mips/kernel/syscalls/syscall_${file}.tbl`, abis, known: abis },
      offset,
    },
  ];
}

interface TblEntry {
  nr: number;
  abi: string;
  name: string;
  line: number;
}

export function parseTbl(text: string, file: string): TblEntry[] {
  const entries: TblEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const [nrText, abi, name] = fields;
    if (nrText === undefined || abi === undefined || name === undefined || !/^\d+$/.test(nrText)) {
      throw new Error(`${file}:${i + 1}: expected "<number> <abi> <name> [entry...]", got ${JSON.stringify(lines[i])}`);
    }
    if (!/^[a-z0-9_]+$/.test(abi) || !/^[A-Za-z0-9_]+$/.test(name)) {
      throw new Error(`${file}:${i + 1}: unexpected characters in ${JSON.stringify(lines[i])}`);
    }
    entries.push({ nr: Number(nrText), abi, name, line: i + 1 });
  }
  return entries;
}

/**
 * Resolves what scripts/Makefile.asm-headers would: syscall_abis_<bits> starts as "common,<bits>",
 * then arch/<arch>/kernel/Makefile.syscalls may append (+=) or replace (:= / =) it, and may point
 * syscalltbl at its own file (with % standing for the bit width).
 */
export function resolveGenericAbi(kernelDir: string, arch: string, bits: 32 | 64): { path: string; abis: string[] } {
  const makefile = `arch/${arch}/kernel/Makefile.syscalls`;
  const text = readKernelFile(kernelDir, makefile);
  const vars = new Map<string, string[]>([
    ['syscall_abis_32', ['common', '32']],
    ['syscall_abis_64', ['common', '64']],
    ['syscalltbl', ['scripts/syscall.tbl']],
  ]);
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Za-z0-9_]+)\s*(\+=|:=|=)\s*(.*)$/.exec(line);
    if (!m) {
      // Conditionals or $(...) expansions would need a real make; refuse rather than guess.
      throw new Error(`${makefile}:${i + 1}: cannot interpret ${JSON.stringify(lines[i])}`);
    }
    const [, name, op, value] = m as unknown as [string, string, string, string];
    if (value.includes('$(') && name !== 'syscalltbl') {
      throw new Error(`${makefile}:${i + 1}: variable references are not supported: ${JSON.stringify(lines[i])}`);
    }
    const words = value.split(/[\s,]+/).filter((w) => w !== '');
    vars.set(name, op === '+=' ? [...(vars.get(name) ?? []), ...words] : words);
  }
  const tbl = (vars.get('syscalltbl') ?? [])[0];
  if (tbl === undefined) throw new Error(`${makefile}: syscalltbl is empty`);
  const path = tbl.replace(/^\$\(srctree\)\//, '').replace('%', String(bits));
  const abis = [...new Set(vars.get(`syscall_abis_${bits}`) ?? [])];
  return { path, abis };
}

/** AUDIT_ARCH_* from audit.h, evaluated as the OR of EM_* and the __AUDIT_ARCH_* flags it names. */
export function parseAuditArches(auditH: string): Map<string, number> {
  const flags = new Map<string, number>();
  for (const m of auditH.matchAll(/^#define\s+(__AUDIT_ARCH_[A-Z0-9_]+)\s+(0x[0-9a-fA-F]+)\s*$/gm)) {
    flags.set(m[1]!, Number(m[2]));
  }
  // Definitions may continue on the next line with a backslash (AUDIT_ARCH_MIPS64N32).
  const joined = auditH.replace(/\\\n/g, ' ');
  const arches = new Map<string, number>();
  for (const m of joined.matchAll(/^#define\s+(AUDIT_ARCH_[A-Z0-9_]+)\s+\(([^)]*)\)/gm)) {
    let value = 0;
    let known = true;
    for (const term of m[2]!.split('|').map((s) => s.trim())) {
      const v = ELF_MACHINES[term] ?? flags.get(term);
      if (v === undefined) {
        known = false;
        break;
      }
      value |= v;
    }
    if (known) arches.set(m[1]!, value >>> 0);
  }
  return arches;
}

export interface GeneratedTable {
  abi: string;
  auditArch: string;
  kernel: string;
  source: string;
  offset: number;
  syscalls: Record<string, string>;
}

export interface GenerateOptions {
  kernelDir: string;
  kernelVersion: string;
}

export function buildTables(opts: GenerateOptions): GeneratedTable[] {
  const auditArches = parseAuditArches(readKernelFile(opts.kernelDir, 'include/uapi/linux/audit.h'));
  const parsed = new Map<string, TblEntry[]>();
  const tables: GeneratedTable[] = [];

  for (const spec of SPECS) {
    let path: string;
    let abis: readonly string[];
    let known: readonly string[] | null;
    if (spec.source.kind === 'tbl') {
      ({ path, abis, known } = spec.source);
    } else {
      ({ path, abis } = resolveGenericAbi(opts.kernelDir, spec.source.arch, spec.source.bits));
      // The generic table carries every small arch's private ABI values (arc, csky, ...).
      known = null;
    }

    let entries = parsed.get(path);
    if (!entries) {
      entries = parseTbl(readKernelFile(opts.kernelDir, path), path);
      parsed.set(path, entries);
    }
    if (known) {
      const odd = entries.find((e) => !known!.includes(e.abi));
      if (odd) {
        throw new Error(
          `${path}:${odd.line}: ABI "${odd.abi}" is new to this generator (expected one of ${known.join(',')}); ` +
            `check the kernel's build rules for ${spec.abi} and update SPECS in syscall-tables/generate.ts`,
        );
      }
    }

    const byNr = new Map<number, string>();
    const where = new Map<number, string>();
    for (const e of entries) {
      if (!abis.includes(e.abi)) continue;
      const nr = e.nr + spec.offset;
      if (byNr.has(nr)) {
        throw new Error(`${path}:${e.line}: number ${e.nr} already used for ${spec.abi} at ${where.get(nr)}`);
      }
      byNr.set(nr, e.name);
      where.set(nr, `${path}:${e.line}`);
    }
    let source = `${path} abi ${abis.join(',')}`;
    if (spec.extra) {
      for (const [nr, name] of spec.extra.entries) {
        if (byNr.has(nr)) throw new Error(`${spec.abi}: ${spec.extra.note} number ${nr} collides with ${where.get(nr)}`);
        byNr.set(nr, name);
      }
      source += `; ${spec.extra.note}`;
    }
    if (byNr.size === 0) throw new Error(`${path}: no entries for ${spec.abi} (abi ${abis.join(',')})`);

    const auditArch = auditArches.get(spec.auditArchMacro);
    if (auditArch === undefined) throw new Error(`include/uapi/linux/audit.h: ${spec.auditArchMacro} not found`);

    const syscalls: Record<string, string> = {};
    for (const nr of [...byNr.keys()].sort((a, b) => a - b)) syscalls[String(nr)] = byNr.get(nr)!;
    tables.push({
      abi: spec.abi,
      auditArch: auditArch.toString(16).padStart(8, '0'),
      kernel: opts.kernelVersion,
      source,
      offset: spec.offset,
      syscalls,
    });
  }
  return tables;
}

/** The exact bytes of a table file; kept in one place so the drift test compares like with like. */
export function serialize(table: GeneratedTable): string {
  // JSON.stringify emits integer-like keys (all logged numbers are below 2^32 - 1) in ascending
  // numeric order whatever the insertion order, which is the order wanted anyway.
  return JSON.stringify(table, null, 2) + '\n';
}

function readKernelFile(kernelDir: string, path: string): string {
  try {
    return readFileSync(join(kernelDir, path), 'utf8');
  } catch (err) {
    throw new Error(`cannot read ${path} under ${kernelDir}: ${(err as Error).message}`);
  }
}

function versionFromDir(dir: string): string | null {
  const m = /^linux-(\d+\.\d+(?:\.\d+)?)$/.exec(basename(resolve(dir)));
  return m ? m[1]! : null;
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      kernel: { type: 'string' },
      out: { type: 'string' },
      'kernel-version': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write('usage: tsx syscall-tables/generate.ts [--kernel DIR] [--out DIR] [--kernel-version X.Y.Z]\n');
    return;
  }
  const kernelDir = resolve(values.kernel ?? DEFAULT_KERNEL_DIR);
  const outDir = resolve(values.out ?? HERE);
  const kernelVersion = values['kernel-version'] ?? versionFromDir(kernelDir);
  if (!kernelVersion) {
    throw new Error(`cannot tell the kernel version from the folder name ${kernelDir}; pass --kernel-version`);
  }

  const tables = buildTables({ kernelDir, kernelVersion });
  mkdirSync(outDir, { recursive: true });
  const report: string[] = [];
  for (const table of tables) {
    const file = join(outDir, `${table.abi}.json`);
    writeFileSync(file, serialize(table));
    report.push(`${relative(process.cwd(), file) || file}: ${Object.keys(table.syscalls).length} syscalls\n`);
  }
  // Printed after every file is written, so a closed stdout (| head) cannot leave a partial set.
  process.stdout.write(report.join(''));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    process.stderr.write(`generate: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
