/**
 * The one check of a seccomp profile someone hands us (a diff's body, a profile to install from
 * the API or the ConfigMap): the OCI runtime-spec shape runc, crun and the kubelet's runtimes
 * read, plus the docker-format fields (`archMap`, `name`, `comment`, `includes`, `excludes`)
 * containerd also accepts. Runtimes ignore unknown fields, so a misspelt `defaultaction` would
 * silently mean no profile at all: unknown fields are refused here, with the field's path.
 */
import type { GivenProfile } from './profile-diff.js';

/** libseccomp's actions as the runtime spec spells them. */
const OCI_ACTIONS: ReadonlySet<string> = new Set([
  'SCMP_ACT_KILL', 'SCMP_ACT_KILL_PROCESS', 'SCMP_ACT_KILL_THREAD', 'SCMP_ACT_TRAP', 'SCMP_ACT_ERRNO',
  'SCMP_ACT_TRACE', 'SCMP_ACT_ALLOW', 'SCMP_ACT_LOG', 'SCMP_ACT_NOTIFY',
]);

/** libseccomp's architectures (seccomp_arch_add(3), libseccomp 2.5+). */
const OCI_ARCHES: ReadonlySet<string> = new Set([
  'SCMP_ARCH_X86', 'SCMP_ARCH_X86_64', 'SCMP_ARCH_X32', 'SCMP_ARCH_ARM', 'SCMP_ARCH_AARCH64', 'SCMP_ARCH_LOONGARCH64',
  'SCMP_ARCH_M68K', 'SCMP_ARCH_MIPS', 'SCMP_ARCH_MIPS64', 'SCMP_ARCH_MIPS64N32', 'SCMP_ARCH_MIPSEL', 'SCMP_ARCH_MIPSEL64',
  'SCMP_ARCH_MIPSEL64N32', 'SCMP_ARCH_PPC', 'SCMP_ARCH_PPC64', 'SCMP_ARCH_PPC64LE', 'SCMP_ARCH_S390', 'SCMP_ARCH_S390X',
  'SCMP_ARCH_PARISC', 'SCMP_ARCH_PARISC64', 'SCMP_ARCH_RISCV64', 'SCMP_ARCH_SH', 'SCMP_ARCH_SHEB',
]);

const OPERATORS: ReadonlySet<string> = new Set([
  'SCMP_CMP_NE', 'SCMP_CMP_LT', 'SCMP_CMP_LE', 'SCMP_CMP_EQ', 'SCMP_CMP_GE', 'SCMP_CMP_GT', 'SCMP_CMP_MASKED_EQ',
]);

const FLAGS: ReadonlySet<string> = new Set([
  'SECCOMP_FILTER_FLAG_TSYNC', 'SECCOMP_FILTER_FLAG_LOG', 'SECCOMP_FILTER_FLAG_SPEC_ALLOW', 'SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV',
]);

const TOP_FIELDS = new Set(['defaultAction', 'defaultErrnoRet', 'architectures', 'archMap', 'flags', 'listenerPath', 'listenerMetadata', 'syscalls']);
const RULE_FIELDS = new Set(['names', 'name', 'action', 'errnoRet', 'args', 'comment', 'includes', 'excludes']);
const ARG_FIELDS = new Set(['index', 'value', 'valueTwo', 'op']);

/** Kernel syscall names: lower-case letters, digits and underscores (`_llseek`, `pread64`). */
const SYSCALL_NAME = /^[a-z0-9_]{1,64}$/;
const MAX_RULES = 10_000;
/**
 * The largest profile taken, in bytes, from the API or a file. Docker's default profile, one of
 * the largest in use, is ~20 KB as JSON; every name of every table with args rules stays under
 * 200 KB. Larger is a mistake or an attack on the daemon's memory.
 */
export const MAX_PROFILE_BYTES = 256 * 1024;
const MAX_NAMES = 2_000;

export type ProfileCheck = { ok: true; profile: GivenProfile } | { ok: false; problem: string };

/**
 * Whether `value` (parsed JSON) is a profile the runtimes would load as meant. The problem names
 * the field (`syscalls[2].action`) and what is wrong with it.
 */
export function checkOciProfile(value: unknown): ProfileCheck {
  try {
    checkTop(value);
    return { ok: true, profile: value as GivenProfile };
  } catch (err) {
    if (err instanceof ProfileProblem) return { ok: false, problem: err.message };
    throw err;
  }
}

class ProfileProblem extends Error {}

