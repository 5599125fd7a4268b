/**
 * Who wrote a record line, read from what stands before the record on it. A seccomp record only
 * counts when the kernel (or auditd, which relays the kernel) put it there: an nginx access log
 * whose User-Agent holds `audit: type=1326 ... pid=<victim> ... syscall=165` must not teach a pod
 * `mount`. Every writer frames its lines, and only the framing's first fields are out of a
 * logging user's reach: a record counts when it starts the message of such a frame, never
 * somewhere inside another program's message.
 *
 * Byte scans over the few bytes before the record, no strings: this runs for every record line.
 */
export const enum Framing {
  /** The record starts the line: `dmesg -t`, `journalctl -o cat`, auditd's log, a JSON MESSAGE. */
  Bare = 0,
  /** /dev/kmsg's `PRI,SEQ,USEC,FLAGS;` with the kernel's facility (PRI < 8). */
  Kmsg = 1,
  /** dmesg's `[  123.456] `, after `<PRI>` of the kernel's facility (`dmesg -r`), before a caller id `[  T55] `. */
  Dmesg = 2,
  /** A syslog line (BSD or RFC 3339 time, host) tagged `kernel:`, with an optional `[  123.456] `. */
  SyslogKernel = 3,
  /** A syslog line tagged `audisp-syslog:` or `audispd:` (auditd's records relayed). */
  SyslogAudisp = 4,
  /** A syslog-style line tagged `audit[PID]:`: journalctl's rendering of the audit transport. */
  SyslogJournalAudit = 5,
  /** auditd's `node=NAME ` (its name_format setting). */
  AuditdNode = 6,
  /** Anything else: the record sits inside text another writer chose. */
  Foreign = 7,
}

const SP = 0x20;
const isDigit = (c: number | undefined): boolean => c !== undefined && c >= 0x30 && c <= 0x39;

/**
 * The framing of the line that starts at `start` and whose record starts at `record`.
 *
 * Limits, by the nature of each file: a local user can write a `kernel:` line into a plain syslog
 * file (`logger -t kernel`: only the facility, which the file does not show, tells it apart), and
 * a `[  123.456] ` line into what `dmesg` prints (`echo > /dev/kmsg` as root, facility user, which
 * plain `dmesg` does not show). /dev/kmsg (its facility is checked), the audit socket, auditd's
 * log and the journal's transports are out of such a user's reach.
 */
export function framingOf(b: Uint8Array, start: number, record: number): Framing {
  if (record === start) return Framing.Bare;
  let p = start;
  const c = b[p]!;
  if (isDigit(c)) {
    let pri = 0;
    while (p < record && isDigit(b[p])) pri = pri * 10 + b[p++]! - 0x30;
    // /dev/kmsg: the header ends at the first ';' and the message follows it; the kernel forces
    // the user facility on whatever user space writes to /dev/kmsg
    if (b[p] === 0x2c) {
      if (pri >= 8) return Framing.Foreign;
      while (p < record && b[p] !== 0x3b && b[p] !== SP) p++;
      return b[p] === 0x3b && p + 1 === record ? Framing.Kmsg : Framing.Foreign;
    }
    // RFC 3339 or `journalctl -o short-unix`: one token
    const tag = kernelTagBefore(b, start, record);
    if (tag >= 0) return b[start + 1] !== SP && spaceRuns(b, start, tag) === 2 ? Framing.SyslogKernel : Framing.Foreign;
    p = skipToken(b, start, record);
    return p < 0 ? Framing.Foreign : syslogTag(b, p, record);
  }
  if (c === 0x3c) {
    // `dmesg -r`: the raw priority, facility included
    let pri = 0;
    p++;
    const from = p;
    while (p < record && isDigit(b[p])) pri = pri * 10 + b[p++]! - 0x30;
    if (p === from || b[p] !== 0x3e || pri >= 8) return Framing.Foreign;
    p++;
    if (b[p] !== 0x5b) return Framing.Foreign;
    p = kernelTime(b, p, record);
    return p < 0 ? Framing.Foreign : afterKernelTime(b, p, record);
  }
  if (c === 0x5b) {
    const q = kernelTime(b, p, record);
    if (q >= 0) {
      const dmesg = afterKernelTime(b, q, record);
      if (dmesg === Framing.Dmesg) return dmesg;
    }
    // `journalctl -o short-monotonic`: `[  123.456789] host tag: ...`
    p = closeBracket(b, p, record);
    return p < 0 || b[p] !== SP ? Framing.Foreign : syslogTag(b, p + 1, record);
  }
  if (c >= 0x41 && c <= 0x5a) {
    // BSD syslog time `Jul  6 15:37:40 `: month, day (space-padded), time
    const tag = kernelTagBefore(b, start, record);
    if (tag >= 0) return b[start + 3] === SP && spaceRuns(b, start, tag) === 4 ? Framing.SyslogKernel : Framing.Foreign;
    p += 3;
    if (b[p] !== SP) return Framing.Foreign;
    while (p < record && b[p] === SP) p++;
    if (!isDigit(b[p])) return Framing.Foreign;
    while (p < record && isDigit(b[p])) p++;
    if (b[p] !== SP) return Framing.Foreign;
    p = skipToken(b, p + 1, record);
    return p < 0 ? Framing.Foreign : syslogTag(b, p, record);
  }
  if (startsWith(b, p, NODE)) {
    const q = skipToken(b, p, record);
    return q === record ? Framing.AuditdNode : Framing.Foreign;
  }
  return Framing.Foreign;
}

