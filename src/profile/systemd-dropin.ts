/**
 * A learned profile as a systemd drop-in for a host unit: `[Service]` with SystemCallFilter= (an
 * allow-list of the names seen running), SystemCallArchitectures= (the ABIs seen) and
 * SystemCallErrorNumber=EPERM, so a call outside the list fails as it would under the OCI
 * profile's SCMP_ACT_ERRNO instead of killing the service (systemd's default). In complain mode
 * (defaultAction log) nothing is filtered: SystemCallLog=~ (systemd 247+) logs every call outside
 * the list, and no architecture restriction is set, since that would block.
 */
import type { BuiltProfile, DefaultAction } from './oci-profile.js';

/** systemd's names for libseccomp's architectures (seccomp_arch_to_string in systemd's seccomp-util.c). */
const SYSTEMD_ARCH: Readonly<Record<string, string>> = {
  SCMP_ARCH_X86_64: 'x86-64',
  SCMP_ARCH_X86: 'x86',
  SCMP_ARCH_X32: 'x32',
  SCMP_ARCH_AARCH64: 'arm64',
  SCMP_ARCH_ARM: 'arm',
  SCMP_ARCH_PPC64LE: 'ppc64-le',
  SCMP_ARCH_PPC64: 'ppc64',
  SCMP_ARCH_PPC: 'ppc',
  SCMP_ARCH_S390X: 's390x',
  SCMP_ARCH_S390: 's390',
  SCMP_ARCH_RISCV64: 'riscv64',
  SCMP_ARCH_LOONGARCH64: 'loongarch64',
  SCMP_ARCH_MIPS: 'mips',
  SCMP_ARCH_MIPSEL: 'mips-le',
  SCMP_ARCH_MIPS64: 'mips64',
  SCMP_ARCH_MIPSEL64: 'mips64-le',
  SCMP_ARCH_MIPS64N32: 'mips64-n32',
  SCMP_ARCH_MIPSEL64N32: 'mips64-le-n32',
};

export class SystemdDropInError extends Error {}

/** Units SystemCallFilter= applies to here: services (a scope or slice has no [Service] to put it in). */
export function isServiceUnit(unit: string): boolean {
  return unit.endsWith('.service') && unit.length > '.service'.length;
}

export function formatSystemdDropIn(built: BuiltProfile, options: { unit: string; defaultAction: DefaultAction }): string {
  const { unit, defaultAction } = options;
  if (!isServiceUnit(unit)) throw new SystemdDropInError(`${unit} is not a service: SystemCallFilter= goes in a [Service] section, so only NAME.service units get a drop-in`);
  const names = built.profile.syscalls.flatMap((r) => r.names);
  const { records, from, to } = built.explain;
  if (names.length === 0 || from === null || to === null) throw new SystemdDropInError(`no syscall of ${unit} was seen running: a drop-in would allow nothing`);
  const lines = [
    `# /etc/systemd/system/${unit}.d/seccomp-auditor.conf — learned by seccomp-auditor from ${records} records, ${from}..${to}`,
    defaultAction === 'errno'
      ? '# Calls outside SystemCallFilter= fail with EPERM.'
      : '# Complain mode: nothing is blocked; calls outside the list are logged (SystemCallLog=, systemd 247 or later).',
  ];
  const blocked = [...new Set(built.explain.notAllowed.map((n) => n.name))];
  if (blocked.length > 0) lines.push(`# Seen only blocked, so left out: ${blocked.join(' ')}`);
  lines.push(`# Then: systemctl daemon-reload && systemctl restart ${unit}`, '[Service]');
  if (defaultAction === 'errno') {
    const arches = built.profile.architectures.map((a) => SYSTEMD_ARCH[a]).filter((a): a is string => a !== undefined);
    lines.push(`SystemCallArchitectures=${arches.length > 0 ? arches.join(' ') : 'native'}`);
    lines.push(`SystemCallFilter=${names.join(' ')}`);
    lines.push('SystemCallErrorNumber=EPERM');
  } else {
    lines.push(`SystemCallLog=~${names.join(' ')}`);
  }
  return lines.join('\n') + '\n';
}

/**
 * Why a drop-in cannot carry logDenied: a unit has no setting for SECCOMP_FILTER_FLAG_LOG; systemd
 * loads its filters with it (SCMP_FLTATR_CTL_LOG) only when the manager itself runs with
 * SYSTEMD_LOG_SECCOMP=1 (systemd's docs/ENVIRONMENT.md), which is a setting of the whole node.
 */
export const SYSTEMD_LOG_DENIED = 'the log flag has no unit setting in systemd: its filters log denied calls only when the manager runs with SYSTEMD_LOG_SECCOMP=1 (node-wide); take the OCI format, or the complain-mode drop-in (default action log: SystemCallLog=) to see what the filter would deny';
