import { ParsedRecord } from '../parse/parsed-record.js';
import type { RecordHandler } from '../parse/record-handler.js';
import type { RunReader } from '../parse/record-stream-parser.js';
import { SECCOMP_ACTIONS, type LostSignalKind, type SeccompRecordView } from '../types/seccomp-record.js';
import type { RecordScanAddon } from './record-scan-addon.js';

/**
 * Where the parse thread puts what it found in one piece of input, for the thread that
 * attributes and aggregates: the piece's bytes, and per entry the record's numbers and the byte
 * ranges of its strings, all in memory both threads share. No string is decoded and nothing is
 * allocated per record or per piece: the receiving thread loads each entry into a ParsedRecord,
 * which decodes a comm or exe only when asked, as on one thread. A slot is filled by one thread
 * and read by the other in turn (the messages that pass its number say whose turn it is).
 *
 * Shared, not transferred: pieces and their arrays are allocated once, not per piece on one
 * side and collected on the other (a megabyte per piece of external memory for both heaps).
 */
export interface PacketSlot {
  /** the piece's bytes (at most SLOT_BYTES) */
  bytes: SharedArrayBuffer;
  /** per entry, NUMBERS numbers (see the N_ offsets); a signal's count in its first */
  numbers: SharedArrayBuffer;
  /** per entry, RANGES integers (see the R_ offsets) */
  ranges: SharedArrayBuffer;
}

/** What crosses with a slot's number: its entry count, and lines that are not in its bytes. */
export interface PacketHeader {
  slot: number;
  count: number;
  /**
   * Lines the entries point into that are not in the slot's bytes (one carried over from the
   * previous piece, a journal entry's decoded message): copies, one per such line.
   */
  extras: Uint8Array[];
}

/** A piece of input is at most this long: longer chunks are cut (a line may span pieces, as it may span chunks). */
export const SLOT_BYTES = 1 << 20;
/**
 * Entries a slot holds. Every entry is a line of at least 16 bytes with its newline (the
 * shortest, a bare `audit: rate limit exceeded`, has 27), plus the line carried in from the
 * previous piece: a piece can never hold more.
 */
export const SLOT_ENTRIES = SLOT_BYTES / 16 + 16;

const NUMBERS = 12;
const N_TIME = 0, N_SERIAL = 1, N_PID = 2, N_UID = 3, N_GID = 4, N_AUID = 5, N_SES = 6, N_SIG = 7, N_ARCH = 8, N_NR = 9, N_COMPAT = 10, N_CODE = 11;
const RANGES = 14;
/** a record, or the index of its kind in LOST_SIGNAL_KINDS for a lost-record signal */
const R_ENTRY = 0;
/** 0: the slot's bytes; k: extras[k - 1] */
const R_BUF = 1;
const R_ACTION = 2, R_PLAIN = 3, R_COMM = 4, R_EXE = 6, R_SUBJ = 8, R_IP = 10, R_HEAD = 12;
const RECORD = -1;

/** Slots for a parse thread and its receiver; `count` of them let the parser run that many pieces ahead. */
export function packetSlots(count: number): PacketSlot[] {
  return Array.from({ length: count }, () => ({
    bytes: new SharedArrayBuffer(SLOT_BYTES),
    numbers: new SharedArrayBuffer(SLOT_ENTRIES * NUMBERS * 8),
    ranges: new SharedArrayBuffer(SLOT_ENTRIES * RANGES * 4),
  }));
}

interface SlotViews {
  bytes: Buffer;
  numbers: Float64Array;
  ranges: Int32Array;
}

function slotViews(s: PacketSlot): SlotViews {
  return { bytes: Buffer.from(s.bytes), numbers: new Float64Array(s.numbers), ranges: new Int32Array(s.ranges) };
}

export const LOST_SIGNAL_KINDS: readonly LostSignalKind[] = ['printk_suppressed', 'audit_lost', 'backlog_exceeded', 'rate_limit_exceeded'];

/**
 * The parse thread's RecordHandler side: `begin(slot, piece)` (the piece's bytes already copied
 * into the slot, see fill), let the parser push the piece (records and signals arrive here),
 * then `finish()` the header to send.
 */
export class RecordPacker implements RunReader {
  /** what the last readRun read */
  records = 0;
  skipped = 0;
  readonly #scan: RecordScanAddon | null;
  readonly #scanned = new Int32Array(2);
  #slot = -1;
  #n = 0;
  /**
   * Where entries are written. Without the native reader: arrays of this thread's own, copied
   * into the slot once a piece is done, since V8 writes to typed arrays over shared memory
   * markedly slower than to its own (the piece's records packed twice as fast, the copy costing
   * a fraction of that). With it: the slot's arrays themselves, as it fills nearly all entries
   * (C writes shared memory as fast as any), and the copy (relaxed, word by word, as V8 copies
   * shared memory) cost more than the few entries JavaScript still writes.
   */
  #numbers: Float64Array;
  #ranges: Int32Array;
  readonly #own: { numbers: Float64Array; ranges: Int32Array } | null;
  /** what the parser reads: the caller's bytes, not the slot's (reading shared memory is slower too) */
  #piece: Buffer | null = null;
  #extras: Uint8Array[] = [];
  /** the last line copied into extras: a record's line is copied once */
  #lastExtraOf: Uint8Array | null = null;
  readonly #views: SlotViews[];

  /** `scan`: the native reader of auditd's record lines, or null to leave every line to the parser. */
  constructor(slots: readonly PacketSlot[], scan: RecordScanAddon | null = null) {
    this.#views = slots.map(slotViews);
    this.#scan = scan;
    this.#own = scan === null ? { numbers: new Float64Array(SLOT_ENTRIES * NUMBERS), ranges: new Int32Array(SLOT_ENTRIES * RANGES) } : null;
    const first = this.#own ?? this.#views[0]!;
    this.#numbers = first.numbers;
    this.#ranges = first.ranges;
  }

