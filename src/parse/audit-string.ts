/**
 * Decoding of the kernel's "untrusted string" encoding (audit_log_untrustedstring): a value is
 * printed in double quotes when it is plain printable ASCII without spaces or quotes, and as
 * upper-case hex of its bytes otherwise. `(null)` stands for a missing value.
 */

const QUOTE = 0x22;

export function decodeAuditString(buf: Uint8Array, start: number, end: number): string | null {
  if (start < 0 || end <= start) return null;
  if (buf[start] === QUOTE) {
    const close = end - 1 > start && buf[end - 1] === QUOTE ? end - 1 : end;
    return Buffer.from(buf.buffer, buf.byteOffset + start + 1, close - start - 1).toString('utf8');
  }
  const len = end - start;
  if (len === 6 && Buffer.from(buf.buffer, buf.byteOffset + start, 6).toString('latin1') === '(null)') {
    return null;
  }
  if (len % 2 === 0 && isHex(buf, start, end)) {
    return Buffer.from(Buffer.from(buf.buffer, buf.byteOffset + start, len).toString('latin1'), 'hex')
      .toString('utf8');
  }
  // Neither quoted nor hex: an interpreted rendering (ausearch -i) that already holds the text.
  return Buffer.from(buf.buffer, buf.byteOffset + start, len).toString('utf8');
}

function isHex(buf: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = buf[i]!;
    const digit = c >= 0x30 && c <= 0x39;
    const upper = c >= 0x41 && c <= 0x46;
    const lower = c >= 0x61 && c <= 0x66;
    if (!digit && !upper && !lower) return false;
  }
  return true;
}
