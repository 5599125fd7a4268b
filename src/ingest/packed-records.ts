import { ParsedRecord } from '../parse/parsed-record.js';
import type { RecordHandler } from '../parse/record-handler.js';
import { grown } from '../types/typed-arrays.js';
import { SECCOMP_ACTIONS, type LostSignalKind, type SeccompRecordView } from '../types/seccomp-record.js';

/**
 * What the parse thread found in one chunk of input, for the thread that attributes and
 * aggregates: per entry the record's numbers and the byte ranges of its strings, in typed arrays
 * whose buffers are transferred, and the chunk itself (transferred too), which the ranges point
 * into. No string is decoded and nothing is copied per record: the receiving thread loads each
 * entry into a ParsedRecord, which decodes a comm or exe only when asked, as on one thread.
 *
 * A record of a line that does not lie in the chunk (one carried over from the previous chunk,
 * a journal entry's decoded message) points into a copy of its line in `extras` instead.
 * Lost-record signals keep their place among the records: where a loss begins and ends is read
 * from the records around it.
 */
export interface PackedRecords {
  count: number;
  /** the chunk the ranges of most entries point into (empty when none does) */
  chunk: ArrayBuffer;
  /** lines that are not in the chunk, for the entries that point into them */
  extras: Uint8Array[];
  /** per entry, NUMBERS numbers (see the N_ offsets); a signal's count in its first */
  numbers: Float64Array;
  /** per entry, RANGES integers (see the R_ offsets) */
  ranges: Int32Array;
}

const NUMBERS = 12;
const N_TIME = 0, N_SERIAL = 1, N_PID = 2, N_UID = 3, N_GID = 4, N_AUID = 5, N_SES = 6, N_SIG = 7, N_ARCH = 8, N_NR = 9, N_COMPAT = 10, N_CODE = 11;
const RANGES = 14;
/** a record, or the index of its kind in LOST_SIGNAL_KINDS for a lost-record signal */
const R_ENTRY = 0;
/** 0: the chunk; k: extras[k - 1] */
const R_BUF = 1;
const R_ACTION = 2, R_PLAIN = 3, R_COMM = 4, R_EXE = 6, R_SUBJ = 8, R_IP = 10, R_HEAD = 12;
const RECORD = -1;

export const LOST_SIGNAL_KINDS: readonly LostSignalKind[] = ['printk_suppressed', 'audit_lost', 'backlog_exceeded', 'rate_limit_exceeded'];
const EMPTY = new ArrayBuffer(0);

/**
 * The parse thread's RecordHandler side: `begin(chunk)`, let the parser push the chunk (records
 * and signals arrive here), then `take()` what it found, with the buffers to transfer.
 */
export class RecordPacker {
  #cap: number;
  #n = 0;
  #numbers: Float64Array;
  #ranges: Int32Array;
  #chunk: Buffer | null = null;
  #extras: Uint8Array[] = [];
  /** the last buffer copied into extras and its index there: a record's line is copied once */
  #lastExtraOf: Uint8Array | null = null;
  /** arrays sent back by the receiver (see recycle) */
  readonly #spare: { numbers: Float64Array; ranges: Int32Array }[] = [];

  constructor(capacity = 8192) {
    this.#cap = capacity;
    this.#numbers = new Float64Array(capacity * NUMBERS);
    this.#ranges = new Int32Array(capacity * RANGES);
  }

  /** Entries are gathered for this chunk from now on (before the parser is given it). */
  begin(chunk: Buffer | null): void {
    this.#chunk = chunk;
  }

  addRecord(view: SeccompRecordView): void {
    // the parsers deliver their one reusable ParsedRecord; anything else is a programming error
    if (!(view instanceof ParsedRecord)) throw new TypeError('RecordPacker: records must come from the parsers (ParsedRecord)');
    const r = view;
    const i = this.#slot();
    const n = this.#numbers, g = this.#ranges;
    const a = i * NUMBERS, b = i * RANGES;
    n[a + N_TIME] = r.time;
    n[a + N_SERIAL] = r.serial;
    n[a + N_PID] = r.pid;
    n[a + N_UID] = r.uidValue;
    n[a + N_GID] = r.gidValue;
    n[a + N_AUID] = r.auidValue;
    n[a + N_SES] = r.sesValue;
    n[a + N_SIG] = r.sig;
    n[a + N_ARCH] = r.auditArch;
    n[a + N_NR] = r.syscallNr;
    n[a + N_COMPAT] = r.compat;
    n[a + N_CODE] = r.code;
    g[b + R_ENTRY] = RECORD;
    g[b + R_BUF] = r.buf === this.#chunk ? 0 : this.#extraIndex(r.buf);
    // 'log' is first: the common case costs one comparison
    g[b + R_ACTION] = SECCOMP_ACTIONS.indexOf(r.action);
    g[b + R_PLAIN] = r.plainStrings ? 1 : 0;
    g[b + R_COMM] = r.commStart;
    g[b + R_COMM + 1] = r.commEnd;
    g[b + R_EXE] = r.exeStart;
    g[b + R_EXE + 1] = r.exeEnd;
    g[b + R_SUBJ] = r.subjStart;
    g[b + R_SUBJ + 1] = r.subjEnd;
    g[b + R_IP] = r.ipStart;
    g[b + R_IP + 1] = r.ipEnd;
    g[b + R_HEAD] = r.headFrom;
    g[b + R_HEAD + 1] = r.headEnd;
  }

