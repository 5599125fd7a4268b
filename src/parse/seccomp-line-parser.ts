import { ABSENT } from '../types/seccomp-record.js';
import { parseInterpretedLine } from './interpreted-line.js';
import { parseJournalEntry, type JournalEntry } from './journal-entry.js';
import { Marker, MARKER_BYTES, MARKER_COUNT, typeMarkerAt } from './line-markers.js';
import { ParsedRecord } from './parsed-record.js';
import { parsePrefixTime } from './prefix-time.js';
import { parseRawFields } from './raw-fields.js';
import { parseCanonicalFields } from './canonical-fields.js';
import { Framing, framingOf, type RelayTrust } from './record-framing.js';
import { FramingTemplate } from './framing-template.js';
import type { ParseStats, RecordHandler } from './record-handler.js';

const SP = 0x20;
const LBRACE = 0x7b;
const EXCERPT_BYTES = 160;
const TRANSPORT_KERNEL = Buffer.from('"_TRANSPORT":"kernel"');
const TRANSPORT_AUDIT = Buffer.from('"_TRANSPORT":"audit"');

/**
 * Turns one line (or one kmsg record) into a seccomp record, a lost-records signal, a malformed
 * report, or nothing, in each form the kernel's records reach a node's logs: /dev/kmsg, dmesg,
 * syslog, auditd (raw, enriched, or enriched without its separator), journald (JSON, or its
 * syslog-style rendering when trusted) and `ausearch --interpret`. Only in the framing the kernel
 * (or auditd) writes: a record anywhere else on a line is counted as foreign (record-framing.ts).
 * Never throws on input.
 */
export class SeccompLineParser {
  readonly stats: ParseStats = { lines: 0, records: 0, skipped: 0, malformed: 0, lostSignals: 0, foreign: 0 };
  readonly #handler: RecordHandler;
  readonly #audisp: boolean;
  readonly #journalText: boolean;
  /** the last kernel line's accepted prefix: the next ones are checked against it, not parsed */
  readonly #template = new FramingTemplate();
  readonly #record = new ParsedRecord();
  readonly #now: () => number;
  /** the journal entry whose MESSAGE is being parsed, so the audit transport can take its stamp */
  #journalEntry: JournalEntry | null = null;
  #stampTime = 0;
  #stampSerial = 0;

  constructor(options: { handler: RecordHandler; now?: () => number; trust?: RelayTrust }) {
    this.#handler = options.handler;
    this.#now = options.now ?? Date.now;
    this.#audisp = options.trust?.audisp === true;
    this.#journalText = options.trust?.journalText === true;
  }

  /**
   * Parses the line in `b[start, end)`, finding its marker itself, for callers that hand over
   * one line at a time (a kmsg read, a followed file, stdin), in buffers that run on past the line.
   * Kernel and auditd lines are told by their first '=' (the one of `type=`) with one memchr;
   * only the rarer forms search for every marker, and within the line alone.
   */
  parseLine(b: Buffer, start: number, end: number, lineNo: number): void {
    const eq = b.indexOf(0x3d, start);
    if (eq >= start + 4 && eq < end) {
      const kind = typeMarkerAt(b, eq);
      if (kind >= 0) return this.parseMarked(b, start, end, kind, eq - 4, lineNo);
      // another record type (auditd's SYSCALL, PATH, ...; AppArmor's 1400): most of audit.log,
      // skipped on sight as the stream parser does; journald's JSON lines start with '{'
      if (b[eq - 1] === 0x65 && b[eq - 2] === 0x70 && b[eq - 3] === 0x79 && b[eq - 4] === 0x74 && b[start] !== LBRACE) {
        this.stats.lines++;
        this.stats.skipped++;
        return;
      }
    }
    const line = start === 0 && end === b.length ? b : b.subarray(start, end);
    let best = -1, bestAt = line.length;
    for (let m = 0; m < MARKER_COUNT; m++) {
      const at = line.indexOf(MARKER_BYTES[m]!);
      if (at >= 0 && at < bestAt) { best = m; bestAt = at; }
    }
    if (best < 0) { this.stats.lines++; this.stats.skipped++; return; }
    this.parseMarked(line, 0, line.length, best, bestAt, lineNo);
  }

  /** Parses a line whose first marker (kind `marker`, at `at`) the caller already found. */
  parseMarked(b: Buffer, start: number, end: number, marker: number, at: number, lineNo: number): void {
    this.stats.lines++;
    // `journalctl -o json`: the record sits JSON-escaped inside MESSAGE
    if (b[start] === LBRACE) return this.#journal(b, start, end, lineNo);
    // a /dev/kmsg continuation line (` KEY=value` dictionary) belongs to the record before it
    if (b[start] === SP) { this.stats.skipped++; return; }
    this.#body(b, start, end, marker, at, lineNo);
  }

