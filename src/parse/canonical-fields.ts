import type { ParsedRecord } from './parsed-record.js';
import { actionOfCode } from './seccomp-action.js';

/**
 * The fast path for the field order every kernel since 4.14 prints (audit_seccomp):
 * `auid= uid= gid= ses= [subj=] pid= comm= exe= sig= arch= syscall= compat= ip=0x code=0x`.
 * Instead of splitting on every '=' and ' ', it checks each expected key in place, reads
 * numbers digit by digit and skips the values it leaves for later (comm, exe, ip) with byte
 * loops that stop at the line's newline. At the first surprise it returns -1 and the caller runs
 * the general parser (raw-fields.ts), so odd input is never wrong, only slower.
 */


/**
 * Value of each byte as a lower-case hex digit, -1 for any other byte (the kernel prints hex with
 * `%x`; upper case is auditd's ENRICHED text): one load per digit instead of range tests.
 */
const HEX = new Int8Array(256).fill(-1);
for (let d = 0; d < 10; d++) HEX[0x30 + d] = d;
for (let d = 0; d < 6; d++) HEX[0x61 + d] = 10 + d;

/**
 * End of a comm/exe value: quoted (no spaces or quotes inside, by the kernel's rule) or hex up
 * to a space. A byte loop: these values are short, shorter than a native call's overhead.
 */
function strEnd(b: Buffer, p: number, end: number): number {
  // a newline ends the search too: the caller may not know where the line ends yet
  if (b[p] === 0x22) {
    for (let i = p + 1; i < end; i++) {
      const c = b[i];
      if (c === 0x22) return i + 1;
      if (c === 0x0a) return -1;
    }
    return -1;
  }
  for (let i = p; i < end; i++) {
    const c = b[i];
    if (c === 0x20) return i;
    if (c === 0x0a) return -1;
  }
  return -1;
}

/**
 * Returns the position after the last field (`end`, or a newline before it, or where auditd's
 * ENRICHED suffix begins), or -1 when the fields are not in the canonical shape.
 */
