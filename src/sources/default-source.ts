import { closeSync, constants, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeAuditChannel, type AuditProbe } from './audit-probe.js';

/** Where records go on this node, and why: the choice the daemon makes without `--source`. */
export interface SourceChoice {
  spec: string;
  why: string;
}

const AUDITD_CONF = '/etc/audit/auditd.conf';
const AUDIT_LOG = '/var/log/audit/audit.log';

/**
 * The kernel's audit multicast group first: it carries every record, with or without auditd,
 * without printk's rate limit (10 records per 5 s by default) or kmsg's ring, and only the
 * kernel can write to it. When it cannot be joined: auditd's log when auditd runs (then the
 * kernel sends records to auditd and no longer prints them), else /dev/kmsg, else nothing.
 * A group that can be joined but stays deaf (another network namespace) is left for auditd's
 * log when there is one; without one the daemon stays on it, not ready, with the fix, since
 * /dev/kmsg would learn a fraction of the records without saying so.
 */
export function chooseDefaultSource(options: { procRoot: string; auditdConf?: string; kmsg?: string; probe?: () => AuditProbe }): SourceChoice {
  const auditd = findProcess(options.procRoot, 'auditd');
  const log = auditd === null ? null : auditLogFile(options.auditdConf ?? AUDITD_CONF);
  const auditdToo = auditd === null ? '' : `; auditd runs too (pid ${auditd}), its log is not needed`;
  const probe = (options.probe ?? probeAuditChannel)();
  switch (probe.state) {
    case 'works':
      return { spec: 'audit', why: `the kernel's audit multicast group answered the canary in ${probe.latencyMs} ms: every seccomp record, without printk's rate limit${auditdToo}` };
    case 'unproven':
      return { spec: 'audit', why: `joined the kernel's audit multicast group (${probe.detail}; unproven)${auditdToo}` };
    case 'deaf':
      if (log !== null) return { spec: `file:${log}`, why: `the kernel's audit multicast group is deaf here (${probe.detail}); auditd runs (pid ${auditd}), so its log ${log}` };
      return { spec: 'audit', why: `the kernel's audit multicast group is deaf here (${probe.detail}); /dev/kmsg would pass only 10 records per 5 s under printk's rate limit, so the daemon stays on the group and reports not ready until it runs in the host network namespace` };
    case 'refused':
      break;
  }
  const refused = `the kernel's audit multicast group cannot be joined (${probe.detail})`;
  if (log !== null) return { spec: `file:${log}`, why: `${refused}; auditd runs (pid ${auditd}), so seccomp records go to its log ${log}` };
  const kmsg = options.kmsg ?? '/dev/kmsg';
  // opened, not access()ed: access() says yes to a non-root user under dmesg_restrict, and to a
  // container whose device cgroup refuses the device
  try {
    closeSync(openSync(kmsg, constants.O_RDONLY | constants.O_NONBLOCK));
    return { spec: 'kmsg', why: `${refused} and auditd does not run, so ${kmsg}, where printk's rate limit (${printkLimit()}) drops records in bursts; grant CAP_AUDIT_READ to read every record` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // no device at all: not a node (a laptop container, a test): serve what the database holds
    if (code === 'ENOENT' || code === 'ENOTDIR') return { spec: 'none', why: `${refused}, auditd does not run and there is no ${kmsg}; serving only what the database holds` };
    // the node's log is there but refused: read it anyway so the failure shows in /readyz and
    // seccomp_auditor_source_up instead of a daemon that looks ready and reads nothing
    return { spec: 'kmsg', why: `${refused} and auditd does not run, so seccomp records go to ${kmsg}, which cannot be opened now (${code})` };
  }
}

/** `N records per S s`, as the kernel's printk rate limit stands now. */
export function printkLimit(procRoot = '/proc'): string {
  try {
    const interval = readFileSync(join(procRoot, 'sys/kernel/printk_ratelimit'), 'utf8').trim();
    const burst = readFileSync(join(procRoot, 'sys/kernel/printk_ratelimit_burst'), 'utf8').trim();
    return interval === '0' ? 'off' : `${burst} records per ${interval} s`;
  } catch {
    return 'unknown';
  }
}

function findProcess(procRoot: string, comm: string): number | null {
  let entries: string[];
  try {
    entries = readdirSync(procRoot);
  } catch {
    return null;
  }
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(join(procRoot, entry, 'comm'), 'utf8').trim() === comm) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/** `log_file = ...` from auditd.conf, or auditd's default. */
function auditLogFile(conf: string): string {
  try {
    const m = /^\s*log_file\s*=\s*(\S+)\s*$/m.exec(readFileSync(conf, 'utf8'));
    if (m) return m[1]!;
  } catch {
    // no config: auditd's built-in default
  }
  return AUDIT_LOG;
}
