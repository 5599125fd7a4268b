import { ABSENT } from '../types/seccomp-record.js';
import type { ParsedRecord } from './parsed-record.js';
import { actionOfCode } from './seccomp-action.js';

/**
 * The byte-level reader of a SECCOMP record's `key=value` fields as the kernel prints them
 * (audit_seccomp in kernel/auditsc.c): `auid= uid= gid= ses= [subj=] pid= comm= exe= sig= arch=
 * syscall= compat= ip= code=`. This is the hot path: no regex, no strings, no allocation; keys
 * are matched by length and bytes, numbers are accumulated digit by digit.
 *
 * Returns null when the record is complete, else the reason it is malformed.
 */

const SP = 0x20;
const EQ = 0x3d;
const QUOTE = 0x22;
/** auditd's ENRICHED format appends interpreted fields after this byte. */
const GS = 0x1d;

export function parseRawFields(b: Uint8Array, p: number, end: number, r: ParsedRecord): string | null {
  while (p < end) {
    const c = b[p]!;
    if (c === SP) { p++; continue; }
    // Kernel keys are lower case; auditd's ENRICHED suffix (AUID="unset" UID=... SYSCALL=...) is
    // upper case and must never be trusted (it says `SYSCALL=unknown-syscall(-1)` for seccomp).
    // Copies that lost the 0x1d separator glue it to the last value: the hex reader below stops
    // at the first upper-case letter, and we stop here.
    if (c === GS || (c >= 0x41 && c <= 0x5a)) break;
    let k = p;
    while (k < end && b[k] !== EQ && b[k] !== SP) k++;
    if (k >= end) break;
    if (b[k] === SP) { p = k + 1; continue; }
    const v = k + 1;
    let next = -1;
    switch (k - p) {
      case 2:
        if (b[p] === 0x69 && b[p + 1] === 0x70) { // ip
          if (b[v] !== 0x30 || b[v + 1] !== 0x78) return 'bad ip value';
          next = hexEnd(b, v + 2, end);
          r.ipStart = v; r.ipEnd = next;
        }
        break;
      case 3: {
        const c0 = b[p], c1 = b[p + 1], c2 = b[p + 2];
        if (c0 === 0x70 && c1 === 0x69 && c2 === 0x64) { next = dec(b, v, end, r, F_PID); if (next < 0) return 'bad pid value'; }
        else if (c0 === 0x75 && c1 === 0x69 && c2 === 0x64) { next = dec(b, v, end, r, F_UID); if (next < 0) return 'bad uid value'; }
        else if (c0 === 0x67 && c1 === 0x69 && c2 === 0x64) { next = dec(b, v, end, r, F_GID); if (next < 0) return 'bad gid value'; }
        else if (c0 === 0x73 && c1 === 0x65 && c2 === 0x73) { next = dec(b, v, end, r, F_SES); if (next < 0) return 'bad ses value'; }
        else if (c0 === 0x73 && c1 === 0x69 && c2 === 0x67) { next = dec(b, v, end, r, F_SIG); if (next < 0) return 'bad sig value'; }
        else if (c0 === 0x65 && c1 === 0x78 && c2 === 0x65) {
          next = stringEnd(b, v, end);
          if (next < 0) return 'unterminated exe value';
          r.exeStart = v; r.exeEnd = next;
        }
        break;
      }
      case 4: {
        const c0 = b[p], c1 = b[p + 1], c2 = b[p + 2], c3 = b[p + 3];
        if (c0 === 0x61 && c1 === 0x75 && c2 === 0x69 && c3 === 0x64) { next = dec(b, v, end, r, F_AUID); if (next < 0) return 'bad auid value'; }
        else if (c0 === 0x61 && c1 === 0x72 && c2 === 0x63 && c3 === 0x68) { // arch
          next = hexEnd(b, v, end);
          if (next === v || next - v > 8) return 'bad arch value';
          r.auditArch = hexValue(b, v, next);
        } else if (c0 === 0x63 && c1 === 0x6f && c2 === 0x64 && c3 === 0x65) { // code
          if (b[v] !== 0x30 || b[v + 1] !== 0x78) return 'bad code value';
          // at most 8 digits: a lost ENRICHED separator may glue `AUID=` right after them
          next = hexEnd(b, v + 2, Math.min(end, v + 10));
          if (next === v + 2) return 'bad code value';
          r.code = hexValue(b, v + 2, next);
          r.action = actionOfCode(r.code);
        } else if (c0 === 0x63 && c1 === 0x6f && c2 === 0x6d && c3 === 0x6d) { // comm
          next = stringEnd(b, v, end);
          if (next < 0) return 'unterminated comm value';
          r.commStart = v; r.commEnd = next;
        } else if (c0 === 0x73 && c1 === 0x75 && c2 === 0x62 && c3 === 0x6a) { // subj
          // An LSM label may hold spaces and '=' (AppArmor: `docker-default (enforce)`); the
          // kernel always prints pid= right after it.
          next = subjEnd(b, v, end);
          r.subjStart = v; r.subjEnd = next;
        }
        break;
      }
      case 6:
        if (b[p] === 0x63 && b[p + 1] === 0x6f && b[p + 2] === 0x6d && b[p + 3] === 0x70 && b[p + 4] === 0x61 && b[p + 5] === 0x74) {
          next = dec(b, v, end, r, F_COMPAT);
          if (next < 0) return 'bad compat value';
        }
        break;
      case 7:
        if (b[p] === 0x73 && b[p + 1] === 0x79 && b[p + 2] === 0x73 && b[p + 3] === 0x63 && b[p + 4] === 0x61 && b[p + 5] === 0x6c && b[p + 6] === 0x6c) {
          next = dec(b, v, end, r, F_SYSCALL);
          if (next < 0) return 'bad syscall value';
        }
        break;
    }
    if (next < 0) {
      // a field we do not use: skip its value
      next = v;
      while (next < end && b[next] !== SP && b[next] !== GS) next++;
    }
    p = next;
  }
  return missingField(r);
}

