import { ABSENT } from '../types/seccomp-record.js';
import { archFromInterpretedName, auditArchOf, syscallNumber, type ArchName } from '../syscalls/syscall-table.js';
import type { ParsedRecord } from './parsed-record.js';
import { actionOfCode, codeOfInterpretedAction } from './seccomp-action.js';
import { missingField } from './raw-fields.js';

/**
 * `ausearch --interpret` output: `type=SECCOMP msg=audit(06/08/2015 19:28:47.186:10262) : auid=unset
 * uid=sshd ... arch=i386 syscall=getdents64 ... code=kill`. Names instead of numbers, a local date,
 * values unquoted and possibly holding spaces. Users pipe this in by hand, so it is parsed for
 * clarity, not speed: the line is read as latin1 so string offsets equal byte offsets and the
 * record's string ranges still point into the original bytes.
 */

const KEY = /(?:^| )(auid|uid|gid|ses|subj|pid|comm|exe|sig|arch|syscall|compat|ip|code)=/g;
// ausearch formats the date with strftime("%x %T"): the locale decides the date's shape.
const STAMP = /^(?:(\d{2})\/(\d{2})\/(\d{2}|\d{4})|(\d{2})\.(\d{2})\.(\d{4})|(\d{4})-(\d{2})-(\d{2})) (\d{2}):(\d{2}):(\d{2})\.(\d{3}):(\d+)\)/;

// auparse prints the few users it knows by name; only these have a number we can trust.
const KNOWN_IDS: Record<string, number> = { root: 0, unset: 4294967295 };
// Signal names for the arches whose SIGSYS is 31 (all but mips, where it is 12).
const SIGNALS: Record<string, number> = { '0': 0, SIGSYS: 31, SIGKILL: 9, SIGTRAP: 5 };

/** Parses the text after `msg=audit(` (at `p`) up to `end`. Returns null or the malformed reason. */
export function parseInterpretedLine(b: Buffer, p: number, end: number, r: ParsedRecord): string | null {
  const text = b.toString('latin1', p, end);
  const stamp = STAMP.exec(text);
  if (!stamp) return 'bad audit() timestamp';
  const [month, day, year] = stamp[1] !== undefined
    ? [stamp[1], stamp[2]!, stamp[3]!]
    : stamp[4] !== undefined ? [stamp[5]!, stamp[4], stamp[6]!] : [stamp[8]!, stamp[9]!, stamp[7]!];
  const fullYear = year.length === 2 ? 2000 + Number(year) : Number(year);
  r.time = new Date(fullYear, Number(month) - 1, Number(day), Number(stamp[10]), Number(stamp[11]),
    Number(stamp[12]), Number(stamp[13])).getTime();
  r.serial = Number(stamp[14]);
  r.plainStrings = true;

  const keys: { key: string; at: number; value: number }[] = [];
  KEY.lastIndex = stamp[0].length;
  for (let m = KEY.exec(text); m; m = KEY.exec(text)) {
    keys.push({ key: m[1]!, at: m.index, value: m.index + m[0].length });
  }
  let syscallName: string | null = null;
  let archText: string | null = null;
  for (let i = 0; i < keys.length; i++) {
    const { key, value } = keys[i]!;
    let stop = i + 1 < keys.length ? keys[i + 1]!.at : text.length;
    // ausearch ends each line with a space
    while (stop > value && (text.charCodeAt(stop - 1) === 0x20 || text.charCodeAt(stop - 1) === 0x0d)) stop--;
    const v = text.slice(value, stop);
    const start = p + value, finish = p + stop;
    switch (key) {
      case 'auid': r.auidValue = idOf(v); break;
      case 'uid': r.uidValue = idOf(v); break;
      case 'gid': r.gidValue = idOf(v); break;
      case 'ses': r.sesValue = idOf(v); break;
      case 'pid': r.pid = intOf(v); break;
      case 'compat': r.compat = intOf(v); break;
      case 'sig': r.sig = SIGNALS[v] ?? intOf(v); break;
      case 'subj': r.subjStart = start; r.subjEnd = finish; break;
      case 'comm': r.commStart = start; r.commEnd = finish; break;
      case 'exe': r.exeStart = start; r.exeEnd = finish; break;
      case 'ip': r.ipStart = start; r.ipEnd = finish; break;
      case 'arch': archText = v; break;
      case 'syscall': syscallName = v; break;
      case 'code': {
        const code = codeOfInterpretedAction(v);
        if (code === null) return `unknown action ${JSON.stringify(v)}`;
        r.code = code;
        r.action = actionOfCode(code);
        break;
      }
    }
  }
  if (archText === null) return 'missing arch';
  const arch = archFromInterpretedName(archText);
  if (arch === null) return `unknown arch ${JSON.stringify(archText)}`;
  r.auditArch = auditArchOf(arch);
  if (syscallName === null) return 'missing syscall';
  r.syscallNr = syscallNumberOf(arch, syscallName);
  if (r.syscallNr === ABSENT) return `unknown syscall ${JSON.stringify(syscallName)} for ${arch}`;
  return missingField(r);
}

function syscallNumberOf(arch: ArchName, name: string): number {
  if (/^-?\d+$/.test(name)) return Number(name);
  const unknown = /^unknown-syscall\((-?\d+)\)$/.exec(name);
  if (unknown) return Number(unknown[1]);
  return syscallNumber(arch, name) ?? ABSENT;
}

function idOf(v: string): number {
  const known = KNOWN_IDS[v];
  if (known !== undefined) return known;
  return /^\d+$/.test(v) ? Number(v) : ABSENT;
}

function intOf(v: string): number {
  return /^-?\d+$/.test(v) ? Number(v) : ABSENT;
}
