import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Every way the database can fail that an operator can act on. Each code is documented once,
 * here, and every message is one line naming the path and the fix: the daemon logs it and keeps
 * serving what it can, so the line is all the operator gets.
 */
export type StoreErrorCode =
  /** the file is not SQLite, or its pages are damaged (SQLITE_NOTADB, SQLITE_CORRUPT) */
  | 'SA_DB_CORRUPT'
  /** a healthy SQLite database that belongs to another program */
  | 'SA_DB_FOREIGN'
  /** written by a newer seccomp-auditor: its schema version is beyond the migrations we know */
  | 'SA_DB_NEWER'
  /** the file or its directory cannot be written (EACCES, EROFS, an immutable file) */
  | 'SA_DB_READONLY'
  /** SQLITE_FULL / ENOSPC */
  | 'SA_DB_FULL'
  /** another connection held the write lock for longer than the busy timeout */
  | 'SA_DB_BUSY'
  /** a migration failed: a bug, the database stays at the version before it */
  | 'SA_DB_MIGRATION'
  /** a batch breaks the FlushBatch contract (a delta for a workload never described): a bug in the caller */
  | 'SA_BATCH_INVALID'
  /** any other I/O failure */
  | 'SA_DB_IO';

export class StoreError extends Error {
  override readonly name = 'StoreError';
  readonly code: StoreErrorCode;
  readonly path: string;

  constructor(code: StoreErrorCode, path: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.path = path;
  }
}

/**
 * Turns whatever better-sqlite3 or node:fs threw into a StoreError. `rolledBack` finishes the
 * sentence for failures that may leave the operator wondering what was kept.
 */
export function storeErrorFrom(err: unknown, path: string, rolledBack = 'nothing was changed'): StoreError {
  if (err instanceof StoreError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  const c = typeof code === 'string' ? code : 'UNKNOWN';
  const detail = err instanceof Error ? err.message : String(err);
  const opts = { cause: err };
  if (c === 'SQLITE_NOTADB' || c.startsWith('SQLITE_CORRUPT')) {
    return new StoreError('SA_DB_CORRUPT', path, `${path} is not a seccomp-auditor database or is corrupt (${c}): move it aside and restart; data in it is not read`, opts);
  }
  if (c === 'SQLITE_FULL' || c === 'ENOSPC') {
    return new StoreError('SA_DB_FULL', path, `cannot write ${path}: the disk is full (${c}): free space on its volume or choose --db; ${rolledBack}`, opts);
  }
  if (c.startsWith('SQLITE_BUSY') || c.startsWith('SQLITE_LOCKED')) {
    return new StoreError('SA_DB_BUSY', path, `${path} is locked by another writer (${c}): stop the other process using it or choose another --db; ${rolledBack}`, opts);
  }
  if (c.startsWith('SQLITE_CANTOPEN') && isDirectory(path)) {
    return new StoreError('SA_DB_IO', path, `cannot open ${path}: it is a directory (${c}): give --db a file path`, opts);
  }
  const denied = writeDenial(path, c);
  if (denied !== null) {
    return new StoreError('SA_DB_READONLY', path, `cannot write ${path}: ${denied}: run as a user that can write it or choose --db`, opts);
  }
  return new StoreError('SA_DB_IO', path, `I/O error on ${path} (${c}: ${detail}): check the volume (dmesg) or choose --db; ${rolledBack}`, opts);
}

const DENIALS: Record<string, string> = {
  EROFS: 'read-only file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted (an immutable file?)',
};

/**
 * SQLite reports "cannot write" as SQLITE_READONLY, SQLITE_CANTOPEN or SQLITE_PERM, none of which
 * says why; asking the kernel (access(2) on the file, else its nearest existing parent) gets the
 * errno the operator needs. Returns null when the path is writable after all.
 */
function writeDenial(path: string, code: string): string | null {
  if (code in DENIALS) return `${DENIALS[code]} (${code})`;
  // ENOENT: a recursive mkdir on a read-only file system reports the parent it could not create as missing
  if (!(code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN') || code === 'SQLITE_PERM' || code === 'SQLITE_AUTH' || code === 'ENOENT')) {
    return null;
  }
  let p = path;
  while (!existsSync(p) && dirname(p) !== p) p = dirname(p);
  for (const target of existsSync(path) ? [path, dirname(path)] : [p]) {
    try {
      accessSync(target, constants.W_OK);
    } catch (e) {
      const errno = (e as NodeJS.ErrnoException).code ?? '';
      return `${DENIALS[errno] ?? 'not writable'} (${code.startsWith('SQLITE_') ? `${errno}, ${code}` : errno})`;
    }
  }
  // writable for access(2) yet SQLite could not: still a write failure, just without a cause to name
  return code.startsWith('SQLITE_CANTOPEN') || code === 'ENOENT' ? null : `the database refused writes (${code})`;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
