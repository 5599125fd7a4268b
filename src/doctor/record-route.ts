import { chooseDefaultSource } from '../sources/default-source.js';
import { parseSourceSpec } from '../sources/source-spec.js';

/**
 * Where the kernel sends seccomp records on this node. With an audit daemon registered, kauditd
 * hands them to it and no longer prints them; without one they go through printk to the kernel
 * log (/dev/kmsg), rate-limited like any printk. Several checks depend on which it is.
 */
export interface RecordRoute {
  via: 'auditd' | 'printk';
  /** the daemon's choice without --source (`file:<auditd log>`, `kmsg` or `none`) */
  defaultSource: string;
  /** auditd's log file when auditd runs, else null */
  auditLog: string | null;
  /** the daemon's own sentence for the choice */
  why: string;
}

export interface RecordRouteOptions {
  procRoot: string;
  /** default /etc/audit/auditd.conf */
  auditdConf?: string;
  /** default /dev/kmsg */
  kmsg?: string;
}

/** The same decision `run` makes without --source (sources/default-source.ts), read back as a route. */
export function findRecordRoute(options: RecordRouteOptions): RecordRoute {
  const choice = chooseDefaultSource({
    procRoot: options.procRoot,
    ...(options.auditdConf !== undefined ? { auditdConf: options.auditdConf } : {}),
    ...(options.kmsg !== undefined ? { kmsg: options.kmsg } : {}),
  });
  // a file source is chosen only when auditd runs: its log
  const source = parseSourceSpec(choice.spec);
  const auditLog = source?.kind === 'file' ? source.path : null;
  return { via: auditLog !== null ? 'auditd' : 'printk', defaultSource: choice.spec, auditLog, why: choice.why };
}
