import { checkDatabase, checkKmsg, checkKubeletLogs, checkKubeletSeccompDir, checkProcRoot } from './access-checks.js';
import { checkAuditChannel } from './audit-channel-check.js';
import { checkAuditBacklog, checkRecordRoute, findAuditctl } from './audit-checks.js';
import { checkCgroupVersion, checkKubepodsCgroups } from './cgroup-checks.js';
import type { CheckResult } from './doctor-report.js';
import { checkConsoleLoglevel, checkPrintkRateLimit, checkSeccompLogAction } from './kernel-checks.js';
import { findRecordRoute, type RecordRouteOptions } from './record-route.js';
import type { AuditChannelOptions } from './audit-channel-check.js';

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
  /** the audit source's receive buffer request (run's --audit-rcvbuf) */
  rcvbufBytes: number;
  /** default: join the audit group and make the canary record (audit-probe.ts) */
  probe?: RecordRouteOptions['probe'];
  /** default: the addon's AUDIT_GET */
  kernelStatus?: AuditChannelOptions['kernelStatus'];
}

/** Every check, in the order a reader fixes things: the kernel first, then access, then layout. */
export function runDoctorChecks(options: DoctorOptions): CheckResult[] {
  const route = findRecordRoute({
    procRoot: options.procRoot,
    rcvbufBytes: options.rcvbufBytes,
    ...(options.auditdConf !== undefined ? { auditdConf: options.auditdConf } : {}),
    ...(options.kmsg !== undefined ? { kmsg: options.kmsg } : {}),
    ...(options.probe !== undefined ? { probe: options.probe } : {}),
  });
  // what the daemon will read: the --source values, or its own choice
  const reads = (kind: string): boolean => options.sources.includes(kind) || (options.sources.length === 0 && route.defaultSource === kind);
  return [
    checkSeccompLogAction(options.procRoot),
    checkRecordRoute(route, options.sources),
    checkAuditChannel(route, {
      procRoot: options.procRoot, needed: reads('audit'), rcvbufBytes: options.rcvbufBytes,
      ...(options.kernelStatus !== undefined ? { kernelStatus: options.kernelStatus } : {}),
    }),
    checkPrintkRateLimit(options.procRoot, route, reads('kmsg')),
    checkConsoleLoglevel(options.procRoot, route),
    checkAuditBacklog(options.auditctl === undefined ? findAuditctl() : options.auditctl),
    checkKmsg({ ...(options.kmsg !== undefined ? { path: options.kmsg } : {}), procRoot: options.procRoot, needed: reads('kmsg') }),
    checkProcRoot(options.procRoot),
    checkKubeletLogs(options.logDir),
    checkKubeletSeccompDir(options.kubeletSeccompDir),
    checkCgroupVersion(options.procRoot),
    checkKubepodsCgroups({ procRoot: options.procRoot, sysRoot: options.sysRoot }),
    checkDatabase(options.dbPath, options.systemDbDir),
  ];
}