  /**
   * The fast path for a kernel or auditd record line whose end is not known yet: parses from
   * the `type=` marker at `at` (kind `marker`) and, when the record is complete and in the
   * kernel's canonical shape and its line ends right after it, delivers it and returns the index
   * of the line's newline. Otherwise returns -1 having counted and delivered nothing, and the
   * caller takes the general path. This saves finding the newline before parsing.
   */
  tryRecordLine(b: Buffer, start: number, marker: number, at: number, limit: number, lineNo: number): number {
    // auditd's lines start with their record: only a kernel line's prefix needs reading, and
    // most often it has the last one's shape (a kernel record with no prefix at all is not
    // where the kernel writes it: #framed says so, as on the general path)
    if (!(at === start && marker === Marker.AuditdType) && !(marker === Marker.KernelType && this.#template.matches(b, start, at)) && !this.#framed(b, start, marker, at)) return -1;
    const open = stampOpen(b, at, marker);
    const fields = open < 0 ? -1 : this.#readStamp(b, open);
    if (fields < 0) return -1;
    const r = this.#record;
    r.resetForCanonical(b);
    r.time = this.#stampTime;
    r.serial = this.#stampSerial;
    let nl = parseCanonicalFields(b, fields, limit, r);
    if (nl < 0) return -1;
    if (b[nl] === 0x0d) nl++;
    if (b[nl] !== 0x0a) {
      // what auditd's ENRICHED format appends (0x1d and interpreted fields), which the general
      // path skips too: the record ends at its line's end
      const e = b.indexOf(0x0a, nl);
      if (e < 0 || e >= limit) return -1;
      nl = e;
    }
    this.stats.lines++;
    this.stats.records++;
    this.#handler.onRecord(r, lineNo);
    return nl;
  }

  /**
   * The audit netlink form: the kernel sends the record's body alone, `audit(SECS.MS:SERIAL):
   * fields`, and says it is a seccomp record by the message type (1326), so there is no marker
   * to look for. Only the kernel sends on that channel: no framing to check.
   */
  parseAuditBody(b: Buffer, start: number, end: number, lineNo: number): void {
    this.stats.lines++;
    const r = this.#record;
    r.reset(b);
    let reason: string | null;
    if (b[start] !== 0x61 || b[start + 1] !== 0x75 || b[start + 2] !== 0x64 || b[start + 3] !== 0x69 || b[start + 4] !== 0x74 || b[start + 5] !== 0x28) {
      reason = 'missing audit() timestamp';
    } else {
      const fields = this.#readStamp(b, start + 6);
      if (fields < 0) {
        reason = 'bad audit() timestamp';
      } else {
        r.time = this.#stampTime;
        r.serial = this.#stampSerial;
        if (parseCanonicalFields(b, fields, end, r) >= 0) reason = null;
        else {
          r.reset(b);
          r.time = this.#stampTime;
          r.serial = this.#stampSerial;
          reason = parseRawFields(b, fields, end, r);
        }
      }
    }
    if (reason === null) {
      this.stats.records++;
      this.#handler.onRecord(r, lineNo);
    } else {
      this.#malformed(b, start, end, lineNo, reason);
    }
  }

  #body(b: Buffer, start: number, end: number, marker: number, at: number, lineNo: number): void {
    if (!this.#framed(b, start, marker, at)) {
      this.stats.foreign++;
      return;
    }
    const r = this.#record;
    r.reset(b);
    let reason: string | null;
    switch (marker) {
      case Marker.KernelType:
        reason = this.#stamped(b, at, end, marker);
        break;
      case Marker.AuditdType:
        reason = this.#stamped(b, at, end, marker);
        break;
      case Marker.JournalAudit: {
        // `SECCOMP auid=`: the stamp lives in the journal's fields, or only in the line's prefix
        reason = parseRawFields(b, at + 8, end, r);
        const entry = this.#journalEntry;
        if (entry !== null) {
          r.time = entry.time ?? ABSENT;
          r.serial = entry.serial ?? ABSENT;
        } else if (reason === null) {
          r.time = parsePrefixTime(b.toString('latin1', start, at), this.#now()) ?? ABSENT;
        }
        break;
      }
      default:
        return this.#signal(b, marker, at, end, lineNo);
    }
    if (reason === null) {
      this.stats.records++;
      this.#handler.onRecord(r, lineNo);
    } else {
      this.#malformed(b, start, end, lineNo, reason);
    }
  }

  /**
   * Whether the record (marker `marker` at `at`) of the line starting at `start` stands where
   * its writer puts it: at the start of the message of a frame only that writer makes.
   */
  #framed(b: Buffer, start: number, marker: number, at: number): boolean {
    const inJournal = this.#journalEntry !== null;
    const kernelKind = marker === Marker.KernelType || marker >= Marker.PrintkSuppressed;
    if (kernelKind && !inJournal && this.#template.matches(b, start, at)) return true;
    let record = at;
    if (marker === Marker.KernelType || marker === Marker.AuditLost || marker === Marker.BacklogExceeded || marker === Marker.RateLimitExceeded) {
      // the kernel prints these as `audit: ...`
      record = at - 7;
      if (record < start || b[record] !== 0x61 || b[record + 1] !== 0x75 || b[record + 2] !== 0x64 || b[record + 3] !== 0x69 ||
        b[record + 4] !== 0x74 || b[record + 5] !== 0x3a || b[record + 6] !== SP) return false;
    }
    const framing = framingOf(b, start, record);
    // a journal entry's MESSAGE (its transport checked already) is the writer's text itself
    if (inJournal) return framing === Framing.Bare && marker !== Marker.JournalAuditType;
    switch (marker) {
      case Marker.KernelType:
      case Marker.PrintkSuppressed:
      case Marker.AuditLost:
      case Marker.BacklogExceeded:
      case Marker.RateLimitExceeded:
        if (framing === Framing.Bare || framing === Framing.Kmsg || framing === Framing.Dmesg || framing === Framing.SyslogKernel) {
          // with the `audit: ` before the marker, which the template then checks too; not a
          // prefix with a priority (kmsg, `dmesg -r`), whose digit is the facility: `<9>` is user
          if (framing === Framing.SyslogKernel || (framing === Framing.Dmesg && b[start] === 0x5b)) this.#template.remember(b, start, at);
          return true;
        }
        return false;
      case Marker.AuditdType:
        return framing === Framing.Bare || framing === Framing.AuditdNode || (framing === Framing.SyslogAudisp && this.#audisp);
      case Marker.JournalAudit:
        return this.#journalText && (framing === Framing.SyslogJournalAudit || framing === Framing.Bare);
      default:
        // `"_AUDIT_TYPE":"1326"` outside a journal entry
        return false;
    }
  }

  /** `audit(SECS.MS:SERIAL): fields` after the type marker; or the interpreted rendering. */
  #stamped(b: Buffer, at: number, end: number, marker: number): string | null {
    const open = stampOpen(b, at, marker);
    if (open < 0) return 'missing audit() timestamp';
    const fields = this.#readStamp(b, open);
    if (fields < 0) return this.#notRaw(b, open, end);
    const r = this.#record;
    r.time = this.#stampTime;
    r.serial = this.#stampSerial;
    if (parseCanonicalFields(b, fields, end, r) >= 0) return null;
    r.reset(b);
    r.time = this.#stampTime;
    r.serial = this.#stampSerial;
    return parseRawFields(b, fields, end, r);
  }

  /**
   * Reads `SECS.MS:SERIAL): ` at `p` into #stampTime and #stampSerial (slots, not a result
   * object: this runs per record) and returns where the fields start, or -1.
   */
  #readStamp(b: Buffer, p: number): number {
    let secs = 0, q = p, d = 0;
    while ((d = b[q]! - 0x30) >= 0 && d <= 9) { secs = secs * 10 + d; q++; }
    if (q === p || b[q] !== 0x2e) return -1;
    q++;
    let ms = 0, digits = 0;
    while ((d = b[q]! - 0x30) >= 0 && d <= 9) {
      if (digits < 3) ms = ms * 10 + d;
      digits++;
      q++;
    }
    if (digits === 0 || b[q] !== 0x3a) return -1;
    while (digits++ < 3) ms *= 10;
    q++;
    let serial = 0;
    const serialStart = q;
    while ((d = b[q]! - 0x30) >= 0 && d <= 9) { serial = serial * 10 + d; q++; }
    if (q === serialStart || b[q] !== 0x29 || b[q + 1] !== 0x3a) return -1;
    this.#stampTime = secs * 1000 + ms;
    this.#stampSerial = serial;
    return b[q + 2] === SP ? q + 3 : q + 2;
  }

  /** A stamp that is not `SECS.MS:SERIAL`: ausearch --interpret's local date, or broken. */
  #notRaw(b: Buffer, p: number, end: number): string | null {
    return isLocalDate(b, p, end) ? parseInterpretedLine(b, p, end, this.#record) : 'bad audit() timestamp';
  }

  /**
   * `journalctl -o json`: only the kernel transport (MESSAGE the printk text, of the kernel's
   * facility) and the audit transport (MESSAGE `SECCOMP ...`) carry the kernel's records; a
   * program's message (syslog, stdout, journal transports) or any other JSON (a container's log)
   * that quotes one is foreign. An unescaped `"_TRANSPORT":"..."` cannot occur inside a JSON
   * string, so a line without one is told without parsing it.
   */
  #journal(b: Buffer, start: number, end: number, lineNo: number): void {
    const line = start === 0 && end === b.length ? b : b.subarray(start, end);
    if (line.indexOf(TRANSPORT_KERNEL) < 0 && line.indexOf(TRANSPORT_AUDIT) < 0) { this.stats.foreign++; return; }
    const entry = parseJournalEntry(b.toString('utf8', start, end));
    if ('error' in entry) return this.#malformed(b, start, end, lineNo, entry.error);
    const m = entry.message;
    let marker = -1, at = m.length;
    for (let i = 0; i < MARKER_COUNT; i++) {
      const found = m.indexOf(MARKER_BYTES[i]!);
      if (found >= 0 && found < at) { marker = i; at = found; }
    }
    // the outer line matched a marker in another field (e.g. _AUDIT_FIELD_*): not a record
    if (marker < 0) { this.stats.skipped++; return; }
    // journald keeps the facility of what /dev/kmsg gave it: a user's `echo > /dev/kmsg` is kernel
    // transport too, but never of facility 0
    const kernel = entry.transport === 'kernel' && (entry.facility === null || entry.facility === 0) &&
      (marker === Marker.KernelType || marker >= Marker.PrintkSuppressed);
    const audit = entry.transport === 'audit' && marker === Marker.JournalAudit;
    if (!kernel && !audit) { this.stats.foreign++; return; }
    this.#journalEntry = entry;
    try {
      this.#body(m, 0, m.length, marker, at, lineNo);
    } finally {
      this.#journalEntry = null;
    }
  }

