import { KmsgReader } from './kmsg-reader.js';
import { LineStaging } from './line-staging.js';

/** Where a source delivers lines: `buf[start, end)` is one line without its newline. */
export interface LineSink {
  onLine(buf: Buffer, start: number, end: number): void;
  /** called after each burst of lines, so the consumer can flush or advance its clock */
  onBatchEnd?(): void;
}

export interface KmsgSourceOptions {
  path?: string;
  /** How often the kernel buffer is drained. */
  pollMs?: number;
  /** Resume after this kernel sequence number (from a saved position of the same boot). */
  resumeAfterSeq?: number;
  /** Without a saved position: read what the kernel still holds (true) or only new records. */
  fromStart?: boolean;
  sink: LineSink;
}

/** lines handed to the sink between two looks at the kernel's ring */
const SLICE = 256;
/** what may wait in memory before the reader lets the kernel overwrite (and count) records */
const MAX_STAGED_BYTES = 64 << 20;
/** how long one drain hands lines on before it lets the thread's timers (flush, stats, stop) run */
const DRAIN_BUDGET_MS = 50;

/**
 * Follows /dev/kmsg. The reader is non-blocking and drained on a short timer: a blocking read
 * would tie up a libuv worker and keep the process from exiting until the next kernel record.
 * Each drain first copies everything the ring holds into memory, then hands the lines on in
 * slices, emptying the ring again between slices: parsing and attribution (which reads /proc)
 * are slower than the kernel in a fork burst, and the ring holds only a few hundred records.
 * Shutdown order: stop the timer, drain once more (records that arrived meanwhile), close.
 */
export class KmsgSource {
  readonly name = 'kmsg';
  readonly #reader: KmsgReader;
  readonly #pollMs: number;
  readonly #sink: LineSink;
  readonly #fromStart: boolean;
  readonly #staging = new LineStaging(MAX_STAGED_BYTES);
  /** the position before the first line was handed on */
  #startSeq = -1;
  #timer: NodeJS.Timeout | null = null;
  records = 0;
  lastError: string | null = null;

  constructor(options: KmsgSourceOptions) {
    this.#reader = new KmsgReader({
      ...(options.path !== undefined ? { path: options.path } : {}),
      ...(options.resumeAfterSeq !== undefined ? { resumeAfterSeq: options.resumeAfterSeq } : {}),
    });
    this.#pollMs = options.pollMs ?? 10;
    this.#sink = options.sink;
    this.#fromStart = options.resumeAfterSeq !== undefined || options.fromStart === true;
  }

  /**
   * The kernel sequence number of the last record handed on: what the pipeline's data covers.
   * Records read but still staged are not covered yet; committing past them would lose them.
   */
  get position(): number {
    if (this.#staging.pending === 0) return this.#reader.lastSeq;
    return this.#staging.lastSeq >= 0 ? this.#staging.lastSeq : this.#startSeq;
  }

  get lostRecords(): number {
    return this.#reader.lostRecords;
  }

  /** Opens the device; throws an error that names the path and the fix when it cannot. */
  start(): void {
    this.#reader.open();
    if (!this.#fromStart) this.#reader.skipToEnd();
    this.#startSeq = this.#reader.lastSeq;
    this.#timer = setInterval(() => this.drain(), this.#pollMs);
    this.#timer.unref();
  }

  /**
   * Reads what the kernel holds and hands it on, for at most `budgetMs`; what is left waits
   * staged for the next drain. Returns how many records were handed on.
   */
  drain(budgetMs = DRAIN_BUDGET_MS): number {
    if (!this.#reader.isOpen) return 0;
    let handed = 0;
    const deadline = performance.now() + budgetMs;
    try {
      this.#stage();
      while (this.#staging.pending > 0) {
        handed += this.#staging.handOn(this.#sink, SLICE);
        this.#stage();
        if (performance.now() > deadline) break;
      }
      this.lastError = null;
    } catch (err) {
      // what was staged before the failure is handed on by the next drain
      this.lastError = (err as Error).message;
    }
    this.records += handed;
    if (handed > 0) this.#sink.onBatchEnd?.();
    return handed;
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    this.#timer = null;
    if (this.#reader.isOpen) {
      this.drain(Infinity);
      this.#reader.close();
    }
  }

  #stage(): void {
    if (!this.#staging.full) this.#reader.drain(this.#onRecord);
  }

  readonly #onRecord = (buf: Buffer, start: number, end: number, seq: number): void => {
    // the message is the first line; continuation lines (` KEY=value`) follow it
    let nl = buf.indexOf(0x0a, start);
    if (nl < 0 || nl > end) nl = end;
    this.#staging.push(buf, start, nl, seq);
  };
}