const NODE = Buffer.from('node=');
const KERNEL = Buffer.from('kernel: ');
const AUDISP_SYSLOG = Buffer.from('audisp-syslog');
const AUDISPD = Buffer.from('audispd');
const AUDIT = Buffer.from('audit[');

/**
 * The common case first, read backwards from the record: where `kernel: ` starts when it (and
 * the kernel's `[  123.456] ` after it) stands right before the record, else -1.
 */
function kernelTagBefore(b: Uint8Array, start: number, record: number): number {
  let p = record;
  if (b[p - 1] === SP && b[p - 2] === 0x5d) {
    p -= 3;
    while (p > start && isDigit(b[p])) p--;
    if (b[p] !== 0x2e) return -1;
    p--;
    const whole = p;
    while (p > start && isDigit(b[p])) p--;
    if (p === whole) return -1;
    while (p > start && b[p] === SP) p--;
    if (b[p] !== 0x5b) return -1;
  }
  p -= 8;
  return p > start && b[p] === 0x6b && b[p + 1] === 0x65 && b[p + 2] === 0x72 && b[p + 3] === 0x6e && b[p + 4] === 0x65 &&
    b[p + 5] === 0x6c && b[p + 6] === 0x3a && b[p + 7] === SP ? p : -1;
}

/**
 * Runs of spaces in `b[start, end)`, `b[start]` not a space: how many fields stand before a
 * syslog tag at `end`. A user's message comes after the syslog daemon's fields and the user's
 * own tag, so a `kernel: ` inside it has more fields before it than the daemon writes.
 */
function spaceRuns(b: Uint8Array, start: number, end: number): number {
  let runs = 0;
  for (let q = start + 1; q < end; q++) if (b[q] === SP && b[q - 1] !== SP) runs++;
  return runs;
}

