import { accessSync, constants } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { basename, join } from 'node:path';
import { result, type CheckResult } from './doctor-report.js';
import type { RecordRoute } from './record-route.js';
import { parseSourceSpec } from '../sources/source-spec.js';

/*
 * Whether the records reach what the daemon reads: auditd takes them away from the kernel log when
 * it runs, and the audit queue in front of both drops records when it overflows.
 */

/** auditd's own stock rules (`-b 8192` in Debian's /etc/audit/rules.d/audit.rules); the kernel's default is 64 */
export const RECOMMENDED_BACKLOG = 8192;

/**
 * Where records go and whether the daemon's sources (the `--source` values, or its own choice
 * when there are none) read from there. The audit group's own health is audit-channel's.
 */
export function checkRecordRoute(route: RecordRoute, sources: readonly string[]): CheckResult {
  const name = 'record-route';
  const group = route.audit.state === 'works' || route.audit.state === 'unproven';
  if (sources.length === 0) {
    if (route.defaultSource === 'none') {
      return result(name, 'fail', route.why, "grant CAP_AUDIT_READ and the host's network namespace (the audit multicast group), or run auditd on the node");
    }
    if (route.defaultSource === 'audit') {
      return result(name, route.audit.state === 'works' ? 'ok' : 'warn', `${route.why}; the daemon reads it${route.audit.state === 'works' ? '' : ' (see audit-channel)'}`);
    }
    if (route.auditLog !== null && route.defaultSource === `file:${route.auditLog}`) return auditLogReadable(name, route.auditLog, route.why);
    return result(name, 'ok', `${route.why}; the daemon reads it`);
  }
  const besides = route.via === 'auditd' ? `auditd runs, so records go to ${route.auditLog}` : 'auditd does not run, so records go through printk to the kernel log';
  const where = group ? `every record goes to the audit multicast group, which can be joined here; ${besides}` : besides;
  const reading: string[] = [];
  const missing: string[] = [];
  for (const spec of sources) {
    const parsed = parseSourceSpec(spec);
    const kind = parsed?.kind ?? null;
    if (kind === 'none') continue;
    const path = parsed?.path ?? '';
    const reaches = kind === 'stdin' || kind === 'journal' // whatever is fed in; journald takes both routes
      // the kernel sends every record to the group; whether this process hears it is audit-channel's
      || kind === 'audit'
      || (kind === 'kmsg' && route.via === 'printk')
      || (kind === 'file' && route.via === 'auditd' && path === route.auditLog)
      // a syslog daemon copies the kernel log into files of its own; auditd's log gets nothing without auditd
      || (kind === 'file' && route.via === 'printk' && !basename(path).startsWith('audit'));
    (reaches ? reading : missing).push(spec);
  }
  if (reading.length === 0 && missing.length === 0) {
    return result(name, 'warn', `--source none: ${where}, but the daemon only serves what its database holds`, 'omit --source to let the daemon choose');
  }
  const fix = group ? '--source audit (or omit --source)'
    : route.via === 'auditd' ? `--source file:${route.auditLog} (or omit --source)` : '--source kmsg (or omit --source)';
  if (reading.length === 0) return result(name, 'fail', `${where}; --source ${missing.join(', ')} will see none of them`, fix);
  if (missing.length > 0) return result(name, 'warn', `${where}; ${reading.join(', ')} reads them, ${missing.join(', ')} will see none`, fix);
  const auditSource = route.via === 'auditd' ? reading.find((s) => s === `file:${route.auditLog}`) : undefined;
  if (auditSource !== undefined) return auditLogReadable(name, route.auditLog!, `${where}; --source ${reading.join(', ')}`);
  return result(name, 'ok', `${where}; --source ${reading.join(', ')} reads them`);
}

function auditLogReadable(name: string, log: string, found: string): CheckResult {
  try {
    accessSync(log, constants.R_OK);
    return result(name, 'ok', `${found}; the daemon reads it`);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return result(name, 'warn', `${found}, which does not exist yet; the daemon waits for it`, `check log_file in /etc/audit/auditd.conf`);
    return result(name, 'fail', `${found}, which this process cannot read (${code})`, 'run as root (or with CAP_DAC_READ_SEARCH)');
  }
}

/** `auditctl -s` output (`key value` per line) as numbers; values that are not numbers are left out. */
export function parseAuditStatus(text: string): Map<string, number> {
  const status = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key !== undefined && value !== undefined && /^\d+$/.test(value)) status.set(key, Number(value));
  }
  return status;
}

/** auditctl on PATH or in the sbin directories (not always on a plain user's PATH), or null. */
export function findAuditctl(path = process.env['PATH'] ?? ''): string | null {
  const dirs = [...path.split(':').filter((d) => d !== ''), '/usr/sbin', '/sbin'];
  for (const dir of dirs) {
    const candidate = join(dir, 'auditctl');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // next
    }
  }
  return null;
}

/**
 * The kernel's audit queue sits in front of auditd and of printk alike: when it is full, a record
 * waits (backlog_wait_time) or is lost, and `lost` counts it. Only `auditctl -s` shows these
 * counters (the netlink status query needs CAP_AUDIT_CONTROL).
 */
export function checkAuditBacklog(auditctl: string | null): CheckResult {
  const name = 'audit-backlog';
  if (auditctl === null) {
    return result(name, 'warn', 'could not be checked: auditctl is not installed, so the audit backlog limit and lost counter are unknown', 'install auditctl (Debian: apt-get install auditd) to see them');
  }
  let text: string;
  try {
    text = execFileSync(auditctl, ['-s'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    const why = (e.stderr?.trim() || e.message).split('\n')[0];
    return result(name, 'warn', `could not be checked: ${auditctl} -s failed (${why})`, 'run doctor as root (auditctl needs CAP_AUDIT_CONTROL)');
  }
  return auditBacklogFrom(text, `${auditctl} -s`);
}

/** The verdict on `auditctl -s` output (`what` names where it came from). */
export function auditBacklogFrom(text: string, what: string): CheckResult {
  const name = 'audit-backlog';
  const s = parseAuditStatus(text);
  const lost = s.get('lost');
  const limit = s.get('backlog_limit');
  if (lost === undefined || limit === undefined) return result(name, 'warn', `could not be checked: ${what} printed no lost/backlog_limit (${JSON.stringify(text.slice(0, 120))})`, null);
  const found = `enabled ${s.get('enabled') ?? '?'}, auditd pid ${s.get('pid') ?? '?'}, lost ${lost}, backlog ${s.get('backlog') ?? '?'} of ${limit}`;
  const fix = `auditctl -b ${RECOMMENDED_BACKLOG} (and -b ${RECOMMENDED_BACKLOG} in /etc/audit/rules.d/ to keep it)`;
  if (lost > 0) return result(name, 'warn', `${found}: the kernel lost ${lost} audit records since boot (seccomp records among them, perhaps)`, fix);
  // 0 means no limit
  if (limit !== 0 && limit < RECOMMENDED_BACKLOG) {
    return result(name, 'warn', `${found}: a burst of more than ${limit} records makes the calling processes wait and then loses records`, fix);
  }
  return result(name, 'ok', found);
}