export function parseCanonicalFields(b: Buffer, p: number, end: number, r: ParsedRecord): number {
  // The kernel's order is fixed: each key is checked where it must be, whole and with the space
  // before it (the caller may not know where the line ends: a key checked by two of its bytes let
  // a newline stand in it or for the space, joining the next line's fields to this line's
  // record); each number is read once, digit by digit.
  if (b[p] !== 0x61 || b[p + 1] !== 0x75 || b[p + 2] !== 0x69 || b[p + 3] !== 0x64 || b[p + 4] !== 0x3d) return -1; // 'auid='
  // auid, uid, gid, ses and subj are left for ParsedRecord to read when asked (few consumers
  // ever do): the scan jumps to ` pid=`.
  const head = p;
  // A byte loop, not memchr for 'p': it must stop at the newline, since `end` may lie lines
  // ahead (the caller may not know where this line ends) and a ` pid=` past it is the next
  // record's, whose fields this line would take. (As fast as memchr here: the span is short.)
  let i = p + 5;
  while (i < end && b[i] !== 0x0a && !(b[i] === 0x70 && b[i - 1] === 0x20 && b[i + 1] === 0x69 && b[i + 2] === 0x64 && b[i + 3] === 0x3d)) i++;
  if (i >= end || b[i] === 0x0a) return -1;
  r.headFrom = head;
  r.headEnd = i - 1;
  p = i + 4;
  let n = 0, c = 0;
  let s = p;
  while ((c = b[p]! - 0x30) >= 0 && c <= 9) { n = n * 10 + c; p++; }
  if (p === s || p - s > 10) return -1;
  r.pid = n;
  if (b[p] !== 0x20 || b[p + 1] !== 0x63 || b[p + 2] !== 0x6f || b[p + 3] !== 0x6d || b[p + 4] !== 0x6d || b[p + 5] !== 0x3d) return -1; // ' comm='
  p += 6;
  r.commStart = p;
  if ((p = strEnd(b, p, end)) < 0) return -1;
  r.commEnd = p;
  if (b[p] !== 0x20 || b[p + 1] !== 0x65 || b[p + 2] !== 0x78 || b[p + 3] !== 0x65 || b[p + 4] !== 0x3d) return -1; // ' exe='
  p += 5;
  r.exeStart = p;
  if ((p = strEnd(b, p, end)) < 0) return -1;
  r.exeEnd = p;
  if (b[p] !== 0x20 || b[p + 1] !== 0x73 || b[p + 2] !== 0x69 || b[p + 3] !== 0x67 || b[p + 4] !== 0x3d) return -1; // ' sig='
  p += 5; n = 0; s = p;
  while ((c = b[p]! - 0x30) >= 0 && c <= 9) { n = n * 10 + c; p++; }
  if (p === s) return -1;
  r.sig = n;
  if (b[p] !== 0x20 || b[p + 1] !== 0x61 || b[p + 2] !== 0x72 || b[p + 3] !== 0x63 || b[p + 4] !== 0x68 || b[p + 5] !== 0x3d) return -1; // ' arch='
  p += 6; n = 0; s = p;
  while (p < end && (c = HEX[b[p]!]!) >= 0) { n = n * 16 + c; p++; }
  if (p === s || p - s > 8) return -1;
  r.auditArch = n;
  // a negative number (-1 from a tracer skipping the call) is left to the general parser
  if (b[p] !== 0x20 || b[p + 1] !== 0x73 || b[p + 2] !== 0x79 || b[p + 3] !== 0x73 || b[p + 4] !== 0x63 || b[p + 5] !== 0x61 || b[p + 6] !== 0x6c || b[p + 7] !== 0x6c || b[p + 8] !== 0x3d) return -1; // ' syscall='
  p += 9; n = 0; s = p;
  while ((c = b[p]! - 0x30) >= 0 && c <= 9) { n = n * 10 + c; p++; }
  if (p === s || p - s > 10) return -1;
  r.syscallNr = n;
  if (b[p] !== 0x20 || b[p + 1] !== 0x63 || b[p + 2] !== 0x6f || b[p + 3] !== 0x6d || b[p + 4] !== 0x70 || b[p + 5] !== 0x61 || b[p + 6] !== 0x74 || b[p + 7] !== 0x3d) return -1; // ' compat='
  p += 8; n = 0; s = p;
  while ((c = b[p]! - 0x30) >= 0 && c <= 9) { n = n * 10 + c; p++; }
  if (p === s) return -1;
  r.compat = n;
  if (b[p] !== 0x20 || b[p + 1] !== 0x69 || b[p + 2] !== 0x70 || b[p + 3] !== 0x3d || b[p + 4] !== 0x30 || b[p + 5] !== 0x78) return -1; // ' ip=0x'
  r.ipStart = p + 4;
  // the ip is not needed as a number: its hex digits end at the space (a byte loop: an ip is
  // shorter than what a native indexOf call costs), and never past the line's newline
  p += 6;
  while (p < end && b[p] !== 0x20 && b[p] !== 0x0a) p++;
  if (p >= end || b[p] === 0x0a) return -1;
  r.ipEnd = p;
  if (b[p] !== 0x20 || b[p + 1] !== 0x63 || b[p + 2] !== 0x6f || b[p + 3] !== 0x64 || b[p + 4] !== 0x65 || b[p + 5] !== 0x3d || b[p + 6] !== 0x30 || b[p + 7] !== 0x78) return -1; // ' code=0x'
  p += 8; n = 0; s = p;
  // at most 8 digits, lower case: a lost ENRICHED separator glues `AUID=` right after them
  const stop = Math.min(end, p + 8);
  while (p < stop && (c = HEX[b[p]!]!) >= 0) { n = n * 16 + c; p++; }
  if (p === s) return -1;
  r.code = n;
  r.action = actionOfCode(n);
  // what may follow: the end, auditd's 0x1d separator, or its upper-case fields glued on
  if (p < end) {
    c = b[p]!;
    if (c !== 0x0a && c !== 0x1d && c !== 0x20 && c !== 0x0d && c !== 0x23 && !(c >= 0x41 && c <= 0x5a)) return -1;
  }
  return p;
}
