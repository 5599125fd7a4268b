import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real file-system failures for the store's error tests: a tmpfs small enough to fill, remounted
 * read-only, with immutable files. Needs root and mount(2) (the test VM has both); elsewhere the
 * tests that need it skip with the reason.
 */

interface Teardown {
  teardown(fn: () => void | Promise<void>): void;
}

let reason: string | null | undefined;

export function mountsUnavailable(): string | null {
  if (reason !== undefined) return reason;
  reason = null;
  if (process.platform !== 'linux') return (reason = `not Linux (${process.platform})`);
  if (process.getuid?.() !== 0) return (reason = `not root (uid ${process.getuid?.()})`);
  const dir = mkdtempSync(join(tmpdir(), 'sa-mount-probe-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'pipe' });
    execFileSync('umount', [dir], { stdio: 'pipe' });
  } catch (err) {
    reason = `cannot mount a tmpfs: ${(err as { stderr?: Buffer }).stderr?.toString().trim() || (err as Error).message}`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return reason;
}

/** A fresh tmpfs of `bytes` (rounded up to pages by the kernel), unmounted and removed at teardown. */
export function tinyTmpfs(t: Teardown, bytes: number): string {
  const dir = mkdtempSync(join(tmpdir(), 'sa-tmpfs-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${bytes},mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  t.teardown(() => {
    try {
      execFileSync('umount', [dir], { stdio: 'pipe' });
    } catch {
      // something still holds a file open: detach now, the kernel frees it when that closes
      execFileSync('umount', ['--lazy', dir], { stdio: 'pipe' });
    }
    rmSync(dir, { recursive: true, force: true });
  });
  return dir;
}

export function remount(dir: string, mode: 'ro' | 'rw'): void {
  execFileSync('mount', ['-o', `remount,${mode}`, dir], { stdio: 'pipe' });
}

export function chattr(flag: '+i' | '-i', path: string): void {
  execFileSync('chattr', [flag, path], { stdio: 'pipe' });
}

/** A plain temp dir (0755, so a child running as nobody can look in), removed at teardown. */
export function tempDir(t: Teardown, prefix = 'sa-store-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755);
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}
