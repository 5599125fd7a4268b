/**
 * Runs programs under a systemd unit's SystemCallFilter= as a real seccomp filter, without systemd
 * as PID 1: systemd-analyze expands the groups into names, seccomp-allow.c loads them with
 * libseccomp as an allow-list whose default is EPERM (SystemCallErrorNumber=EPERM).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTempDir, type TestLike } from './real-kernel.js';

const SOURCE = fileURLToPath(new URL('./seccomp-allow.c', import.meta.url));
const LIBSECCOMP = [
  '/usr/lib/x86_64-linux-gnu/libseccomp.so.2',
  '/usr/lib/aarch64-linux-gnu/libseccomp.so.2',
  '/usr/lib64/libseccomp.so.2',
  '/usr/lib/libseccomp.so.2',
].find((p) => existsSync(p));

/** Why this machine cannot run a program under a seccomp allow-list, or null when it can. */
export function seccompAllowUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  // loading a filter needs no root (libseccomp sets no_new_privs), but the daemon reads as root does
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()})`;
  if (!existsSync('/proc/sys/kernel/seccomp/actions_avail')) return 'seccomp filters unavailable: no /proc/sys/kernel/seccomp/actions_avail';
  if (LIBSECCOMP === undefined) return 'libseccomp.so.2 is not installed (Debian: libseccomp2)';
  if (spawnSync('cc', ['--version'], { stdio: 'ignore' }).status !== 0) return 'no C compiler: `cc` is not on PATH';
  if (spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status !== 0) return 'systemd-analyze is not installed';
  return null;
}

/** requireRealKernel's contract: true when the test can run; else a skip, or a failure under SECCOMP_AUDITOR_REQUIRE_KERNEL=1. */
export function requireSeccompAllow(t: TestLike): boolean {
  const reason = seccompAllowUnavailable();
  if (reason === null) return true;
  if (process.env['SECCOMP_AUDITOR_REQUIRE_KERNEL'] === '1') t.fail(`seccomp allow-list test cannot run, but SECCOMP_AUDITOR_REQUIRE_KERNEL=1: ${reason}`);
  else t.plan(0, `needs seccomp: ${reason}`);
  return false;
}

const groups = new Map<string, string[]>();

/** A group's direct members (names and nested @groups), as `systemd-analyze syscall-filter @group` lists them. */
function groupMembers(group: string): string[] {
  let members = groups.get(group);
  if (members === undefined) {
    const out = execFileSync('systemd-analyze', ['syscall-filter', group], { encoding: 'utf8' });
    const lines = out.split('\n').map((l) => l.trim());
    if (lines[0] !== group) throw new Error(`systemd-analyze does not know ${group}: ${out.slice(0, 200)}`);
    members = lines.slice(1).filter((l) => l !== '' && !l.startsWith('#'));
    groups.set(group, members);
  }
  return members;
}

function expand(items: string[], into: Set<string>, seen = new Set<string>()): Set<string> {
  for (const item of items) {
    if (!item.startsWith('@')) into.add(item);
    else if (!seen.has(item)) {
      seen.add(item);
      expand(groupMembers(item), into, seen);
    }
  }
  return into;
}

/**
 * The names a unit's SystemCallFilter= lines allow, in systemd's semantics: the first line (not
 * starting with ~) makes an allow-list; later lines add to it, `~` lines remove from it.
 */
export function allowedSyscalls(filterLines: string[]): Set<string> {
  let allowed: Set<string> | null = null;
  for (const line of filterLines) {
    const deny = line.startsWith('~');
    const names = expand((deny ? line.slice(1) : line).trim().split(/\s+/).filter((s) => s !== ''), new Set());
    if (allowed === null) {
      if (deny) throw new Error('a deny-list first (SystemCallFilter=~...) is not what this helper models');
      allowed = names;
    } else {
      for (const n of names) (deny ? allowed.delete(n) : allowed.add(n));
    }
  }
  if (allowed === null) throw new Error('no SystemCallFilter= lines');
  return allowed;
}

let binary: string | undefined;

/** Compiles seccomp-allow.c once per process. */
export function buildSeccompAllow(): string {
  if (binary === undefined) {
    const out = join(makeTempDir('seccomp-allow-'), 'seccomp-allow');
    execFileSync('cc', ['-O2', '-Wall', '-o', out, SOURCE, LIBSECCOMP!]);
    binary = out;
  }
  return binary;
}

/** argv that runs `argv` under an allow-list of `names`: `[seccomp-allow, names-file, --, ...argv]`. */
export function underAllowList(names: Iterable<string>, argv: string[]): string[] {
  const file = join(makeTempDir('seccomp-allow-names-'), 'names');
  writeFileSync(file, `${[...names].sort().join('\n')}\n`);
  return [buildSeccompAllow(), file, '--', ...argv];
}
