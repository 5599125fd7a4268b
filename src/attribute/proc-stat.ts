/** The fields of `/proc/<pid>/stat` that attribution uses. */
export interface ProcStat {
  /** Field 4. */
  ppid: number;
  /**
   * Field 22: when the process started, in clock ticks since boot. With the pid it names one process
   * for good: a pid can be reused, a (pid, start time) pair cannot within a boot.
   */
  startTime: number;
}

// Field 3 (state) is the first after comm; field 4 and field 22 follow at these offsets from it.
const PPID_AFTER_STATE = 1;
const STARTTIME_AFTER_STATE = 19;

/**
 * Parses the content of `/proc/<pid>/stat`, or returns null when it is not one. The comm field (2)
 * is the task name in parentheses and may itself hold spaces and ')' (`(a) b)`), so the fields
 * after it are found from the LAST ')'. Scanned in place: a pid's first record and every re-check
 * read one, and splitting it made ~50 strings a read.
 */
export function parseProcStat(content: string): ProcStat | null {
  const close = content.lastIndexOf(')');
  const open = content.indexOf('(');
  if (close < 0 || open < 0 || open > close) return null;
  // the fields are what follows, trimmed, split at single spaces
  let end = content.length;
  while (end > close + 1 && isTrimmed(content.charCodeAt(end - 1))) end--;
  let at = close + 1;
  while (at < end && isTrimmed(content.charCodeAt(at))) at++;
  let ppid: number | null = null;
  for (let field = 0; field <= STARTTIME_AFTER_STATE; field++) {
    if (at > end) return null;
    let next = content.indexOf(' ', at);
    if (next < 0 || next > end) next = end;
    if (field === PPID_AFTER_STATE) {
      ppid = integer(content, at, next);
      if (ppid === null) return null;
    } else if (field === STARTTIME_AFTER_STATE) {
      const startTime = integer(content, at, next);
      return startTime === null ? null : { ppid: ppid!, startTime };
    }
    at = next + 1;
  }
  return null;
}

/** What String.prototype.trim removes at either end: the kernel writes a newline, nothing else. */
function isTrimmed(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)
    || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/** content[from, to) as a non-negative integer: digits only, at least one, a safe integer. */
function integer(content: string, from: number, to: number): number | null {
  if (from >= to) return null;
  let n = 0;
  for (let i = from; i < to; i++) {
    const d = content.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return null;
    n = n * 10 + d;
  }
  // past 2^53 the digits no longer name one number (as Number(field) would round them)
  return Number.isSafeInteger(n) ? n : null;
}