  /**
   * The parser's RunReader (give the packer as `runs`): auditd's record lines of the piece read
   * natively straight into entries, as addRecord would have packed the parser's records.
   */
  readRun(chunk: Buffer, pos: number, end: number): number {
    this.records = 0;
    this.skipped = 0;
    // only the piece's own bytes: an entry's ranges point into them (buffer 0)
    if (this.#scan === null || chunk !== this.#piece || this.#slot < 0) return pos;
    const after = this.#scan.scan(chunk, pos, end, this.#numbers, this.#ranges, this.#n, SLOT_ENTRIES, this.#scanned);
    this.records = this.#scanned[0]!;
    this.skipped = this.#scanned[1]!;
    this.#n += this.records;
    return after;
  }

  /**
   * Copies `input[from, from + SLOT_BYTES)` into slot `slot` and starts gathering its entries;
   * returns the piece to push to the parser (a view of `input`, whose ranges are the slot's).
   */
  begin(slot: number, input: Buffer, from: number): Buffer {
    const v = this.#views[slot]!;
    const length = Math.min(SLOT_BYTES, input.length - from);
    const piece = input.subarray(from, from + length);
    v.bytes.set(piece);
    this.#start(slot, piece);
    return piece;
  }

  /** Entries after the input's end (a last line without a newline) go to an empty piece of this slot. */
  beginEmpty(slot: number): void {
    this.#start(slot, null);
  }

  #start(slot: number, piece: Buffer | null): void {
    if (this.#own === null) {
      this.#numbers = this.#views[slot]!.numbers;
      this.#ranges = this.#views[slot]!.ranges;
    }
    this.#slot = slot;
    this.#n = 0;
    this.#piece = piece;
    this.#extras = [];
    this.#lastExtraOf = null;
  }

  addRecord(view: SeccompRecordView): void {
    // the parsers deliver their one reusable ParsedRecord; anything else is a programming error
    if (!(view instanceof ParsedRecord)) throw new TypeError('RecordPacker: records must come from the parsers (ParsedRecord)');
    const r = view;
    const i = this.#entry();
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
    g[b + R_BUF] = r.buf === this.#piece ? 0 : this.#extraIndex(r.buf);
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
    const i = this.#entry();
    this.#numbers[i * NUMBERS] = count;
    this.#ranges[i * RANGES + R_ENTRY] = LOST_SIGNAL_KINDS.indexOf(kind);
  }

  get count(): number {
    return this.#n;
  }

  /** The header of what was gathered since begin(): the slot is the receiver's until it says so. */
  finish(): PacketHeader {
    const header: PacketHeader = { slot: this.#slot, count: this.#n, extras: this.#extras };
    if (this.#own !== null && this.#slot >= 0 && this.#n > 0) {
      const v = this.#views[this.#slot]!;
      v.numbers.set(this.#numbers.subarray(0, this.#n * NUMBERS));
      v.ranges.set(this.#ranges.subarray(0, this.#n * RANGES));
    }
    this.#piece = null;
    this.#extras = [];
    this.#lastExtraOf = null;
    this.#slot = -1;
    return header;
  }

  #entry(): number {
    // SLOT_ENTRIES bounds what a piece can hold; past it is a bug, never a reason to write beyond the slot
    if (this.#n === SLOT_ENTRIES || this.#slot < 0) throw new RangeError(`RecordPacker: ${this.#slot < 0 ? 'no slot begun' : `more than ${SLOT_ENTRIES} entries in one piece`}`);
    return this.#n++;
  }

  /** A copy of a line outside the piece: the parser may reuse or drop its buffer after the call. */
  #extraIndex(buf: Uint8Array): number {
    if (buf !== this.#lastExtraOf) {
      this.#extras.push(new Uint8Array(buf));
      this.#lastExtraOf = buf;
    }
    return this.#extras.length;
  }
}

/**
 * Reads the slots a RecordPacker fills: `replay(header, handler)` hands each entry to `handler`
 * in order, as the parser would have: records through one reused ParsedRecord over the shared
 * bytes (valid only during the call, as always), signals as signals. Line numbers are not
 * carried (this side reports no line). The slot may be refilled once this returns.
 */
export class PacketReader {
  readonly #views: SlotViews[];
  readonly #rec = new ParsedRecord();

  constructor(slots: readonly PacketSlot[]) {
    this.#views = slots.map(slotViews);
  }

  replay(header: PacketHeader, handler: Pick<RecordHandler, 'onRecord' | 'onLostSignal'>): void {
    const view = this.#views[header.slot]!;
    // read where they are: a copy into this thread's own arrays first (V8 copies shared memory
    // word by word, relaxed) cost more than it saved (the attributing thread's CPU -3 to -7%)
    const bytes = view.bytes, n = view.numbers, g = view.ranges;
    const extras = header.extras.map((e) => Buffer.from(e.buffer, e.byteOffset, e.byteLength));
    const rec = this.#rec;
    for (let i = 0; i < header.count; i++) {
      const a = i * NUMBERS, b = i * RANGES;
      const entry = g[b + R_ENTRY]!;
      if (entry !== RECORD) {
        handler.onLostSignal(LOST_SIGNAL_KINDS[entry]!, n[a]!, 0);
        continue;
      }
      const bufIndex = g[b + R_BUF]!;
      rec.buf = bufIndex === 0 ? bytes : extras[bufIndex - 1]!;
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
}
