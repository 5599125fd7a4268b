/**
 * The check of a learned profile another node's daemon sent (`profile --from`): the peer is
 * untrusted, and what it sends ends up in files that run as root (a systemd drop-in, a profile
 * the kubelet loads), so every field must be exactly what a daemon of this version produces.
 * Names must be names of some syscall table (a newline in one would start a new line of a
 * drop-in), architectures known ones, times ISO dates, counts integers. The problem names the
 * field, never its value: the value is the hostile part.
 */
import { ARCH_NAMES, seccompArchName, syscallNumber, type ArchName } from '../syscalls/syscall-table.js';
import { SECCOMP_ACTIONS } from '../types/seccomp-record.js';
import type { BuiltProfile } from './oci-profile.js';

const ARCHES: ReadonlySet<string> = new Set(ARCH_NAMES);
const SECCOMP_ARCHES: ReadonlySet<string> = new Set(ARCH_NAMES.map((a) => seccompArchName(a)));
const ACTIONS: ReadonlySet<string> = new Set(SECCOMP_ACTIONS);
/** the shape buildOciProfile gives the names: what the tables hold, so a cheap pre-filter */
const NAME_SHAPE = /^[a-z0-9_]{1,64}$/;
/** an audit arch in hex, for numbers of an ABI no table knows */
const HEX_ARCH = /^[0-9a-f]{1,8}$/;
/** Date#toISOString's form, the only one a daemon sends */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** far above any real profile (every name of every table is ~2 500), so only a hostile answer hits them */
const MAX_LIST = 20_000;

export type BuiltProfileCheck = { ok: true; built: BuiltProfile } | { ok: false; problem: string };

class Problem extends Error {}

function fail(message: string): never {
  throw new Problem(message);
}

export function checkBuiltProfile(value: unknown): BuiltProfileCheck {
  try {
    checkAnswer(value);
    return { ok: true, built: value as BuiltProfile };
  } catch (err) {
    if (err instanceof Problem) return { ok: false, problem: err.message };
    throw err;
  }
}

/** A name some syscall table holds (any ABI: a merge may span arches). */
export function isKnownSyscallName(name: string): boolean {
  return NAME_SHAPE.test(name) && ARCH_NAMES.some((a: ArchName) => syscallNumber(a, name) !== null);
}

function object(v: unknown, where: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(`${where} is not an object`);
  return v as Record<string, unknown>;
}

function list(v: unknown, where: string): unknown[] {
  if (!Array.isArray(v)) fail(`${where} is not a list`);
  if (v.length > MAX_LIST) fail(`${where} has more than ${MAX_LIST} entries`);
  return v;
}

function name(v: unknown, where: string): void {
  if (typeof v !== 'string' || !isKnownSyscallName(v)) fail(`${where} is not a syscall name any syscall table knows`);
}

function count(v: unknown, where: string): void {
  if (!Number.isSafeInteger(v) || (v as number) < 0) fail(`${where} is not a count (a non-negative integer)`);
}

function isoOrNull(v: unknown, where: string): void {
  if (v === null) return;
  if (typeof v !== 'string' || !ISO_DATE.test(v) || !Number.isFinite(Date.parse(v))) fail(`${where} is not an ISO date (or null)`);
}

