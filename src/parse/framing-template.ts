/**
 * The framing of the last kernel line that passed the full check (record-framing.ts), kept so
 * that the lines after it, which in a log differ from it only in their digits (times, sequence
 * numbers), are checked four bytes at a time instead of parsed: on the bulk path the full check
 * cost about a quarter of a syslog line's parse, this about a twelfth.
 *
 * Sound because the framing is decided by the prefix's structure alone: a prefix of the same
 * length whose bytes are the template's, except that where the template has a digit any byte of
 * 0x30-0x3f may stand (no space, so no new field), has the same fields, the same tag and the
 * same separators, so the same framing. Anything else takes the full check, which replaces the
 * template when it accepts.
 */
export class FramingTemplate {
  /** longer prefixes (none of the kernel's forms comes near) always take the full check */
  static readonly MAX = 128;
  /** per 32-bit word of the prefix: the bits compared (all of a byte, a digit's high nibble) */
  readonly #mask = new Int32Array(FramingTemplate.MAX / 4);
  /** and what they must be */
  readonly #want = new Int32Array(FramingTemplate.MAX / 4);
  #length = -1;
  #words = 0;
  /** a view of the last buffer seen, for word reads (buffers change per chunk, not per line) */
  #of: Uint8Array | null = null;
  #view: DataView | null = null;

  /** Whether `b[start, record)` has the template's structure. */
  matches(b: Uint8Array, start: number, record: number): boolean {
    if (record - start !== this.#length) return false;
    const words = this.#words;
    // the last word reads up to 3 bytes past the prefix (masked out): they must exist
    if (start + words * 4 > b.length) return false;
    if (this.#of !== b) {
      this.#of = b;
      this.#view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    }
    const v = this.#view!, mask = this.#mask, want = this.#want;
    for (let i = 0; i < words; i++) {
      if ((v.getInt32(start + i * 4, true) & mask[i]!) !== want[i]) return false;
    }
    return true;
  }

  /** Keeps `b[start, record)`, whose framing the full check accepted. */
  remember(b: Uint8Array, start: number, record: number): void {
    const n = record - start;
    if (n > FramingTemplate.MAX) {
      this.#length = -1;
      return;
    }
    const words = (n + 3) >> 2;
    for (let i = 0; i < words; i++) {
      let mask = 0, want = 0;
      for (let k = 0; k < 4 && i * 4 + k < n; k++) {
        const c = b[start + i * 4 + k]!;
        const digit = c >= 0x30 && c <= 0x39;
        mask |= (digit ? 0xf0 : 0xff) << (8 * k);
        want |= (digit ? 0x30 : c) << (8 * k);
      }
      this.#mask[i] = mask;
      this.#want[i] = want;
    }
    this.#words = words;
    this.#length = n;
  }
}
