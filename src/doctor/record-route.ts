import { probeAuditChannel, type AuditProbe } from '../sources/audit-probe.js';
import { chooseDefaultSource } from '../sources/default-source.js';
import { parseSourceSpec } from '../sources/source-spec.js';

/**
 * Where the kernel sends seccomp records on this node. Every record goes to the audit multicast
 * group, which a process with CAP_AUDIT_READ in the host's network namespace can join. Besides:
 * with an audit daemon registered, kauditd hands them to it and no longer prints them; without
 * one they go through printk to the kernel log (/dev/kmsg), rate-limited like any printk. Several
 * checks depend on which it is.
 */
export interface RecordRoute {
  /** besides the audit group: auditd's log, or printk to /dev/kmsg */
  via: 'auditd' | 'printk';
  /** the daemon's choice without --source (`audit`, `file:<auditd log>`, `kmsg` or `none`) */
  defaultSource: string;
  /** auditd's log file when auditd runs, else null */
  auditLog: string | null;
  /** the daemon's own sentence for the choice */
  why: string;
  /** what joining the audit group and sending the canary record found here */
  audit: AuditProbe;
}

export interface RecordRouteOptions {
  procRoot: string;
  /** default /etc/audit/auditd.conf */
  auditdConf?: string;
  /** default /dev/kmsg */
  kmsg?: string;
  /** the receive buffer to ask for (run's --audit-rcvbuf), so the doctor reports what the daemon would get */
  rcvbufBytes?: number;
  /** default: probeAuditChannel, which joins the group and makes one canary record */
  probe?: () => AuditProbe;
}

/** When the group is not asked: the daemon's choice among the other channels. */
const NOT_ASKED: AuditProbe = { state: 'refused', code: null, detail: 'not asked' };

/** The same decision `run` makes without --source (sources/default-source.ts), read back as a route. */
export function findRecordRoute(options: RecordRouteOptions): RecordRoute {
  const audit = (options.probe ?? (() => probeAuditChannel(options.rcvbufBytes !== undefined ? { rcvbufBytes: options.rcvbufBytes } : {})))();
  const node = {
    procRoot: options.procRoot,
    ...(options.auditdConf !== undefined ? { auditdConf: options.auditdConf } : {}),
    ...(options.kmsg !== undefined ? { kmsg: options.kmsg } : {}),
  };
  const choice = chooseDefaultSource({ ...node, probe: () => audit });
  // where records go besides the group is the choice the daemon makes when it cannot join: a
  // file source is chosen only when auditd runs, and it is auditd's log
  const fallback = parseSourceSpec(chooseDefaultSource({ ...node, probe: () => NOT_ASKED }).spec);
  const auditLog = fallback?.kind === 'file' ? fallback.path : null;
  return { via: auditLog !== null ? 'auditd' : 'printk', defaultSource: choice.spec, auditLog, why: choice.why, audit };
}
