/**
 * The learning profile: every syscall runs and is logged (SCMP_ACT_LOG), which is what the daemon
 * learns from. Installed as `seccomp-auditor/log-all.json`, so putting a pod under it is one field
 * (`seccompProfile: {type: Localhost, localhostProfile: seccomp-auditor/log-all.json}`).
 */
import { endianness } from 'node:os';

export const LOG_ALL_NAME = 'log-all';

/**
 * The ABIs a process of this machine may call through, native first, as docker's and
 * containerd's default profiles list them per machine (their archMap): a call on an ABI missing
 * from `architectures` gets the runtime's bad-arch action (a kill) instead of the log. Keyed by
 * Node's `process.arch`.
 */
const ARCHES_OF: Readonly<Record<string, readonly string[]>> = {
  x64: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86', 'SCMP_ARCH_X32'],
  ia32: ['SCMP_ARCH_X86'],
  arm64: ['SCMP_ARCH_AARCH64', 'SCMP_ARCH_ARM'],
  arm: ['SCMP_ARCH_ARM'],
  s390x: ['SCMP_ARCH_S390X', 'SCMP_ARCH_S390'],
  riscv64: ['SCMP_ARCH_RISCV64'],
  loong64: ['SCMP_ARCH_LOONGARCH64'],
  mips64el: ['SCMP_ARCH_MIPSEL64', 'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_MIPSEL'],
  mipsel: ['SCMP_ARCH_MIPSEL'],
  mips: ['SCMP_ARCH_MIPS'],
};

/** `architectures` for a machine; null for one we have no list for (the profile then names none: the runtime's native arch only). */
export function nativeSeccompArches(arch: string = process.arch, endian: 'LE' | 'BE' = endianness()): readonly string[] | null {
  if (arch === 'ppc64') return endian === 'LE' ? ['SCMP_ARCH_PPC64LE'] : ['SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC'];
  return ARCHES_OF[arch] ?? null;
}

/** The exact bytes of log-all.json: the installer compares files with these. */
export function logAllProfileBytes(arch: string = process.arch, endian: 'LE' | 'BE' = endianness()): string {
  const arches = nativeSeccompArches(arch, endian);
  return JSON.stringify({ defaultAction: 'SCMP_ACT_LOG', ...(arches !== null ? { architectures: arches } : {}) }, null, 2) + '\n';
}
