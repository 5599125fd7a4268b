/**
 * The byte strings that make a line worth parsing. Every other line is skipped after one
 * comparison (see RecordStreamParser), so the list is the whole definition of "interesting".
 */
export const enum Marker {
  /** `audit: type=1326 audit(...)`: the kernel's printk form (kmsg, dmesg, syslog, journald kernel transport). */
  KernelType = 0,
  /** `type=SECCOMP msg=audit(...)`: auditd's log, raw, enriched, or `ausearch --interpret`. */
  AuditdType = 1,
  /** `SECCOMP auid=`: journald's audit transport (`audit[PID]: SECCOMP auid=...`). */
  JournalAudit = 2,
  /**
   * `"_AUDIT_TYPE":"1326"`: a journal JSON entry of the audit transport, found even when its
   * MESSAGE is an array of bytes (journald's form for text that is not UTF-8).
   */
  JournalAuditType = 3,
  /** `kauditd_printk_skb: N callbacks suppressed` */
  PrintkSuppressed = 4,
  /** `audit: audit_lost=N audit_rate_limit=N audit_backlog_limit=N` */
  AuditLost = 5,
  /** `audit: backlog limit exceeded` */
  BacklogExceeded = 6,
  /** `audit: rate limit exceeded` */
  RateLimitExceeded = 7,
}

export const MARKER_BYTES: readonly Buffer[] = [
  Buffer.from('type=1326 '),
  Buffer.from('type=SECCOMP '),
  Buffer.from('SECCOMP auid='),
  Buffer.from('"_AUDIT_TYPE":"1326"'),
  Buffer.from('kauditd_printk_skb: '),
  Buffer.from('audit_lost='),
  Buffer.from('backlog limit exceeded'),
  Buffer.from('rate limit exceeded'),
];

export const MARKER_COUNT = MARKER_BYTES.length;

/**
 * When the byte at `eq` is the '=' of `type=1326 ` or `type=SECCOMP `, the marker's kind; else -1.
 * In the kernel's and auditd's forms that '=' is the first one on the line.
 */
export function typeMarkerAt(b: Uint8Array, eq: number): number {
  if (eq < 4 || b[eq - 4] !== 0x74 || b[eq - 3] !== 0x79 || b[eq - 2] !== 0x70 || b[eq - 1] !== 0x65) return -1;
  const c = b[eq + 1];
  if (c === 0x31) {
    return b[eq + 2] === 0x33 && b[eq + 3] === 0x32 && b[eq + 4] === 0x36 && b[eq + 5] === 0x20 ? Marker.KernelType : -1;
  }
  if (c === 0x53) {
    return b[eq + 2] === 0x45 && b[eq + 3] === 0x43 && b[eq + 4] === 0x43 && b[eq + 5] === 0x4f && b[eq + 6] === 0x4d &&
      b[eq + 7] === 0x50 && b[eq + 8] === 0x20 ? Marker.AuditdType : -1;
  }
  return -1;
}
