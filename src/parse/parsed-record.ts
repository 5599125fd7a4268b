import { ABSENT, type SeccompAction, type SeccompRecordData, type SeccompRecordView } from '../types/seccomp-record.js';
import { decodeAuditString } from './audit-string.js';
import { LastDecoded } from './last-decoded.js';
import { parseRawFields } from './raw-fields.js';

/**
 * The parser's reusable record. Numbers are parsed in place; the string fields are kept as byte
 * ranges into the buffer they came from and decoded only when asked, because most records repeat
 * a (container, syscall) already seen and never need their comm or exe as a string.
 */
export class ParsedRecord implements SeccompRecordView {
  time = ABSENT;
  serial = ABSENT;
  pid = ABSENT;
  // auid, uid, gid, ses and subj may be read lazily (see canonical-fields.ts): parsers write
  // these slots, readers go through the getters
  uidValue = ABSENT;
  gidValue = ABSENT;
  auidValue = ABSENT;
  sesValue = ABSENT;
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
  /** When not ABSENT, `buf[headFrom, headEnd)` (auid= to subj=) has not been read yet. */
  headFrom = ABSENT;
  headEnd = ABSENT;

  get uid(): number { if (this.headFrom !== ABSENT) this.#readHead(); return this.uidValue; }
  get gid(): number { if (this.headFrom !== ABSENT) this.#readHead(); return this.gidValue; }
  get auid(): number { if (this.headFrom !== ABSENT) this.#readHead(); return this.auidValue; }
  get ses(): number { if (this.headFrom !== ABSENT) this.#readHead(); return this.sesValue; }

  #readHead(): void {
    const from = this.headFrom, end = this.headEnd;
    this.headFrom = ABSENT;
    // the general reader; it also reports the fields this part lacks (pid, arch...), which are
    // read already, so its verdict is not wanted here
    parseRawFields(this.buf as Buffer, from, end, this);
    // subj is the head's last field and may hold spaces: it runs to the head's end
    if (this.subjStart !== ABSENT) this.subjEnd = end;
  }

  reset(buf: Uint8Array): void {
    this.time = ABSENT;
    this.serial = ABSENT;
    this.pid = ABSENT;
    this.uidValue = ABSENT;
    this.gidValue = ABSENT;
    this.auidValue = ABSENT;
    this.sesValue = ABSENT;
    this.headFrom = ABSENT;
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
    this.uidValue = ABSENT;
    this.gidValue = ABSENT;
    this.auidValue = ABSENT;
    this.sesValue = ABSENT;
    this.plainStrings = false;
  }

  readonly #lastComm = new LastDecoded();
  readonly #lastExe = new LastDecoded();

  comm(): string | null {
    return this.commStart === ABSENT ? null : this.#lastComm.get(this.buf, this.commStart, this.commEnd, this.plainStrings, this.plainStrings ? utf8 : decodeAuditString);
  }

  exe(): string | null {
    return this.exeStart === ABSENT ? null : this.#lastExe.get(this.buf, this.exeStart, this.exeEnd, this.plainStrings, this.plainStrings ? utf8 : decodeAuditString);
  }

  subj(): string | null {
    if (this.headFrom !== ABSENT) this.#readHead();
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

}

const EMPTY = new Uint8Array(0);

function orNull(n: number): number | null {
  return n === ABSENT ? null : n;
}

function utf8(buf: Uint8Array, start: number, end: number): string {
  return Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8');
}
