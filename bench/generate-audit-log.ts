import { openSync, writeSync, closeSync } from 'node:fs';

/**
 * Writes a synthetic node log for benchmarks: seccomp records in the forms nodes produce
 * (syslog-prefixed printk, auditd raw), across `processes` processes and a realistic syscall
 * mix, with a share of unrelated lines that must be skipped. Deterministic for a given size.
 */
/**
 * `form`: each record in syslog form, auditd's RAW form, auditd's ENRICHED form (Debian's
 * default: interpreted fields after a 0x1d byte), or alternating syslog and RAW (a mixed copy).
 */
export function generateAuditLog(path: string, lines: number, options: { otherShare?: number; processes?: number; form?: 'syslog' | 'auditd' | 'enriched' | 'mixed' } = {}): number {
  const form = options.form ?? 'mixed';
  const otherShare = options.otherShare ?? 0.1;
  const processes = options.processes ?? 48;
  // A server-like mix: I/O, polling, futexes and memory calls dominate; a fork (clone 56,
  // clone3 435), an exec (59) or an exit (60, 231) is about one record in a hundred.
  const common = [0, 1, 3, 9, 10, 11, 12, 13, 14, 16, 17, 21, 39, 61, 72, 202, 257, 262, 270, 288, 318, 334];
  const rare = [56, 59, 60, 231, 435];
  const syscalls = [...Array.from({ length: 20 }, () => common).flat(), ...rare];
  const fd = openSync(path, 'w');
  let bytes = 0;
  let serial = 1000;
  const parts: string[] = [];
  let x = 12345;
  const rand = (n: number): number => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % n;
  };
  for (let i = 0; i < lines; i++) {
    const secs = 1795759595 + Math.floor(i / 5000);
    if (rand(1000) < otherShare * 1000) {
      parts.push(`Nov 27 07:21:26 node-1 kubelet[812]: I1127 07:21:26.123456  812 kubelet.go:2345] "SyncLoop (probe)" probe="readiness" status="ready" pod="default/web-${i % 97}"\n`);
    } else {
      const pid = 20000 + rand(processes) * 7;
      const nr = syscalls[rand(syscalls.length)]!;
      const fields = `auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${pid} comm="worker-${pid % 13}" exe="/usr/local/bin/app-${pid % 13}" sig=0 arch=c000003e syscall=${nr} compat=0 ip=0x7f3c012e467b code=0x7ffc0000`;
      serial++;
      parts.push((form === 'mixed' ? i % 2 === 0 : form === 'syslog')
        ? `Nov 27 07:21:26 node-1 kernel: [  270.853767] audit: type=1326 audit(${secs}.502:${serial}): ${fields}\n`
        : form === 'enriched'
          // what Debian's auditd 3.0.9 appends in its default ENRICHED format (measured)
          ? `type=SECCOMP msg=audit(${secs}.502:${serial}): ${fields}\x1dAUID="unset" UID="root" GID="root" ARCH=x86_64 SYSCALL=unknown-syscall(-1)\n`
          : `type=SECCOMP msg=audit(${secs}.502:${serial}): ${fields}\n`);
    }
    if (parts.length === 4096 || i === lines - 1) {
      const chunk = parts.join('');
      bytes += writeSync(fd, chunk);
      parts.length = 0;
    }
  }
  closeSync(fd);
  return bytes;
}