  addSignal(kind: LostSignalKind, count: number): void {
    const i = this.#slot();
    this.#numbers[i * NUMBERS] = count;
    this.#ranges[i * RANGES + R_ENTRY] = LOST_SIGNAL_KINDS.indexOf(kind);
  }

  get count(): number {
    return this.#n;
  }

  /**
   * What was gathered since begin(), and the buffers to transfer with it. The chunk is
   * transferred when it owns its whole ArrayBuffer (a file read's chunk does), else copied;
   * either way the caller must not use it afterwards.
   */
  take(): { packed: PackedRecords; transfer: ArrayBuffer[] } {
    const count = this.#n;
    const chunk = this.#chunk;
    let buffer = EMPTY;
    if (chunk !== null && count > 0) {
      buffer = chunk.byteOffset === 0 && chunk.byteLength === chunk.buffer.byteLength && chunk.buffer instanceof ArrayBuffer
        ? chunk.buffer
        : new Uint8Array(chunk).buffer;
    }
    // the arrays themselves go, whole: the receiver reads `count` entries and may send them
    // back for reuse (recycle), so a chunk costs neither a copy nor a new allocation
    const packed: PackedRecords = { count, chunk: buffer, extras: this.#extras, numbers: this.#numbers, ranges: this.#ranges };
    const transfer = [this.#numbers.buffer as ArrayBuffer, this.#ranges.buffer as ArrayBuffer];
    if (buffer.byteLength > 0) transfer.push(buffer);
    const spare = this.#spare.pop();
    if (spare !== undefined && spare.numbers.length === this.#cap * NUMBERS) {
      this.#numbers = spare.numbers;
      this.#ranges = spare.ranges;
    } else {
      this.#numbers = new Float64Array(this.#cap * NUMBERS);
      this.#ranges = new Int32Array(this.#cap * RANGES);
    }
    this.#n = 0;
    this.#extras = [];
    this.#lastExtraOf = null;
    this.#chunk = null;
    return { packed, transfer };
  }

  /** Arrays of a packet the receiver is done with, to fill again. */
  recycle(arrays: { numbers: Float64Array; ranges: Int32Array }): void {
    this.#spare.push(arrays);
  }

  #slot(): number {
    if (this.#n === this.#cap) {
      this.#cap *= 2;
      this.#numbers = grown(this.#numbers, this.#cap * NUMBERS);
      this.#ranges = grown(this.#ranges, this.#cap * RANGES);
    }
    return this.#n++;
  }

  /** A copy of a line outside the chunk: the parser may reuse or drop its buffer after the call. */
  #extraIndex(buf: Uint8Array): number {
    if (buf !== this.#lastExtraOf) {
      this.#extras.push(new Uint8Array(buf));
      this.#lastExtraOf = buf;
    }
    return this.#extras.length;
  }
}

/**
 * Hands each entry of `packed` to `handler` in order, as the parser would have: records through
 * one reused ParsedRecord over the transferred bytes (valid only during the call, as always),
 * signals as signals. Line numbers are not carried (this side reports no line).
 */
export function replayPacked(packed: PackedRecords, handler: Pick<RecordHandler, 'onRecord' | 'onLostSignal'>, rec: ParsedRecord = new ParsedRecord()): void {
  const chunk = Buffer.from(packed.chunk);
  const extras = packed.extras.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength));
  const n = packed.numbers, g = packed.ranges;
  for (let i = 0; i < packed.count; i++) {
    const a = i * NUMBERS, b = i * RANGES;
    const entry = g[b + R_ENTRY]!;
    if (entry !== RECORD) {
      handler.onLostSignal(LOST_SIGNAL_KINDS[entry]!, n[a]!, 0);
      continue;
    }
    const bufIndex = g[b + R_BUF]!;
    rec.buf = bufIndex === 0 ? chunk : extras[bufIndex - 1]!;
    rec.time = n[a + N_TIME]!;
    rec.serial = n[a + N_SERIAL]!;
    rec.pid = n[a + N_PID]!;
    rec.uidValue = n[a + N_UID]!;
    rec.gidValue = n[a + N_GID]!;
    rec.auidValue = n[a + N_AUID]!;
    rec.sesValue = n[a + N_SES]!;
    rec.sig = n[a + N_SIG]!;
    rec.auditArch = n[a + N_ARCH]!;
    rec.syscallNr = n[a + N_NR]!;
    rec.compat = n[a + N_COMPAT]!;
    rec.code = n[a + N_CODE]!;
    rec.action = SECCOMP_ACTIONS[g[b + R_ACTION]!]!;
    rec.plainStrings = g[b + R_PLAIN] === 1;
    rec.commStart = g[b + R_COMM]!;
    rec.commEnd = g[b + R_COMM + 1]!;
    rec.exeStart = g[b + R_EXE]!;
    rec.exeEnd = g[b + R_EXE + 1]!;
    rec.subjStart = g[b + R_SUBJ]!;
    rec.subjEnd = g[b + R_SUBJ + 1]!;
    rec.ipStart = g[b + R_IP]!;
    rec.ipEnd = g[b + R_IP + 1]!;
    rec.headFrom = g[b + R_HEAD]!;
    rec.headEnd = g[b + R_HEAD + 1]!;
    handler.onRecord(rec, 0);
  }
}
