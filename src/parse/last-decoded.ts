/**
 * The last value decoded from a record's byte range, and its bytes: a process's records come in
 * runs, so the next record's comm or exe is most often the same bytes, which a byte comparison
 * tells for a fraction of what decoding costs (a Buffer view, a UTF-8 decode, a new string).
 * The bytes are compared, not their position: they may lie in another chunk.
 */
export class LastDecoded {
  /** values longer than this are decoded every time (a long exe path is rare and not worth holding) */
  static readonly MAX_BYTES = 256;
  readonly #bytes = new Uint8Array(LastDecoded.MAX_BYTES);
  #len = -1;
  #plain = false;
  #value: string | null = null;

  /** The value of `buf[start, end)`, from `decode` unless it is the same bytes (and form) as the last one. */
  get(buf: Uint8Array, start: number, end: number, plain: boolean, decode: (buf: Uint8Array, start: number, end: number) => string | null): string | null {
    const len = end - start;
    if (len === this.#len && plain === this.#plain) {
      const bytes = this.#bytes;
      let i = 0;
      while (i < len && buf[start + i] === bytes[i]) i++;
      if (i === len) return this.#value;
    }
    const value = decode(buf, start, end);
    if (len >= 0 && len <= LastDecoded.MAX_BYTES) {
      // byte by byte: a subarray to set() from is an object a decode (the strings are short)
      const bytes = this.#bytes;
      for (let i = 0; i < len; i++) bytes[i] = buf[start + i]!;
      this.#len = len;
      this.#plain = plain;
      this.#value = value;
    }
    return value;
  }
}
