/**
 * A learned seccomp profile in the OCI runtime-spec shape (what the kubelet reads from
 * /var/lib/kubelet/seccomp/ and runc/crun load): pure, rows in → profile out.
 */
import type { SyscallDelta } from '../types/flush-batch.js';
import type { SeccompAction } from '../types/seccomp-record.js';
import type { LearnedFrom } from './learning-window.js';
import { PROCESS_CREATION_SYSCALLS } from '../syscalls/process-creation.js';
import { ARCH_NAMES, archName, seccompArchName, syscallName, type ArchName } from '../syscalls/syscall-table.js';

/** A syscall row as the store returns it; only these fields are read. */
export type SyscallRow = Pick<SyscallDelta, 'auditArch' | 'syscallNr' | 'action' | 'count' | 'firstSeen' | 'lastSeen'>;

export type DefaultAction = 'errno' | 'log';

export interface OciSyscallRule {
  names: string[];
  /** log: only the process-making calls of a logDenied profile (withLogDenied) */
  action: 'SCMP_ACT_ALLOW' | 'SCMP_ACT_LOG';
}

export interface OciProfile {
  defaultAction: 'SCMP_ACT_ERRNO' | 'SCMP_ACT_LOG';
  /** only with SCMP_ACT_ERRNO: EPERM, what runc and docker's default profile return */
  defaultErrnoRet?: number;
  architectures: string[];
  syscalls: OciSyscallRule[];
  /** only with logDenied (withLogDenied below) */
  flags?: ['SECCOMP_FILTER_FLAG_LOG'];
}

/**
 * The profile with `flags: ["SECCOMP_FILTER_FLAG_LOG"]`: the kernel logs a filter's actions other
 * than log and kill (errno here) only when the filter was loaded with that flag, so without it a
 * call the profile denies with EPERM leaves no record and never reaches /api/v1/violations.
 * Measured in test/e2e/log-denied.test.ts: crun 1.8 loads it (the denial is logged with
 * code=0x50000, action errno); runc 1.1 refuses the whole profile ("seccomp flags are not yet
 * supported by runc"), so the container does not start. Only for an enforcing profile: a
 * complain-mode one denies nothing, and its log default is logged without any flag.
 *
 * The learned process-making calls (clone, fork, execve...) move from the allow rule to a log
 * rule, as in complain mode: they still run, and they are logged. A denial is most often made by
 * a short-lived child (a shell's `mkfifo`) that has exited before /proc can name its pod; under a
 * plain allow rule nothing of its parent's fork or its own exec is logged, and the e2e test saw
 * such a denial counted as unattributed (`exited`) instead of the pod's violation. Logged, they
 * let attribution follow the child to its pod (lineage), at one record per fork and exec.
 */
export function withLogDenied(profile: OciProfile): OciProfile {
  if (profile.defaultAction !== 'SCMP_ACT_ERRNO') throw new Error('withLogDenied: only an enforcing (errno) profile denies anything to log');
  const logged = new Set<string>(COMPLAIN_MODE_LOGGED);
  const syscalls: OciSyscallRule[] = [];
  const moved: string[] = [];
  for (const rule of profile.syscalls) {
    if (rule.action !== 'SCMP_ACT_ALLOW') { syscalls.push(rule); continue; }
    const kept = rule.names.filter((n) => !logged.has(n));
    moved.push(...rule.names.filter((n) => logged.has(n)));
    if (kept.length > 0) syscalls.push({ ...rule, names: kept });
  }
  if (moved.length > 0) syscalls.push({ names: moved.sort(compareStrings), action: 'SCMP_ACT_LOG' });
  return { ...profile, syscalls, flags: ['SECCOMP_FILTER_FLAG_LOG'] };
}

/** Why logDenied and a complain-mode default do not go together, for the REST and CLI errors. */
export const LOG_DENIED_NEEDS_ERRNO = 'a complain-mode profile (default action log) denies nothing, and what it logs is logged without any flag; the log flag goes with the enforcing default (errno)';

export interface ProfileExplain {
  /** records the profile was learned from (all rows, whatever the action) */
  records: number;
  /** names in the allow rule */
  syscalls: number;
  /** ISO 8601 time of the first and last record, null without rows */
  from: string | null;
  to: string | null;
  /** named syscalls seen only with a non-log action (errno, kill_*, trap, ...): one entry per action */
  notAllowed: { name: string; arch: ArchName; action: SeccompAction }[];
  /** names the runtime baseline allowed that were not observed */
  baselineAdded: string[];
  /** numbers no table names (arch is the hex audit arch when the ABI itself is unknown) */
  unknownNumbers: { arch: string; nr: number }[];
  /** what it was learned from and whether losses overlap it (learning-window.ts); set by the answer, not by buildOciProfile */
  learned?: LearnedFrom;
}

export interface BuiltProfile {
  profile: OciProfile;
  explain: ProfileExplain;
}

