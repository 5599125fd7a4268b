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
 * after it are found from the LAST ')'.
 */
export function parseProcStat(content: string): ProcStat | null {
  const close = content.lastIndexOf(')');
  if (close < 0 || content.indexOf('(') < 0 || content.indexOf('(') > close) return null;
  const fields = content.slice(close + 1).trim().split(' ');
  const ppid = integer(fields[PPID_AFTER_STATE]);
  const startTime = integer(fields[STARTTIME_AFTER_STATE]);
  if (ppid === null || startTime === null) return null;
  return { ppid, startTime };
}

function integer(field: string | undefined): number | null {
  if (field === undefined || !/^\d+$/.test(field)) return null;
  const n = Number(field);
  return Number.isSafeInteger(n) ? n : null;
}
