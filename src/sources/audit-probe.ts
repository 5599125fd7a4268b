import { canaryNeedle, canarySyscallNr } from './audit-canary.js';
import { auditNetlink, type AuditNetlinkAddon } from './audit-netlink.js';
import { AUDIT_MESSAGE_SECCOMP } from './audit-source.js';

/** What a short look at the kernel's audit multicast group found. */
export type AuditProbe =
  /** joined, and the canary's record arrived: every seccomp record will */
  | { state: 'works'; rcvbuf: number; rcvbufForced: boolean; latencyMs: number }
  /** joined, but the canary's record never came (another network namespace, audit=0 at boot...) */
  | { state: 'deaf'; rcvbuf: number; rcvbufForced: boolean; detail: string }
  /** joined; the canary could not run here (a seccomp filter of our own refuses seccomp()), so unproven */
  | { state: 'unproven'; rcvbuf: number; rcvbufForced: boolean; detail: string }
  /** could not join: no capability, no audit in this kernel, addon not built */
  | { state: 'refused'; code: string | null; detail: string };

/**
 * Joins the group, makes the canary's record (see AuditSource) and waits up to `timeoutMs` for
 * it, then leaves. For the daemon's choice of a default source and for the doctor: blocking,
 * but the record normally arrives in well under a millisecond.
 */
export function probeAuditChannel(options: { timeoutMs?: number; rcvbufBytes?: number; addon?: AuditNetlinkAddon } = {}): AuditProbe {
  let addon: AuditNetlinkAddon;
  try {
    addon = options.addon ?? auditNetlink();
  } catch (err) {
    return { state: 'refused', code: 'ADDON', detail: (err as Error).message };
  }
  let opened: ReturnType<AuditNetlinkAddon['open']>;
  try {
    opened = addon.open(options.rcvbufBytes ?? 1 << 20, 1 << 20);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { state: 'refused', code: e.code ?? null, detail: e.message };
  }
  const { handle, rcvbuf, forced } = opened;
  try {
    const nr = canarySyscallNr();
    if (nr === null) return { state: 'unproven', rcvbuf, rcvbufForced: forced, detail: `no canary on ${process.arch}` };
    const started = performance.now();
    const failed = addon.canary(nr);
    if (failed !== null) return { state: 'unproven', rcvbuf, rcvbufForced: forced, detail: `the canary could not run: ${failed}` };
    const needle = canaryNeedle();
    const buf = Buffer.allocUnsafe(1 << 20);
    const stats = new Float64Array(4);
    const deadline = started + (options.timeoutMs ?? 1000);
    for (let left = deadline - performance.now(); left > 0; left = deadline - performance.now()) {
      const n = addon.read(handle, buf, stats, Math.max(1, Math.ceil(left)));
      for (let off = 0; off + 16 <= n;) {
        const len = buf.readUInt32LE(off);
        const at = buf.indexOf(needle, off + 16);
        if (buf.readUInt16LE(off + 4) === AUDIT_MESSAGE_SECCOMP && at >= 0 && at < off + len) {
          return { state: 'works', rcvbuf, rcvbufForced: forced, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
        }
        off += (len + 3) & ~3;
      }
    }
    return { state: 'deaf', rcvbuf, rcvbufForced: forced, detail: `no canary record within ${options.timeoutMs ?? 1000} ms: not in the host's initial network namespace (Kubernetes: hostNetwork: true), or audit disabled at boot (audit=0), or "log" missing from /proc/sys/kernel/seccomp/actions_logged` };
  } finally {
    addon.close(handle);
  }
}
