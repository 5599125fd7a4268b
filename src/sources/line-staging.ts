import type { LineSink } from './kmsg-source.js';

/**
 * Lines copied out of a reader's reused buffer, kept in order until they are handed on. Copying
 * a record costs a fraction of parsing and attributing it, so a reader that stages what the
 * kernel holds before it processes anything empties the kernel's small ring buffer first and
 * leaves the slow part for after: a burst then waits in memory instead of being overwritten.
 * One growing byte arena and one offsets array, reset once everything was handed on: no
 * allocation per line.
 */
export class LineStaging {
  #bytes = Buffer.allocUnsafe(1 << 20);
  /** end offset of each staged line in #bytes; a line starts where the previous one ended */
  #ends = new Int32Array(4096);
  /** the kernel sequence number of each staged line */
  #seqs = new Float64Array(4096);
  #count = 0;
  #next = 0;
  #used = 0;
  #lastSeq = -1;

  constructor(readonly maxBytes: number) {}

  /** lines staged and not yet handed on */
  get pending(): number {
    return this.#count - this.#next;
  }

  /** no room for more: the caller stops reading, and the kernel's overwrites count as lost */
  get full(): boolean {
    return this.#used >= this.maxBytes;
  }

  /** the sequence number of the last line handed on, or -1 */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  push(src: Buffer, start: number, end: number, seq: number): void {
    const len = end - start;
    if (this.#used + len > this.#bytes.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.#bytes.length * 2, this.#used + len));
      this.#bytes.copy(grown, 0, 0, this.#used);
      this.#bytes = grown;
    }
    if (this.#count === this.#ends.length) {
      const ends = new Int32Array(this.#ends.length * 2);
      ends.set(this.#ends);
      this.#ends = ends;
      const seqs = new Float64Array(this.#seqs.length * 2);
      seqs.set(this.#seqs);
      this.#seqs = seqs;
    }
    src.copy(this.#bytes, this.#used, start, end);
    this.#used += len;
    this.#ends[this.#count] = this.#used;
    this.#seqs[this.#count++] = seq;
  }

  /** Hands at most `max` staged lines to the sink, oldest first; returns how many. */
  handOn(sink: LineSink, max: number): number {
    let n = 0;
    while (n < max && this.#next < this.#count) {
      const i = this.#next++;
      const start = i === 0 ? 0 : this.#ends[i - 1]!;
      this.#lastSeq = this.#seqs[i]!;
      sink.onLine(this.#bytes, start, this.#ends[i]!);
      n++;
    }
    if (this.#next === this.#count) this.#next = this.#count = this.#used = 0;
    return n;
  }
}
