import { readdirSync, rmSync, statSync } from 'node:fs';

/** What makes a file the same file: its device and inode (a path can be given another). */
export interface FileIdentity {
  dev: number;
  ino: number;
}

/** The identity of what the path names now; null when nothing is there (or it cannot be stat'ed). */
export function fileIdentity(path: string): FileIdentity | null {
  try {
    const s = statSync(path);
    return { dev: s.dev, ino: s.ino };
  } catch {
    return null;
  }
}

/**
 * Whether the path still names the file the database was opened on. SQLite keeps writing to the
 * file it opened: after `rm` (or a `mv` of another file over the path) every commit goes to an
 * inode nobody can reach, and the data is gone with the process. One stat(2) costs a few
 * microseconds, so the daemon asks before each commit.
 *
 * Returns null while it does, else one line saying what happened, where, and what to do.
 */
export function databaseFileChange(path: string, opened: FileIdentity): string | null {
  const now = fileIdentity(path);
  if (now !== null && now.dev === opened.dev && now.ino === opened.ino) return null;
  const was = `inode ${opened.ino} on device ${opened.dev}`;
  return now === null
    ? `${path} was deleted while the daemon ran (the open database was ${was}): what it held is gone; the daemon keeps what it reads in memory and creates a new database there; to keep the old data, stop the daemon and restore the file from a backup`
    : `${path} was replaced while the daemon ran (the open database was ${was}, the path now names inode ${now.ino} on device ${now.dev}): the daemon keeps what it reads in memory and opens the file now there if it is a seccomp-auditor database; if it is not, move it away so a new one can be created`;
}

/**
 * The database's `-wal` and `-shm` files at the path that this process has open: the old
 * database's, once the main file was deleted or replaced. SQLite does not checkpoint or remove
 * its WAL on close when the main file has moved, so the old WAL stays at the path; a new database
 * (or another file moved there) would then read the old database's pages from it. Linux only
 * (/proc/self/fd); elsewhere none are found. Call it before closing the old connection, and
 * `removeIfStill` after.
 */
export function ownSidecars(path: string): { path: string; id: FileIdentity }[] {
  const open = new Set<string>();
  let fds: string[] = [];
  try {
    fds = readdirSync('/proc/self/fd');
  } catch {
    return [];
  }
  for (const fd of fds) {
    const id = fileIdentity(`/proc/self/fd/${fd}`);
    if (id !== null) open.add(`${id.dev}:${id.ino}`);
  }
  const found: { path: string; id: FileIdentity }[] = [];
  for (const suffix of ['-wal', '-shm']) {
    const id = fileIdentity(path + suffix);
    if (id !== null && open.has(`${id.dev}:${id.ino}`)) found.push({ path: path + suffix, id });
  }
  return found;
}

/** Removes each file that is still the one found (never one put there meanwhile). */
export function removeIfStill(files: { path: string; id: FileIdentity }[]): void {
  for (const f of files) {
    const now = fileIdentity(f.path);
    if (now !== null && now.dev === f.id.dev && now.ino === f.id.ino) rmSync(f.path, { force: true });
  }
}
