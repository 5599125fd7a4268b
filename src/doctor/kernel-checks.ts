import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { result, type CheckResult } from './doctor-report.js';
import { printkLimit } from '../sources/default-source.js';
import type { RecordRoute } from './record-route.js';

/*
 * The kernel settings that decide whether a seccomp record is written at all and whether it
 * survives the way to a reader. Read under the proc root: a DaemonSet mounts the host's /proc, and
 * these sysctls are not namespaced, so a pod's own /proc shows the host's values too.
 */

/** KERN_NOTICE: the level kauditd prints records at when no audit daemon takes them */
const AUDIT_PRINTK_LEVEL = 5;

/** `log` in actions_logged: without it SECCOMP_RET_LOG allows the call but writes no record. */
export function checkSeccompLogAction(procRoot: string): CheckResult {
  const name = 'seccomp-log-action';
  const path = join(procRoot, 'sys/kernel/seccomp/actions_logged');
  const logged = readSetting(path);
  if (logged === null) {
    return result(name, 'fail', `cannot read ${path}: this kernel has no seccomp action logging (Linux 4.14 or later with CONFIG_SECCOMP_FILTER)`, 'run on a kernel with seccomp filters and action logging (4.14 or later), or check --proc-root');
  }
  const actions = logged.split(/\s+/).filter((a) => a !== '');
  if (!actions.includes('log')) {
    const wanted = [...actions, 'log'].join(' ');
    return result(name, 'fail', `${path} is "${actions.join(' ')}": calls a logging profile allows are not logged, so nothing can be learned`, `echo "${wanted}" > ${path}`);
  }
  return result(name, 'ok', `${path}: ${actions.join(' ')}`);
}

/** What to do about printk's rate limit: read the channel that has none. */
export const PRINTK_LOSS_FIX = "read the kernel's audit multicast group instead: grant CAP_AUDIT_READ and the host's network namespace (Kubernetes: hostNetwork: true), or run auditd (the daemon reads its log); else sysctl -w kernel.printk_ratelimit=0 (and kernel.printk_ratelimit = 0 in /etc/sysctl.d/ to keep it)";

/**
 * What printk's rate limit costs a reader of /dev/kmsg, as one sentence, or null when it is off
 * (or unreadable). Measured on a stock kernel: a shell loop making 7 587 records in about a second
 * left 10 in /dev/kmsg.
 */
export function printkLoss(procRoot: string): string | null {
  const interval = readSetting(join(procRoot, 'sys/kernel/printk_ratelimit'));
  const burst = readSetting(join(procRoot, 'sys/kernel/printk_ratelimit_burst'));
  if (interval === null || Number(interval) === 0) return null;
  return `kernel.printk_ratelimit=${interval}, printk_ratelimit_burst=${burst ?? '?'}: at most ${printkLimit(procRoot)} reach /dev/kmsg; a fork burst loses ~99% (7 587 records made in a second left 10), and the kernel reports the rest only as "kauditd_printk_skb: N callbacks suppressed"`;
}

/**
 * printk's rate limit applies to every record that goes to the kernel log instead of auditd: a
 * fail when the daemon reads /dev/kmsg (`readsKmsg`), since it will lose most records of any burst.
 */
export function checkPrintkRateLimit(procRoot: string, route: RecordRoute, readsKmsg: boolean): CheckResult {
  const name = 'printk-ratelimit';
  if (route.via === 'auditd') return result(name, 'ok', 'not used: records go to auditd, not through printk');
  if (!readsKmsg) return result(name, 'ok', 'not used: the daemon does not read /dev/kmsg');
  const intervalPath = join(procRoot, 'sys/kernel/printk_ratelimit');
  const interval = readSetting(intervalPath);
  if (interval === null) return result(name, 'warn', `cannot read ${intervalPath}: the printk rate limit is unknown`, 'check --proc-root');
  const loss = printkLoss(procRoot);
  if (loss === null) return result(name, 'ok', 'kernel.printk_ratelimit=0: records reach /dev/kmsg without a rate limit');
  return result(name, 'fail', `${loss}; the daemon reads /dev/kmsg`, PRINTK_LOSS_FIX);
}

/**
 * Records printed at a level below the console log level are also written to every console; a
 * serial console takes milliseconds per line, and the kernel waits for it.
 */
export function checkConsoleLoglevel(procRoot: string, route: RecordRoute): CheckResult {
  const name = 'console-loglevel';
  if (route.via === 'auditd') return result(name, 'ok', 'not used: records go to auditd, not through printk');
  const path = join(procRoot, 'sys/kernel/printk');
  const text = readSetting(path);
  const levels = text?.split(/\s+/).map(Number) ?? [];
  if (levels.length !== 4 || levels.some((n) => !Number.isInteger(n))) {
    return result(name, 'warn', `cannot read the console log level from ${path} (${JSON.stringify(text)})`, 'check --proc-root');
  }
  const [console, ...rest] = levels as [number, number, number, number];
  if (console > AUDIT_PRINTK_LEVEL) {
    return result(name, 'warn', `kernel.printk console level ${console}: every record (level ${AUDIT_PRINTK_LEVEL}) is also written to the console, which slows the kernel down`,
      `sysctl -w kernel.printk="4 ${rest.join(' ')}"`);
  }
  return result(name, 'ok', `kernel.printk console level ${console}: records go to the kernel log, not to the console`);
}

/** A sysctl's value, trimmed, or null when it cannot be read. */
export function readSetting(path: string): string | null {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return null;
  }
}
