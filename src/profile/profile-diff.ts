import { syscallName } from '../syscalls/syscall-table.js';
import type { SyscallRow } from './oci-profile.js';

/** The parts of an OCI seccomp profile a diff reads (Docker's and runc's shape). */
export interface GivenProfile {
  defaultAction: string;
  syscalls?: { names?: string[]; name?: string; action: string; args?: unknown[] }[];
}

/**
 * What matters comes first: the observed calls the profile would block (each one breaks the
 * workload). Calls it allows that nobody made are only a count by default: a runtime's default
 * profile allows some 300 names, and listing them all buried the few that would block.
 */
export interface ProfileDiff {
  /** observed calls the given profile would not let through */
  wouldBlock: { name: string; count: number; lastSeen: string }[];
  /** rules with argument conditions: whether they let a call through depends on its arguments */
  conditional: string[];
  /** calls the given profile allows by name that were never observed: how many, and which with listNeverObserved */
  neverObserved: { count: number; names?: string[] };
}

export interface DiffOptions {
  /** list the never-observed names, not just count them */
  listNeverObserved?: boolean;
}

const LETS_THROUGH = new Set(['SCMP_ACT_ALLOW', 'SCMP_ACT_LOG']);

/**
 * Compares a profile someone wants to apply with what was observed: which observed calls it
 * would block, and which of the calls it allows nobody made. Calls the filter already acted on
 * (errno, kill...) were never allowed in the first place, so they are not counted as observed.
 */
export function diffProfile(given: GivenProfile, rows: readonly SyscallRow[], options: DiffOptions = {}): ProfileDiff {
  const allowed = new Set<string>();
  const blocked = new Set<string>();
  const conditional = new Set<string>();
  for (const rule of given.syscalls ?? []) {
    const names = rule.names ?? (rule.name !== undefined ? [rule.name] : []);
    for (const name of names) {
      if (rule.args !== undefined && rule.args.length > 0) conditional.add(name);
      else if (LETS_THROUGH.has(rule.action)) allowed.add(name);
      else blocked.add(name);
    }
  }
  const defaultLetsThrough = LETS_THROUGH.has(given.defaultAction);
  const observed = new Map<string, { count: number; lastSeen: number }>();
  for (const r of rows) {
    if (r.action !== 'log' && r.action !== 'allow') continue;
    const name = syscallName(r.auditArch, r.syscallNr);
    if (name === null) continue;
    const o = observed.get(name);
    if (o) { o.count += r.count; o.lastSeen = Math.max(o.lastSeen, r.lastSeen); } else observed.set(name, { count: r.count, lastSeen: r.lastSeen });
  }
  const wouldBlock = [...observed]
    .filter(([name]) => !conditional.has(name) && (blocked.has(name) || (!allowed.has(name) && !defaultLetsThrough)))
    .map(([name, o]) => ({ name, count: o.count, lastSeen: new Date(o.lastSeen).toISOString() }))
    .sort((a, b) => a.name.localeCompare(b.name));
  const neverObserved = [...allowed].filter((n) => !observed.has(n)).sort();
  return {
    wouldBlock,
    conditional: [...conditional].sort(),
    neverObserved: options.listNeverObserved === true ? { count: neverObserved.length, names: neverObserved } : { count: neverObserved.length },
  };
}