/**
 * Actions under which the call ran: `log` is what a learning profile returns; `allow` is never
 * logged by the kernel but would mean the same. Anything else (errno, kill_*, trap, trace,
 * user_notif, unknown) was blocked or handed elsewhere, so seeing it alone is no reason to allow.
 */
const RAN: ReadonlySet<SeccompAction> = new Set<SeccompAction>(['log', 'allow']);

const COMPLAIN_MODE_LOGGED: readonly string[] = [...PROCESS_CREATION_SYSCALLS, 'execve', 'execveat'];

const ARCH_ORDER: ReadonlyMap<ArchName, number> = new Map(ARCH_NAMES.map((a, i) => [a, i]));

export interface ProfileOptions {
  defaultAction: DefaultAction;
  /** names to allow whether or not they were observed: a runtime's baseline (runtime-baseline.ts) */
  baseline?: readonly string[];
}

export function buildOciProfile(rows: readonly SyscallRow[], options: ProfileOptions): BuiltProfile {
  const arches = new Set<ArchName>();
  const allowed = new Set<string>();
  // `${arch} ${name}` → actions seen, for the syscalls that were never seen to run
  const blocked = new Map<string, { name: string; arch: ArchName; actions: Set<SeccompAction> }>();
  const unknown = new Map<string, { arch: string; nr: number }>();
  let records = 0;
  let from = Infinity;
  let to = -Infinity;

  for (const row of rows) {
    records += row.count;
    if (row.firstSeen < from) from = row.firstSeen;
    if (row.lastSeen > to) to = row.lastSeen;
    const arch = archName(row.auditArch, row.syscallNr);
    // every ABI seen goes in, blocked calls too: an ABI missing from `architectures` gets the
    // runtime's bad-arch action (a kill), not defaultAction, which would break complain mode
    if (arch !== null) arches.add(arch);
    const name = syscallName(row.auditArch, row.syscallNr);
    if (arch === null || name === null) {
      const archLabel = arch ?? `0x${(row.auditArch >>> 0).toString(16).padStart(8, '0')}`;
      unknown.set(`${archLabel} ${row.syscallNr}`, { arch: archLabel, nr: row.syscallNr });
      continue;
    }
    if (RAN.has(row.action)) {
      allowed.add(name);
    } else {
      const key = `${arch} ${name}`;
      let entry = blocked.get(key);
      if (entry === undefined) blocked.set(key, (entry = { name, arch, actions: new Set() }));
      entry.actions.add(row.action);
    }
  }

  const baselineAdded = completeAllowList(allowed, options);
  const names = [...allowed].sort(compareStrings);
  const notAllowed: ProfileExplain['notAllowed'] = [];
  for (const { name, arch, actions } of blocked.values()) {
    // allowed on one ABI means allowed on all: OCI names are not per-ABI
    if (allowed.has(name)) continue;
    for (const action of actions) notAllowed.push({ name, arch, action });
  }
  notAllowed.sort((a, b) => compareStrings(a.name, b.name) || archRank(a.arch) - archRank(b.arch) || compareStrings(a.action, b.action));

  const profile: OciProfile = options.defaultAction === 'errno'
    ? { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: [], syscalls: [] }
    : { defaultAction: 'SCMP_ACT_LOG', architectures: [], syscalls: [] };
  profile.architectures = [...arches].sort((a, b) => archRank(a) - archRank(b)).map(seccompArchName);
  // no rule at all rather than one with no names, which runtimes reject or ignore
  if (names.length > 0) profile.syscalls = [{ names, action: 'SCMP_ACT_ALLOW' }];

  return {
    profile,
    explain: {
      records,
      syscalls: names.length,
      from: rows.length > 0 ? new Date(from).toISOString() : null,
      to: rows.length > 0 ? new Date(to).toISOString() : null,
      notAllowed,
      baselineAdded,
      unknownNumbers: [...unknown.values()].sort((a, b) => compareStrings(a.arch, b.arch) || a.nr - b.nr),
    },
  };
}

/**
 * The last step of every learned allow list (built here or merged from several nodes): the
 * runtime baseline's names join it, and complain mode takes the process-making calls out again.
 * Returns the names only the baseline put in, sorted.
 */
export function completeAllowList(allowed: Set<string>, options: ProfileOptions, observed: ReadonlySet<string> = allowed): string[] {
  const added: string[] = [];
  for (const name of options.baseline ?? []) {
    if (!observed.has(name)) added.push(name);
    allowed.add(name);
  }
  // In complain mode the calls that make processes and start programs stay logged although they
  // were learned: a child that makes one unexpected call and exits is gone before /proc can name
  // its pod; its parent's clone and its own execve (logged before its name changes) are what
  // attribution follows to it. They run either way.
  if (options.defaultAction === 'log') for (const name of COMPLAIN_MODE_LOGGED) allowed.delete(name);
  return added.filter((n) => allowed.has(n)).sort(compareStrings);
}

function archRank(arch: ArchName): number {
  return ARCH_ORDER.get(arch) ?? Number.MAX_SAFE_INTEGER;
}

/** Code-unit order, not the locale's: the same bytes on every machine. */
function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