function fail(message: string): never {
  throw new ProfileProblem(message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function onlyKnown(o: Record<string, unknown>, known: ReadonlySet<string>, where: string): void {
  for (const key of Object.keys(o)) {
    if (!known.has(key)) fail(`unknown field ${where}${key} (runtimes would ignore it); known: ${[...known].join(', ')}`);
  }
}

function checkTop(p: unknown): void {
  if (!isObject(p)) fail('a profile is a JSON object with at least defaultAction');
  onlyKnown(p, TOP_FIELDS, '');
  if (p.defaultAction === undefined) fail('defaultAction is missing (e.g. "SCMP_ACT_ERRNO")');
  action(p.defaultAction, 'defaultAction');
  if (p.defaultErrnoRet !== undefined) errno(p.defaultErrnoRet, 'defaultErrnoRet');
  if (p.architectures !== undefined) arches(p.architectures, 'architectures');
  if (p.archMap !== undefined) {
    if (!Array.isArray(p.archMap)) fail('archMap must be a list of {architecture, subArchitectures}');
    p.archMap.forEach((m: unknown, i) => {
      if (!isObject(m)) fail(`archMap[${i}] must be an object`);
      onlyKnown(m, new Set(['architecture', 'subArchitectures']), `archMap[${i}].`);
      arch(m.architecture, `archMap[${i}].architecture`);
      if (m.subArchitectures !== undefined) arches(m.subArchitectures, `archMap[${i}].subArchitectures`);
    });
  }
  if (p.flags !== undefined) {
    if (!Array.isArray(p.flags)) fail('flags must be a list of SECCOMP_FILTER_FLAG_* names');
    p.flags.forEach((f: unknown, i) => {
      if (typeof f !== 'string' || !FLAGS.has(f)) fail(`flags[${i}]: ${shown(f)} is not one of ${[...FLAGS].join(', ')}`);
    });
  }
  for (const key of ['listenerPath', 'listenerMetadata'] as const) {
    if (p[key] !== undefined && typeof p[key] !== 'string') fail(`${key} must be a string`);
  }
  if (p.syscalls === undefined) return;
  if (!Array.isArray(p.syscalls)) fail('syscalls must be a list of rules ({names, action})');
  if (p.syscalls.length > MAX_RULES) fail(`syscalls has ${p.syscalls.length} rules; at most ${MAX_RULES}`);
  p.syscalls.forEach((rule: unknown, i) => checkRule(rule, `syscalls[${i}]`));
}

function checkRule(rule: unknown, where: string): void {
  if (!isObject(rule)) fail(`${where} must be an object ({names, action})`);
  onlyKnown(rule, RULE_FIELDS, `${where}.`);
  if (rule.action === undefined) fail(`${where}.action is missing`);
  action(rule.action, `${where}.action`);
  if (rule.names === undefined && rule.name === undefined) fail(`${where} names no syscall (names: [...])`);
  if (rule.names !== undefined) {
    if (!Array.isArray(rule.names)) fail(`${where}.names must be a list of syscall names`);
    if (rule.names.length > MAX_NAMES) fail(`${where}.names has ${rule.names.length} names; at most ${MAX_NAMES}`);
    rule.names.forEach((n: unknown, j) => syscallName(n, `${where}.names[${j}]`));
  }
  if (rule.name !== undefined) syscallName(rule.name, `${where}.name`);
  if (rule.errnoRet !== undefined) errno(rule.errnoRet, `${where}.errnoRet`);
  if (rule.comment !== undefined && typeof rule.comment !== 'string') fail(`${where}.comment must be a string`);
  for (const key of ['includes', 'excludes'] as const) {
    if (rule[key] !== undefined && !isObject(rule[key])) fail(`${where}.${key} must be an object`);
  }
  if (rule.args === undefined || rule.args === null) return;
  if (!Array.isArray(rule.args)) fail(`${where}.args must be a list of {index, value, op}`);
  rule.args.forEach((a: unknown, k) => {
    const at = `${where}.args[${k}]`;
    if (!isObject(a)) fail(`${at} must be an object ({index, value, op})`);
    onlyKnown(a, ARG_FIELDS, `${at}.`);
    if (!Number.isInteger(a.index) || (a.index as number) < 0 || (a.index as number) > 5) fail(`${at}.index must be an integer from 0 to 5 (the syscall's argument)`);
    for (const key of ['value', 'valueTwo'] as const) {
      if (a[key] !== undefined && !(Number.isInteger(a[key]) && (a[key] as number) >= 0)) fail(`${at}.${key} must be a non-negative integer`);
    }
    if (a.value === undefined) fail(`${at}.value is missing`);
    if (typeof a.op !== 'string' || !OPERATORS.has(a.op)) fail(`${at}.op: ${shown(a.op)} is not one of ${[...OPERATORS].join(', ')}`);
  });
}

function action(v: unknown, where: string): void {
  if (typeof v !== 'string' || !OCI_ACTIONS.has(v)) fail(`${where}: ${shown(v)} is not one of ${[...OCI_ACTIONS].join(', ')}`);
}

function arch(v: unknown, where: string): void {
  if (typeof v !== 'string' || !OCI_ARCHES.has(v)) fail(`${where}: ${shown(v)} is not a known architecture (SCMP_ARCH_X86_64, SCMP_ARCH_AARCH64, ...)`);
}

function arches(v: unknown, where: string): void {
  if (!Array.isArray(v)) fail(`${where} must be a list of SCMP_ARCH_* names`);
  v.forEach((a: unknown, i) => arch(a, `${where}[${i}]`));
}

function errno(v: unknown, where: string): void {
  if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 4095) fail(`${where} must be an errno number (0 to 4095)`);
}

function syscallName(v: unknown, where: string): void {
  if (typeof v !== 'string' || !SYSCALL_NAME.test(v)) fail(`${where}: ${shown(v)} is not a syscall name (lower-case letters, digits, _)`);
}

/** A value in a message: short, one line (JSON escapes newlines), and never a whole file's worth. */
function shown(v: unknown): string {
  const text = JSON.stringify(v) ?? String(v);
  return text.length > 40 ? `${text.slice(0, 40)}...` : text;
}