  #signal(b: Buffer, marker: number, at: number, end: number, lineNo: number): void {
    let count = 1;
    if (marker === Marker.PrintkSuppressed || marker === Marker.AuditLost) {
      let q = at + MARKER_BYTES[marker]!.length;
      const from = q;
      count = 0;
      for (; q < end; q++) {
        const d = b[q]! - 0x30;
        if (d < 0 || d > 9) break;
        count = count * 10 + d;
      }
      if (q === from) { this.#malformed(b, at, end, lineNo, 'lost-records signal without a number'); return; }
    }
    this.stats.lostSignals++;
    this.#handler.onLostSignal(SIGNAL_KINDS[marker - Marker.PrintkSuppressed]!, count, lineNo);
  }

  #malformed(b: Buffer, start: number, end: number, lineNo: number, reason: string): void {
    this.stats.malformed++;
    this.#handler.onMalformed(lineNo, reason, b.toString('utf8', start, Math.min(end, start + EXCERPT_BYTES)));
  }
}

const SIGNAL_KINDS = ['printk_suppressed', 'audit_lost', 'backlog_exceeded', 'rate_limit_exceeded'] as const;

/**
 * ausearch --interpret prints a local date (`06/08/2015`, `08.06.2015`, `2015-06-08`, by locale)
 * where the raw form has epoch seconds, which are never followed by '/', '-' or a second '.'.
 */
function isLocalDate(b: Buffer, p: number, end: number): boolean {
  let q = p;
  while (q < end && q - p < 5 && b[q]! >= 0x30 && b[q]! <= 0x39) q++;
  const n = q - p;
  const sep = b[q];
  if (n === 2 && sep === 0x2f) return true;
  if (n === 4 && sep === 0x2d) return true;
  return n === 2 && sep === 0x2e && b[q + 3] === 0x2e;
}

/**
 * Where the stamp's digits start after a `type=1326 ` / `type=SECCOMP ` marker at `at`:
 * `audit(` or auditd's `msg=audit(` must follow. -1 when they do not.
 */
function stampOpen(b: Buffer, at: number, marker: number): number {
  let p = marker === Marker.KernelType ? at + 10 : at + 13;
  if (marker === Marker.AuditdType) {
    if (b[p] !== 0x6d || b[p + 1] !== 0x73 || b[p + 2] !== 0x67 || b[p + 3] !== 0x3d) return -1;
    p += 4;
  }
  if (b[p] !== 0x61 || b[p + 1] !== 0x75 || b[p + 2] !== 0x64 || b[p + 3] !== 0x69 || b[p + 4] !== 0x74 || b[p + 5] !== 0x28) return -1;
  return p + 6;
}