function checkAnswer(value: unknown): void {
  const top = object(value, 'the answer');
  const profile = object(top.profile, 'profile');
  if (profile.defaultAction !== 'SCMP_ACT_ERRNO' && profile.defaultAction !== 'SCMP_ACT_LOG') fail('profile.defaultAction is neither SCMP_ACT_ERRNO nor SCMP_ACT_LOG');
  if (profile.defaultErrnoRet !== undefined && !(Number.isInteger(profile.defaultErrnoRet) && (profile.defaultErrnoRet as number) >= 0 && (profile.defaultErrnoRet as number) <= 4095)) {
    fail('profile.defaultErrnoRet is not an errno number');
  }
  list(profile.architectures, 'profile.architectures').forEach((a, i) => {
    if (typeof a !== 'string' || !SECCOMP_ARCHES.has(a)) fail(`profile.architectures[${i}] is not a known architecture`);
  });
  list(profile.syscalls, 'profile.syscalls').forEach((r, i) => {
    const rule = object(r, `profile.syscalls[${i}]`);
    if (rule.action !== 'SCMP_ACT_ALLOW') fail(`profile.syscalls[${i}].action is not SCMP_ACT_ALLOW`);
    list(rule.names, `profile.syscalls[${i}].names`).forEach((n, j) => name(n, `profile.syscalls[${i}].names[${j}]`));
  });
  const explain = object(top.explain, 'explain');
  count(explain.records, 'explain.records');
  count(explain.syscalls, 'explain.syscalls');
  isoOrNull(explain.from, 'explain.from');
  isoOrNull(explain.to, 'explain.to');
  list(explain.notAllowed, 'explain.notAllowed').forEach((e, i) => {
    const n = object(e, `explain.notAllowed[${i}]`);
    name(n.name, `explain.notAllowed[${i}].name`);
    if (typeof n.arch !== 'string' || !ARCHES.has(n.arch)) fail(`explain.notAllowed[${i}].arch is not a known ABI`);
    if (typeof n.action !== 'string' || !ACTIONS.has(n.action)) fail(`explain.notAllowed[${i}].action is not a seccomp action`);
  });
  // older daemons leave it out; the merge treats it as empty
  if (explain.baselineAdded !== undefined) list(explain.baselineAdded, 'explain.baselineAdded').forEach((n, i) => name(n, `explain.baselineAdded[${i}]`));
  list(explain.unknownNumbers, 'explain.unknownNumbers').forEach((e, i) => {
    const u = object(e, `explain.unknownNumbers[${i}]`);
    if (typeof u.arch !== 'string' || !(ARCHES.has(u.arch) || HEX_ARCH.test(u.arch))) fail(`explain.unknownNumbers[${i}].arch is not a known ABI or a hex audit arch`);
    if (!Number.isSafeInteger(u.nr) || (u.nr as number) < 0 || (u.nr as number) > 0xffffffff) fail(`explain.unknownNumbers[${i}].nr is not a syscall number`);
  });
  // older daemons leave it out; the CLI then cannot call the part complete
  if (explain.learned !== undefined) checkLearned(explain.learned, explain);
}

/** a source (`kmsg`, `audit`, `file:/var/log/audit/audit.log`, `journal`) as printed in messages: printable ASCII */
const SOURCE_SHAPE = /^[\x21-\x7e][\x20-\x7e]{0,4095}$/;
/** a loss or unattributed reason: a word of the daemon's own */
const REASON_SHAPE = /^[a-z][a-z0-9_-]{0,63}$/;

function checkLearned(value: unknown, explain: Record<string, unknown>): void {
  const l = object(value, 'explain.learned');
  count(l.records, 'explain.learned.records');
  isoOrNull(l.from, 'explain.learned.from');
  isoOrNull(l.to, 'explain.learned.to');
  // the same window explain itself gives: a part cannot judge one window and send another
  if (l.records !== explain.records || l.from !== explain.from || l.to !== explain.to) fail('explain.learned does not describe the records and window of explain');
  if (typeof l.complete !== 'boolean') fail('explain.learned.complete is not a boolean');
  if (typeof l.young !== 'boolean') fail('explain.learned.young is not a boolean');
  const losses = list(l.losses, 'explain.learned.losses');
  losses.forEach((e, i) => {
    const where = `explain.learned.losses[${i}]`;
    const loss = object(e, where);
    if (typeof loss.source !== 'string' || !SOURCE_SHAPE.test(loss.source)) fail(`${where}.source is not a source name`);
    if (typeof loss.reason !== 'string' || !REASON_SHAPE.test(loss.reason)) fail(`${where}.reason is not a loss reason`);
    count(loss.count, `${where}.count`);
    isoOrNull(loss.from, `${where}.from`);
    isoOrNull(loss.to, `${where}.to`);
    if (loss.from === null || loss.to === null) fail(`${where} has no interval`);
  });
  // complete means no loss: a part claiming both is not to be believed either way
  if (l.complete !== (losses.length === 0)) fail('explain.learned.complete does not agree with explain.learned.losses');
  list(l.unattributed, 'explain.learned.unattributed').forEach((e, i) => {
    const where = `explain.learned.unattributed[${i}]`;
    const u = object(e, where);
    // printed only inside JSON (escaped), never into a file that runs
    for (const f of ['comm', 'exe'] as const) if (u[f] !== null && (typeof u[f] !== 'string' || (u[f] as string).length > 4096)) fail(`${where}.${f} is not a string of at most 4096 characters (or null)`);
    if (typeof u.reason !== 'string' || !REASON_SHAPE.test(u.reason)) fail(`${where}.reason is not a reason`);
    count(u.count, `${where}.count`);
    isoOrNull(u.firstSeen, `${where}.firstSeen`);
    isoOrNull(u.lastSeen, `${where}.lastSeen`);
  });
  const t = object(l.thresholds, 'explain.learned.thresholds');
  if (typeof t.minWindowMinutes !== 'number' || !Number.isFinite(t.minWindowMinutes) || t.minWindowMinutes < 0) fail('explain.learned.thresholds.minWindowMinutes is not a number of minutes');
  count(t.minRecords, 'explain.learned.thresholds.minRecords');
}
