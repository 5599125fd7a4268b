import { existsSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { FileSourceEvent } from './file-source.js';

/**
 * A followed file's position, `<inode>:<byte offset>` as the store keeps it: the byte after the last
 * complete line delivered. The inode is kept as a decimal string, exact even where inode numbers pass
 * 2^53 (overlayfs with xino sets high bits). Inode `0`, which no file has, means "from the start of
 * whatever file is at the path": the position of a source that is still waiting for its file.
 */
export interface FilePosition {
  ino: string;
  offset: number;
}

export const ANY_INODE = '0';

export function parseFilePosition(text: string): FilePosition {
  const m = /^(\d{1,20}):(\d{1,16})$/.exec(text);
  const offset = m === null ? NaN : Number(m[2]);
  if (m === null || !Number.isSafeInteger(offset)) {
    throw new RangeError(`a file position is "<inode>:<byte offset>", got ${JSON.stringify(text)}`);
  }
  return { ino: BigInt(m[1]!).toString(), offset };
}

/** Where to start reading, decided from a saved position and what is on disk now. */
export interface ResumePlan {
  /** the path itself, or `<path>.1` to finish a file that was rotated while we were down */
  file: string;
  /** the inode `file` must still have when opened for `offset` to apply; null: any file, from `offset` 0 */
  ino: string | null;
  offset: number;
  /** what to tell the operator about the decision, if anything */
  event: FileSourceEvent | null;
}

type Seen = { ino: string; size: number; regular: boolean } | 'missing' | 'unknown';

function look(path: string): Seen {
  try {
    const st = statSync(path, { bigint: true });
    return { ino: st.ino.toString(), size: Number(st.size), regular: st.isFile() };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'unknown';
  }
}

/**
 * No position: the end of the file as it is now (only new records), or its start with `readExisting`;
 * 0 of a file that appears later. Either way the operator is told what happens to the lines already
 * there, since a first start that silently skips a day of auditd's log looks like a broken daemon.
 * Same inode: resume, or 0 if the file is now shorter than the offset (copytruncate). Another inode:
 * finish `<path>.1` from the offset if it is the file we were reading (logrotate's name for it), then the
 * path from 0; otherwise the path from 0.
 */
export function planResume(path: string, from: FilePosition | undefined, readExisting = false): ResumePlan {
  const now = look(path);
  if (from === undefined) {
    if (typeof now !== 'object') return { file: path, ino: null, offset: 0, event: null };
    const offset = readExisting ? 0 : now.size;
    // a directory or device at the path gets its own error when opened
    const event: FileSourceEvent | null = now.size === 0 || !now.regular ? null : {
      type: 'start',
      detail: readExisting
        ? `${path}: no saved position; reading the ${now.size} bytes already in it from the start, then following it`
        : `${path}: no saved position; starting at its end (offset ${now.size}): the lines already in it are not read (--read-existing reads them)`,
    };
    return { file: path, ino: now.ino, offset, event };
  }
  if (from.ino === ANY_INODE) return { file: path, ino: null, offset: 0, event: null };
  // cannot look (a parent directory not searchable): try the position as it is; opening will say why not
  if (now === 'unknown') return { file: path, ino: from.ino, offset: from.offset, event: null };
  if (now !== 'missing' && now.ino === from.ino) {
    if (from.offset <= now.size) return { file: path, ino: from.ino, offset: from.offset, event: null };
    return {
      file: path, ino: null, offset: 0,
      event: { type: 'truncated', detail: `${path}: is ${now.size} bytes, shorter than the saved offset ${from.offset} (truncated while stopped, copytruncate?); reading it from the start` },
    };
  }
  const rotated = `${path}.1`;
  const old = look(rotated);
  if (typeof old === 'object' && old.ino === from.ino && from.offset <= old.size) {
    return {
      file: rotated, ino: from.ino, offset: from.offset,
      event: { type: 'rotated', detail: `${path}: rotated while stopped; finishing ${rotated} (inode ${from.ino}) from offset ${from.offset}, then ${path} from the start` },
    };
  }
  return {
    file: path, ino: null, offset: 0,
    event: { type: 'replaced', detail: `${path}: the file last read (inode ${from.ino}) is neither ${path} nor ${rotated} any more; lines it got after offset ${from.offset} are lost; reading ${path} from the start${now === 'missing' ? ' once it appears' : ''}` },
  };
}

/** A message that names the path and what to do about the error. */
export function describeFileError(path: string, err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'ENOENT': {
      const dir = dirname(path);
      return existsSync(dir)
        ? `${path}: does not exist yet; waiting for it to appear (check the path if it never does)`
        : `${dir}: directory does not exist; waiting for it and ${path} to appear (check the path if they never do)`;
    }
    case 'EACCES':
    case 'EPERM':
      return `${path}: permission denied; run the daemon as root or give its user read access (auditd's log is root-only, mode 0600)`;
    case 'EISDIR':
      return `${path}: is a directory; name the log file inside it`;
    case 'ENOTDIR':
      return `${path}: a part of the path is not a directory; check the path`;
    default:
      return `${path}: cannot read (${err.code ?? err.message}); retrying`;
  }
}