/** After the time, at `p`: the host, one token, then the tag, which decides. */
function syslogTag(b: Uint8Array, p: number, record: number): Framing {
  if (p >= record || b[p] === SP) return Framing.Foreign;
  p = skipToken(b, p, record);
  if (p < 0) return Framing.Foreign;
  if (startsWith(b, p, KERNEL)) {
    p += KERNEL.length;
    if (p === record) return Framing.SyslogKernel;
    // the kernel's own time, as rsyslog's imklog keeps it
    if (b[p] !== 0x5b) return Framing.Foreign;
    p = kernelTime(b, p, record);
    return p === record ? Framing.SyslogKernel : Framing.Foreign;
  }
  if (startsWith(b, p, AUDIT)) {
    p = closeBracket(b, p + AUDIT.length - 1, record, true);
    return p >= 0 && b[p] === 0x3a && b[p + 1] === SP && p + 2 === record ? Framing.SyslogJournalAudit : Framing.Foreign;
  }
  const name = startsWith(b, p, AUDISP_SYSLOG) ? AUDISP_SYSLOG.length : startsWith(b, p, AUDISPD) ? AUDISPD.length : 0;
  if (name === 0) return Framing.Foreign;
  p += name;
  if (b[p] === 0x5b) p = closeBracket(b, p, record, true);
  if (p < 0 || b[p] !== 0x3a || b[p + 1] !== SP) return Framing.Foreign;
  p += 2;
  if (p !== record && startsWith(b, p, NODE)) p = skipToken(b, p, record);
  return p === record ? Framing.SyslogAudisp : Framing.Foreign;
}

/** After dmesg's time (at `p`): the record, or a caller id `[  T55] ` / `[   C1] ` and then the record. */
function afterKernelTime(b: Uint8Array, p: number, record: number): Framing {
  if (p === record) return Framing.Dmesg;
  if (b[p] !== 0x5b) return Framing.Foreign;
  let q = p + 1;
  while (q < record && b[q] === SP) q++;
  if (b[q] !== 0x54 && b[q] !== 0x43) return Framing.Foreign;
  q++;
  const from = q;
  while (q < record && isDigit(b[q])) q++;
  return q > from && b[q] === 0x5d && b[q + 1] === SP && q + 2 === record ? Framing.Dmesg : Framing.Foreign;
}

/** `[  123.456789] ` at `p` (the kernel's time since boot): where what follows starts, or -1. */
function kernelTime(b: Uint8Array, p: number, record: number): number {
  let q = p + 1;
  while (q < record && b[q] === SP) q++;
  const from = q;
  while (q < record && isDigit(b[q])) q++;
  if (q === from || b[q] !== 0x2e) return -1;
  q++;
  const frac = q;
  while (q < record && isDigit(b[q])) q++;
  return q > frac && b[q] === 0x5d && b[q + 1] === SP ? q + 2 : -1;
}

/** `[...]` at `p`: the index after `]`, or -1; `digits` only digits inside. */
function closeBracket(b: Uint8Array, p: number, record: number, digits = false): number {
  let q = p + 1;
  while (q < record && b[q] !== 0x5d) {
    if (digits ? !isDigit(b[q]) : b[q] === 0x5b) return -1;
    q++;
  }
  return q < record && q > p + 1 ? q + 1 : -1;
}

/** A token (no spaces) at `p` and the one space after it: where the next one starts, or -1. */
function skipToken(b: Uint8Array, p: number, record: number): number {
  const from = p;
  while (p < record && b[p] !== SP) p++;
  return p > from && p < record ? p + 1 : -1;
}

function startsWith(b: Uint8Array, p: number, word: Uint8Array): boolean {
  for (let i = 0; i < word.length; i++) if (b[p + i] !== word[i]) return false;
  return true;
}

/**
 * Relays a source may be told to trust. Both are off by default: each relays records the kernel
 * wrote, but in a plain syslog file any local user can write a line with the same tag
 * (`logger -t audisp-syslog 'type=SECCOMP msg=audit(...'`, `logger -t 'audit[1]' 'SECCOMP ...'`),
 * so only whoever knows that the file has no other writers (a remote log host's file of audisp's
 * relays, a saved `journalctl` output) may say so.
 */
export interface RelayTrust {
  /** auditd's records relayed by audisp's syslog plugin: `audisp-syslog: type=SECCOMP msg=audit(...` */
  audisp?: boolean;
  /** journalctl's syslog-style rendering of the audit transport: `audit[PID]: SECCOMP auid=...` */
  journalText?: boolean;
}
