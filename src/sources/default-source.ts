import { closeSync, constants, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where records go on this node, and why: the choice the daemon makes without `--source`. */
export interface SourceChoice {
  spec: string;
  why: string;
}

const AUDITD_CONF = '/etc/audit/auditd.conf';
const AUDIT_LOG = '/var/log/audit/audit.log';

/**
 * When auditd runs, the kernel sends seccomp records to it and no longer to the kernel log, so
 * its log file is the source; else /dev/kmsg; else nothing to read (the daemon still serves).
 */
export function chooseDefaultSource(options: { procRoot: string; auditdConf?: string; kmsg?: string }): SourceChoice {
  const auditd = findProcess(options.procRoot, 'auditd');
  if (auditd !== null) {
    const log = auditLogFile(options.auditdConf ?? AUDITD_CONF);
    return { spec: `file:${log}`, why: `auditd runs (pid ${auditd}), so seccomp records go to its log ${log}` };
  }
  const kmsg = options.kmsg ?? '/dev/kmsg';
  // opened, not access()ed: access() says yes to a non-root user under dmesg_restrict, and to a
  // container whose device cgroup refuses the device
  try {
    closeSync(openSync(kmsg, constants.O_RDONLY | constants.O_NONBLOCK));
    return { spec: 'kmsg', why: `auditd does not run, so the kernel prints seccomp records to ${kmsg}` };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    // no device at all: not a node (a laptop container, a test): serve what the database holds
    if (code === 'ENOENT' || code === 'ENOTDIR') return { spec: 'none', why: `auditd does not run and there is no ${kmsg}; serving only what the database holds` };
    // the node's log is there but refused: read it anyway so the failure shows in /readyz and
    // seccomp_auditor_source_up instead of a daemon that looks ready and reads nothing
    return { spec: 'kmsg', why: `auditd does not run, so seccomp records go to ${kmsg}, which cannot be opened now (${code})` };
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
