import fs from 'node:fs';

/** Receives one kmsg record: `buf[start, end)` (valid only during the call) and its sequence number. */
export type KmsgRecordCallback = (buf: Buffer, start: number, end: number, seq: number) => void;

/**
 * Told about each gap in the sequence: `lost` records vanished before `seq` (the first record after
 * the gap) was read; 0 when the kernel reported an overrun but we had no position to measure it from.
 */
export type KmsgLostCallback = (lost: number, seq: number) => void;

export interface KmsgReaderOptions {
  /** default `/dev/kmsg` */
  path?: string;
  /** bytes, at least 8 KiB (the kernel's largest record, CONSOLE_EXT_LOG_MAX); default 16 KiB */
  bufferSize?: number;
  /**
   * The seq the previous run processed last. Records up to it are read and skipped silently, which is
   * how a restart resumes exactly: /dev/kmsg supports no seeking to a seq. Seqs restart at 0 on every
   * boot, so the caller must only pass a seq saved during the current boot (pair it with
   * /proc/sys/kernel/random/boot_id).
   */
  resumeAfterSeq?: number;
  onLost?: KmsgLostCallback;
}

const MIN_BUFFER = 8 * 1024;
const DEFAULT_BUFFER = 16 * 1024;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Reads kernel log records from /dev/kmsg without blocking and without per-record allocation.
 *
 * The fd is non-blocking and read with `readSync`: a blocking read parked in the libuv thread pool
 * cannot be cancelled, so `process.exit()` would hang until the kernel logs something. Having no timers
 * of its own, the reader leaves the polling cadence to its caller.
 */
export class KmsgReader {
  readonly path: string;
  readonly #buf: Buffer;
  readonly #resumeAfterSeq: number;
  readonly #onLost: KmsgLostCallback | undefined;
  #fd = -1;
  #lastSeq = -1;
  /** an EPIPE waits for the next record: only its seq tells how much was overwritten */
  #overrunPending = false;
  #lostRecords = 0;
  #lostEvents = 0;
  #overruns = 0;

  constructor(options: KmsgReaderOptions = {}) {
    const size = options.bufferSize ?? DEFAULT_BUFFER;
    if (!Number.isSafeInteger(size) || size < MIN_BUFFER) {
      throw new RangeError(`KmsgReader: bufferSize must be an integer >= ${MIN_BUFFER}, got ${size}`);
    }
    const resume = options.resumeAfterSeq;
    if (resume !== undefined && (!Number.isSafeInteger(resume) || resume < 0)) {
      throw new RangeError(`KmsgReader: resumeAfterSeq must be a non-negative integer, got ${resume}`);
    }
    this.path = options.path ?? '/dev/kmsg';
    this.#buf = Buffer.allocUnsafe(size);
    this.#resumeAfterSeq = resume ?? -1;
    this.#onLost = options.onLost;
  }

