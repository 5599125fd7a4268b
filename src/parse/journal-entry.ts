/**
 * One line of `journalctl -o json`. The seccomp text sits in MESSAGE: the kernel transport keeps
 * the printk form (`audit: type=1326 audit(...): ...`), the audit transport renders it as
 * `SECCOMP auid=...` and moves the stamp into `_SOURCE_REALTIME_TIMESTAMP` (µs) and `_AUDIT_ID`.
 * journald writes MESSAGE as an array of bytes when it is not valid UTF-8.
 */
export interface JournalEntry {
  message: Buffer;
  /** ms since the epoch from the entry's own fields, or null */
  time: number | null;
  serial: number | null;
  /** the journal's cursor, for a source that resumes */
  cursor: string | null;
  /** `_TRANSPORT`: who handed the entry to journald (`kernel`, `audit`, `syslog`, `stdout`, ...), or null */
  transport: string | null;
  /**
   * `SYSLOG_FACILITY` as a number, or null when absent: journald leaves it out (or writes 0) for
   * the kernel's own messages and writes the facility of anything user space put into /dev/kmsg.
   */
  facility: number | null;
}

export type JournalEntryResult = JournalEntry | { error: string };

export function parseJournalEntry(line: string): JournalEntryResult {
  let entry: unknown;
  try {
    entry = JSON.parse(line);
  } catch {
    return { error: 'journal entry is not valid JSON (truncated line?)' };
  }
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) {
    return { error: 'journal entry is not a JSON object' };
  }
  const fields = entry as Record<string, unknown>;
  const raw = fields['MESSAGE'];
  let message: Buffer;
  if (typeof raw === 'string') message = Buffer.from(raw, 'utf8');
  else if (Array.isArray(raw) && raw.every((x) => Number.isInteger(x) && x >= 0 && x <= 255)) message = Buffer.from(raw as number[]);
  else return { error: 'journal entry has no MESSAGE' };
  const usec = fields['_SOURCE_REALTIME_TIMESTAMP'] ?? fields['__REALTIME_TIMESTAMP'];
  const id = fields['_AUDIT_ID'];
  const cursor = fields['__CURSOR'];
  const transport = fields['_TRANSPORT'];
  const facility = fields['SYSLOG_FACILITY'];
  return {
    message,
    time: typeof usec === 'string' && /^\d+$/.test(usec) ? Math.floor(Number(usec) / 1000) : null,
    serial: typeof id === 'string' && /^\d+$/.test(id) ? Number(id) : null,
    cursor: typeof cursor === 'string' ? cursor : null,
    transport: typeof transport === 'string' ? transport : null,
    // anything but a plain number (journald writes a decimal string) is no kernel facility
    facility: facility === undefined || facility === null ? null : typeof facility === 'string' && /^\d+$/.test(facility) ? Number(facility) : -1,
  };
}
