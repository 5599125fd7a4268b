import { ABSENT, type SeccompAction, type SeccompRecordData, type SeccompRecordView } from '../types/seccomp-record.js';
import { decodeAuditString } from './audit-string.js';

/**
 * The parser's reusable record. Numbers are parsed in place; the string fields are kept as byte
 * ranges into the buffer they came from and decoded only when asked, because most records repeat
 * a (container, syscall) already seen and never need their comm or exe as a string.
 */
export class ParsedRecord implements SeccompRecordView {
  time = ABSENT;
  serial = ABSENT;
  pid = ABSENT;
  uid = ABSENT;
  gid = ABSENT;
  auid = ABSENT;
  ses = ABSENT;
  sig = ABSENT;
  auditArch = ABSENT;
  syscallNr = ABSENT;
  compat = ABSENT;
  code = ABSENT;
  action: SeccompAction = 'unknown';

  buf: Uint8Array = EMPTY;
  commStart = ABSENT;
  commEnd = ABSENT;
  exeStart = ABSENT;
  exeEnd = ABSENT;
  subjStart = ABSENT;
  subjEnd = ABSENT;
  ipStart = ABSENT;
  ipEnd = ABSENT;
  /** Set when the strings come from an interpreted rendering (plain text, never hex). */
  plainStrings = false;

  reset(buf: Uint8Array): void {
    this.time = ABSENT;
    this.serial = ABSENT;
    this.pid = ABSENT;
    this.uid = ABSENT;
    this.gid = ABSENT;
    this.auid = ABSENT;
    this.ses = ABSENT;
    this.sig = ABSENT;
    this.auditArch = ABSENT;
    this.syscallNr = ABSENT;
    this.compat = ABSENT;
    this.code = ABSENT;
    this.action = 'unknown';
    this.buf = buf;
    this.commStart = ABSENT;
    this.exeStart = ABSENT;
    this.subjStart = ABSENT;
    this.ipStart = ABSENT;
    this.plainStrings = false;
  }

  /**
   * The part of reset() the canonical reader needs: it writes every other field itself. Per
   * record, so it writes only what would otherwise be stale.
   */
  resetForCanonical(buf: Uint8Array): void {
    this.buf = buf;
    this.subjStart = ABSENT;
    this.plainStrings = false;
  }

  comm(): string | null {
    return this.#text(this.commStart, this.commEnd);
  }

  exe(): string | null {
    return this.#text(this.exeStart, this.exeEnd);
  }

  subj(): string | null {
    return this.subjStart === ABSENT ? null : utf8(this.buf, this.subjStart, this.subjEnd);
  }

  ip(): string | null {
    return this.ipStart === ABSENT ? null : utf8(this.buf, this.ipStart, this.ipEnd);
  }

  snapshot(): SeccompRecordData {
    return {
      time: orNull(this.time),
      serial: orNull(this.serial),
      pid: orNull(this.pid),
      uid: orNull(this.uid),
      gid: orNull(this.gid),
      auid: orNull(this.auid),
      ses: orNull(this.ses),
      sig: orNull(this.sig),
      auditArch: orNull(this.auditArch),
      syscallNr: orNull(this.syscallNr),
      compat: this.compat === ABSENT ? null : this.compat !== 0,
      code: orNull(this.code),
      action: this.action,
      comm: this.comm(),
      exe: this.exe(),
      subj: this.subj(),
      ip: this.ip(),
    };
  }

  #text(start: number, end: number): string | null {
    if (start === ABSENT) return null;
    if (this.plainStrings) return utf8(this.buf, start, end);
    return decodeAuditString(this.buf, start, end);
  }
}

const EMPTY = new Uint8Array(0);

function orNull(n: number): number | null {
  return n === ABSENT ? null : n;
}

function utf8(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
}
