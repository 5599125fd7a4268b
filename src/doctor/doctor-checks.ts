import { checkDatabase, checkKmsg, checkKubeletLogs, checkKubeletSeccompDir, checkProcRoot } from './access-checks.js';
import { checkAuditBacklog, checkRecordRoute, findAuditctl } from './audit-checks.js';
import { checkCgroupVersion, checkKubepodsCgroups } from './cgroup-checks.js';
import type { CheckResult } from './doctor-report.js';
import { checkConsoleLoglevel, checkPrintkRateLimit, checkSeccompLogAction } from './kernel-checks.js';
import { findRecordRoute } from './record-route.js';

export interface DoctorOptions {
  /** the host's /proc; its sys/ holds the sysctls read */
  procRoot: string;
  /** the host's /sys (cgroup hierarchies) */
  sysRoot: string;
  /** the kubelet's log root */
  logDir: string;
  /** --db; undefined: the daemon's default */
  dbPath: string | undefined;
  kubeletSeccompDir: string;
  /** --source values; empty: the daemon's own choice */
  sources: readonly string[];
  /** default /dev/kmsg */
  kmsg?: string;
  /** default /etc/audit/auditd.conf */
  auditdConf?: string;
  /** auditctl's path, null for none; default: looked up on PATH */
  auditctl?: string | null;
  /** where the database goes without --db when writable; default /var/lib/seccomp-auditor */
  systemDbDir?: string;
}

/** Every check, in the order a reader fixes things: the kernel first, then access, then layout. */
export function runDoctorChecks(options: DoctorOptions): CheckResult[] {
  const route = findRecordRoute({
    procRoot: options.procRoot,
    ...(options.auditdConf !== undefined ? { auditdConf: options.auditdConf } : {}),
    ...(options.kmsg !== undefined ? { kmsg: options.kmsg } : {}),
  });
  const kmsgNeeded = options.sources.includes('kmsg') || (options.sources.length === 0 && route.via === 'printk');
  return [
    checkSeccompLogAction(options.procRoot),
    checkRecordRoute(route, options.sources),
    checkPrintkRateLimit(options.procRoot, route),
    checkConsoleLoglevel(options.procRoot, route),
    checkAuditBacklog(options.auditctl === undefined ? findAuditctl() : options.auditctl),
    checkKmsg({ ...(options.kmsg !== undefined ? { path: options.kmsg } : {}), procRoot: options.procRoot, needed: kmsgNeeded }),
    checkProcRoot(options.procRoot),
    checkKubeletLogs(options.logDir),
    checkKubeletSeccompDir(options.kubeletSeccompDir),
    checkCgroupVersion(options.procRoot),
    checkKubepodsCgroups({ procRoot: options.procRoot, sysRoot: options.sysRoot }),
    checkDatabase(options.dbPath, options.systemDbDir),
  ];
}