  /**
   * Seq of the last record consumed: delivered, skipped as already seen (resumeAfterSeq) or discarded
   * by skipToEnd(); -1 before any. This is the position to persist.
   */
  get lastSeq(): number { return this.#lastSeq; }
  /** Records known to be lost: overwritten by the kernel before we read them, or holes in the seqs. */
  get lostRecords(): number { return this.#lostRecords; }
  /** Gaps seen, including overruns whose size was unknown (no position yet). */
  get lostEvents(): number { return this.#lostEvents; }
  /** Reads that failed with EPIPE: the kernel overwrote records we had not read. */
  get overruns(): number { return this.#overruns; }
  get isOpen(): boolean { return this.#fd >= 0; }

  /**
   * Opens the device. Reopening after close() resumes after lastSeq, since a new fd starts again at the
   * oldest record the kernel still holds.
   */
  open(): this {
    if (this.#fd >= 0) return this;
    try {
      this.#fd = fs.openSync(this.path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
    } catch (err) {
      throw this.#explain(err, 'open');
    }
    return this;
  }

  /**
   * Delivers the records available now, at most `max`, and returns how many were delivered.
   * State is updated before `onRecord` runs: the kernel has already moved past a record when we see it,
   * so a callback that throws loses that record and nothing else. The buffer is reused for the next
   * record, so `onRecord` must not call drain() itself.
   */
  drain(onRecord: KmsgRecordCallback, max = Infinity): number {
    this.#assertOpen('drain');
    let delivered = 0;
    while (delivered < max && this.#fd >= 0) {
      const n = this.#read();
      if (n <= 0) break;
      const seq = this.#accept(n, true);
      if (seq === SKIP) continue;
      delivered++;
      onRecord(this.#buf, 0, n, seq);
    }
    return delivered;
  }

  /** Discards everything the kernel holds now so that the caller sees only newer records; returns how many. */
  skipToEnd(): number {
    this.#assertOpen('skipToEnd');
    let skipped = 0;
    while (this.#fd >= 0) {
      const n = this.#read();
      if (n <= 0) break;
      this.#accept(n, false);
      skipped++;
    }
    // the caller chose to drop these, so an overrun among them is nothing it missed
    this.#overrunPending = false;
    return skipped;
  }

  close(): void {
    if (this.#fd < 0) return;
    const fd = this.#fd;
    this.#fd = -1;
    fs.closeSync(fd);
  }

  #assertOpen(op: string): void {
    // a poller that outlives close() is a shutdown-order bug worth seeing, not an empty read
    if (this.#fd < 0) throw new Error(`KmsgReader.${op}(): ${this.path} is not open`);
  }

  /** Bytes of the next record, or 0 when there is none right now. */
  #read(): number {
    for (;;) {
      try {
        // position null: kmsg has no offsets, each read() returns the next record
        return fs.readSync(this.#fd, this.#buf, 0, this.#buf.length, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return 0;
        if (code === 'EINTR') continue;
        if (code === 'EPIPE') {
          // the next read continues at the oldest surviving record
          this.#overruns++;
          this.#overrunPending = true;
          continue;
        }
        throw this.#explain(err, 'read');
      }
    }
  }

  /** Updates position and loss counters for the record in buf[0, n); returns its seq, or SKIP. */
  #accept(n: number, deliver: boolean): number {
    const seq = parseSeq(this.#buf, n);
    if (seq < 0) {
      // never seen from a real kernel; hand it on rather than hide data, but leave the position alone
      return deliver ? -1 : SKIP;
    }
    const known = this.#lastSeq >= 0 || this.#resumeAfterSeq >= 0;
    const pos = this.#lastSeq > this.#resumeAfterSeq ? this.#lastSeq : this.#resumeAfterSeq;
    if (known && seq <= pos) {
      // already processed before a restart or reopen
      if (seq > this.#lastSeq) this.#lastSeq = seq;
      this.#overrunPending = false;
      return SKIP;
    }
    if (deliver) {
      const lost = known && seq > pos + 1 ? seq - pos - 1 : 0;
      // without a position an overrun is still worth reporting, even though its size is unknown
      if (lost > 0 || (this.#overrunPending && !known)) {
        this.#lostRecords += lost;
        this.#lostEvents++;
        this.#onLost?.(lost, seq);
      }
    }
    this.#overrunPending = false;
    this.#lastSeq = seq;
    return deliver ? seq : SKIP;
  }

  #explain(err: unknown, op: 'open' | 'read'): Error {
    const code = (err as NodeJS.ErrnoException).code;
    const p = this.path;
    let msg: string;
    switch (code) {
      case 'EACCES':
      case 'EPERM':
        msg = `cannot read ${p}: permission denied; run as root or grant CAP_SYSLOG ` +
          '(and CAP_DAC_READ_SEARCH / read access to the device); in a container the runtime\'s device ' +
          'cgroup must allow it too, which in Kubernetes takes a privileged container ' +
          '(deploy/kubernetes/components/kmsg-privileged), or run auditd on the node and read its log';
        break;
      case 'ENOENT':
        msg = `cannot read ${p}: no such file; on a node it is the kernel log device, ` +
          'in a container mount the host\'s /dev/kmsg';
        break;
      case 'EINVAL':
        msg = op === 'read'
          ? `cannot read ${p}: a record did not fit into the ${this.#buf.length}-byte buffer ` +
            '(or this is not a kmsg device); raise bufferSize'
          : `cannot open ${p}: invalid argument; is it the kernel log device?`;
        break;
      default:
        msg = `cannot ${op} ${p}: ${code ?? String(err)}`;
    }
    return Object.assign(new Error(msg, { cause: err }), { code });
  }
}

/** a seq that is never valid, marking records the caller does not get */
const SKIP = -2;

/**
 * The decimal second field of `PRI,SEQ,USEC,FLAGS;`, by a byte scan: this runs for every kernel record,
 * so no strings. -1 when the header is not of that form.
 */
function parseSeq(b: Buffer, n: number): number {
  let i = 0;
  while (i < n && b[i] !== COMMA) i++;
  let seq = 0;
  let digits = 0;
  for (i++; i < n; i++) {
    const c = b[i]!;
    if (c === COMMA) return digits > 0 ? seq : -1;
    if (c < ZERO || c > NINE) return -1;
    seq = seq * 10 + (c - ZERO);
    digits++;
  }
  return -1;
}
