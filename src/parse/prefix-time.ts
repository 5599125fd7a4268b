/**
 * Time from the text before a record, for the one form that carries no `audit(...)` stamp:
 * journald's `audit[PID]: SECCOMP ...` rendering. Handles RFC 3339 (`2026-11-27T07:21:26.123+00:00`,
 * rsyslog's high-precision format and `journalctl -o short-iso`) and BSD syslog (`Nov 27 07:21:26`,
 * which has no year: we take the most recent such date that is not more than a day ahead of `now`).
 * Slow path by design: such lines are rare next to the kernel's own forms.
 */

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const RFC3339 = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)/;
const BSD = /^([A-Z][a-z]{2}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2})/;

/** Milliseconds since the epoch, or null when the prefix has no time this function knows. */
export function parsePrefixTime(prefix: string, now: number = Date.now()): number | null {
  const iso = RFC3339.exec(prefix);
  if (iso) {
    const t = Date.parse(iso[1]!.replace(' ', 'T').replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
    return Number.isNaN(t) ? null : t;
  }
  const bsd = BSD.exec(prefix);
  if (bsd) {
    const month = MONTHS.indexOf(bsd[1]!);
    if (month < 0) return null;
    const year = new Date(now).getFullYear();
    const at = (y: number): number =>
      new Date(y, month, Number(bsd[2]), Number(bsd[3]), Number(bsd[4]), Number(bsd[5])).getTime();
    const t = at(year);
    return t > now + 86_400_000 ? at(year - 1) : t;
  }
  return null;
}