/** Every field a record needs to be counted; the others may be absent in older kernels. */
export function missingField(r: ParsedRecord): string | null {
  if (r.pid === ABSENT) return 'missing pid';
  if (r.auditArch === ABSENT) return 'missing arch';
  if (r.syscallNr === ABSENT) return 'missing syscall';
  if (r.code === ABSENT) return 'missing code';
  return null;
}

const F_PID = 0, F_UID = 1, F_GID = 2, F_SES = 3, F_SIG = 4, F_AUID = 5, F_COMPAT = 6, F_SYSCALL = 7;

/**
 * Reads a decimal value (optionally negative) into field `f` and returns the position after it,
 * or -1 when the value is not a number. Writing through a field code instead of returning the
 * value keeps the position and the value out of a temporary object.
 */
function dec(b: Uint8Array, p: number, end: number, r: ParsedRecord, f: number): number {
  let neg = false;
  if (b[p] === 0x2d) { neg = true; p++; }
  const start = p;
  let n = 0;
  while (p < end) {
    const d = b[p]! - 0x30;
    if (d < 0 || d > 9) break;
    n = n * 10 + d;
    p++;
  }
  if (p === start || p - start > 16) return -1;
  if (p < end && b[p] !== SP && b[p] !== GS && !(b[p]! >= 0x41 && b[p]! <= 0x5a)) return -1;
  if (neg) n = -n;
  switch (f) {
    case F_PID: r.pid = n; break;
    case F_UID: r.uidValue = n; break;
    case F_GID: r.gidValue = n; break;
    case F_SES: r.sesValue = n; break;
    case F_SIG: r.sig = n; break;
    case F_AUID: r.auidValue = n; break;
    case F_COMPAT: r.compat = n; break;
    case F_SYSCALL: r.syscallNr = n; break;
  }
  return p;
}

/** The kernel prints hex with `%x`: lower case only, which is what separates it from ENRICHED text. */
function hexEnd(b: Uint8Array, p: number, end: number): number {
  while (p < end) {
    const c = b[p]!;
    if (!((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66))) break;
    p++;
  }
  return p;
}

function hexValue(b: Uint8Array, p: number, end: number): number {
  let n = 0;
  for (; p < end; p++) {
    const c = b[p]!;
    n = n * 16 + (c <= 0x39 ? c - 0x30 : c - 0x57);
  }
  return n;
}

/** End of a quoted (`"..."`, quotes included) or unquoted (hex, `(null)`) string value; -1 if unterminated. */
function stringEnd(b: Uint8Array, p: number, end: number): number {
  if (b[p] === QUOTE) {
    for (let i = p + 1; i < end; i++) if (b[i] === QUOTE) return i + 1;
    return -1;
  }
  while (p < end && b[p] !== SP && b[p] !== GS) p++;
  return p;
}

/** `subj=` ends where ` pid=` begins; without one (a truncated line) it ends at the next space. */
function subjEnd(b: Uint8Array, p: number, end: number): number {
  for (let i = p; i + 4 < end; i++) {
    if (b[i] === SP && b[i + 1] === 0x70 && b[i + 2] === 0x69 && b[i + 3] === 0x64 && b[i + 4] === EQ) return i;
  }
  while (p < end && b[p] !== SP) p++;
  return p;
}
