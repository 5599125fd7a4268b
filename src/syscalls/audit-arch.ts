/**
 * Calling conventions (ABIs) the daemon can name, and how the kernel, auparse and libseccomp
 * each spell them.
 */

/** One syscall table each; the name is the table's file name under syscall-tables/. */
export type ArchName =
  | 'x86_64'
  | 'x32'
  | 'i386'
  | 'aarch64'
  | 'arm'
  | 'ppc64le'
  | 'ppc64'
  | 's390x'
  | 'riscv64'
  | 'loongarch64'
  | 'mips'
  | 'mipsel'
  | 'mips64'
  | 'mips64el'
  | 'mips64n32'
  | 'mipsel64n32';

export const ARCH_NAMES: readonly ArchName[] = [
  'x86_64',
  'x32',
  'i386',
  'aarch64',
  'arm',
  'ppc64le',
  'ppc64',
  's390x',
  'riscv64',
  'loongarch64',
  'mips',
  'mipsel',
  'mips64',
  'mips64el',
  'mips64n32',
  'mipsel64n32',
];

// AUDIT_ARCH_* of include/uapi/linux/audit.h: EM_* | __AUDIT_ARCH_64BIT (0x80000000)
// | __AUDIT_ARCH_LE (0x40000000) | __AUDIT_ARCH_CONVENTION_MIPS64_N32 (0x20000000).
// Unsigned, as records print them (arch=c000003e). The generator derives the same values from
// audit.h independently and the table loader checks that both agree.
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_I386 = 0x40000003;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
export const AUDIT_ARCH_ARM = 0x40000028;
export const AUDIT_ARCH_PPC64 = 0x80000015;
export const AUDIT_ARCH_PPC64LE = 0xc0000015;
export const AUDIT_ARCH_S390X = 0x80000016;
export const AUDIT_ARCH_RISCV64 = 0xc00000f3;
export const AUDIT_ARCH_LOONGARCH64 = 0xc0000102;
export const AUDIT_ARCH_MIPS = 0x00000008;
export const AUDIT_ARCH_MIPSEL = 0x40000008;
export const AUDIT_ARCH_MIPS64 = 0x80000008;
export const AUDIT_ARCH_MIPSEL64 = 0xc0000008;
export const AUDIT_ARCH_MIPS64N32 = 0xa0000008;
export const AUDIT_ARCH_MIPSEL64N32 = 0xe0000008;

/**
 * __X32_SYSCALL_BIT. x32 has no audit arch of its own: its calls are logged with x86_64's and
 * this bit set in syscall=.
 */
export const X32_SYSCALL_BIT = 0x40000000;

const AUDIT_ARCH_OF: Readonly<Record<ArchName, number>> = {
  x86_64: AUDIT_ARCH_X86_64,
  x32: AUDIT_ARCH_X86_64,
  i386: AUDIT_ARCH_I386,
  aarch64: AUDIT_ARCH_AARCH64,
  arm: AUDIT_ARCH_ARM,
  ppc64le: AUDIT_ARCH_PPC64LE,
  ppc64: AUDIT_ARCH_PPC64,
  s390x: AUDIT_ARCH_S390X,
  riscv64: AUDIT_ARCH_RISCV64,
  loongarch64: AUDIT_ARCH_LOONGARCH64,
  mips: AUDIT_ARCH_MIPS,
  mipsel: AUDIT_ARCH_MIPSEL,
  mips64: AUDIT_ARCH_MIPS64,
  mips64el: AUDIT_ARCH_MIPSEL64,
  mips64n32: AUDIT_ARCH_MIPS64N32,
  mipsel64n32: AUDIT_ARCH_MIPSEL64N32,
};

/** The arch= value the kernel logs for this ABI (x32 shares x86_64's; its numbers carry X32_SYSCALL_BIT). */
export function auditArchOf(arch: ArchName): number {
  return AUDIT_ARCH_OF[arch];
}

/** The same table the other way round; x32 is told from x86_64 by the number, not the arch. */
const ARCH_OF_AUDIT: ReadonlyMap<number, ArchName> = new Map(
  (Object.entries(AUDIT_ARCH_OF) as [ArchName, number][]).filter(([arch]) => arch !== 'x32').map(([arch, audit]) => [audit, arch]),
);

/** The ABI of a record, from its arch= and syscall= values; null for an audit arch we have no table for. */
export function archName(auditArch: number, nr: number): ArchName | null {
  if (auditArch === AUDIT_ARCH_X86_64 && (nr & X32_SYSCALL_BIT) !== 0) return 'x32';
  return ARCH_OF_AUDIT.get(auditArch) ?? null;
}

const SECCOMP_ARCH: Readonly<Record<ArchName, string>> = {
  x86_64: 'SCMP_ARCH_X86_64',
  x32: 'SCMP_ARCH_X32',
  i386: 'SCMP_ARCH_X86',
  aarch64: 'SCMP_ARCH_AARCH64',
  arm: 'SCMP_ARCH_ARM',
  ppc64le: 'SCMP_ARCH_PPC64LE',
  ppc64: 'SCMP_ARCH_PPC64',
  s390x: 'SCMP_ARCH_S390X',
  riscv64: 'SCMP_ARCH_RISCV64',
  loongarch64: 'SCMP_ARCH_LOONGARCH64',
  mips: 'SCMP_ARCH_MIPS',
  mipsel: 'SCMP_ARCH_MIPSEL',
  mips64: 'SCMP_ARCH_MIPS64',
  mips64el: 'SCMP_ARCH_MIPSEL64',
  mips64n32: 'SCMP_ARCH_MIPS64N32',
  mipsel64n32: 'SCMP_ARCH_MIPSEL64N32',
};

/** The name OCI runtime specs and libseccomp use (`architectures` / `archMap` in a profile). */
export function seccompArchName(arch: ArchName): string {
  return SECCOMP_ARCH[arch];
}

/**
 * What `ausearch --interpret` prints for arch=, mapped back to an ABI.
 *
 * auparse (audit-userspace lib/machinetab.h) knows i386 (also accepting i486/i586/i686), x86_64,
 * ppc64, ppc64le, s390x, aarch64, riscv64 and, for AUDIT_ARCH_ARM, "armeb" — which is what it
 * prints even for little-endian ARM, because that is the first name its table lists for the
 * machine — plus arm, armv5tejl, armv5tel, armv6l, armv7l. It has no mips or loongarch64 support:
 * for those (and any arch it does not know) it prints `unknown-elf-type(<hex arch>)`, which is
 * decoded here. Our own ABI names are accepted too, so x32, loongarch64 and the mips ABIs can be
 * named explicitly. auparse never prints x32: such records say x86_64, and only the syscall
 * number (bit 0x40000000) tells them apart.
 */
export function archFromInterpretedName(name: string): ArchName | null {
  const alias = INTERPRETED_NAMES.get(name);
  if (alias !== undefined) return alias;
  const m = /^unknown-elf-type\(([0-9a-fA-F]{1,8})\)$/.exec(name);
  if (m) return archName(Number.parseInt(m[1]!, 16), 0);
  return null;
}

const INTERPRETED_NAMES: ReadonlyMap<string, ArchName> = new Map<string, ArchName>([
  ...ARCH_NAMES.map((a) => [a, a] as const),
  ['i486', 'i386'],
  ['i586', 'i386'],
  ['i686', 'i386'],
  ['armeb', 'arm'],
  ['armv5tejl', 'arm'],
  ['armv5tel', 'arm'],
  ['armv6l', 'arm'],
  ['armv7l', 'arm'],
]);
