import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseProcStat, type ProcStat } from './proc-stat.js';

export interface ProcFsOptions {
  /** Where procfs is mounted: `/proc`, or the host's proc mounted into a DaemonSet pod. Default `/proc`. */
  root?: string;
}

/**
 * A read that failed for another reason than the process being gone: permissions (hidepid, no
 * CAP_SYS_PTRACE), a wrong proc root that is not a directory, or content that is not what the kernel
 * writes. These are configuration problems that hold for every pid, so they are thrown rather than
 * returned: each caller would otherwise have to tell them from a pid that exited, and would be tempted
 * to treat them the same.
 */
export class ProcFsError extends Error {
  constructor(
    readonly path: string,
    readonly code: string,
    message: string,
  ) {
    super(`${path}: ${message}`);
    this.name = 'ProcFsError';
  }
}

/**
 * Synchronous reads of `/proc/<pid>/…`. Sync on purpose: the caller resolves a pid right when its
 * record is read, and every await between the record and the read lets a short-lived process exit.
 * A process that is gone (ENOENT, or ESRCH while it exits) gives null, never an error.
 */
export class ProcFs {
  readonly root: string;

  /** the root with one trailing slash: a pid's path is a concatenation, not a path.join per read */
  readonly #prefix: string;
  /** what every read goes through (a stat file is ~300 bytes, a cgroup file a few KiB); grown for a longer one */
  #buf = Buffer.allocUnsafe(8192);

  constructor(options: ProcFsOptions = {}) {
    this.root = options.root ?? '/proc';
    const base = join(this.root);
    this.#prefix = base.endsWith('/') ? base : `${base}/`;
  }

  /** Content of `<root>/<pid>/cgroup`, or null when the process is gone. */
  readCgroup(pid: number): string | null {
    return this.#read(pid, 'cgroup');
  }

  /**
   * ppid and start time from `<root>/<pid>/stat`, or null when the process is gone. `live`: the
   * process was there at the last read, as it mostly still is.
   */
  readStat(pid: number, live = false): ProcStat | null {
    const path = this.#path(pid, 'stat');
    // the first read of a pid, and the process is often gone already (short-lived children):
    // asking first costs a syscall, an ENOENT exception costs far more (a stack and a message);
    // a re-check of a live one seldom finds it gone, so it is not asked
    if (!live && !existsSync(path)) return null;
    const content = this.#read(pid, 'stat');
    if (content === null) return null;
    const stat = parseProcStat(content);
    if (stat === null) throw new ProcFsError(path, 'EBADSTAT', `not a stat file (${JSON.stringify(content.slice(0, 80))})`);
    return stat;
  }

  /** Field 22 of stat: start time in clock ticks since boot, or null when the process is gone. */
  readStartTime(pid: number): number | null {
    return this.readStat(pid)?.startTime ?? null;
  }

  /**
   * Live children of every thread of `pid` (`<root>/<pid>/task/<tid>/children`; a child belongs
   * to the thread that made it). Null when the process is gone (or the proc root has no task
   * lists); empty when the kernel lacks CONFIG_PROC_CHILDREN. Threads beyond the first 64 are not read: a process that forks from
   * that many threads is rare, and this runs per fork-like record.
   */
  readChildren(pid: number): number[] | null {
    const taskDir = join(this.#path(pid, 'task'));
    // a process that is gone is common here: ask without an exception, which costs far more
    if (statSync(taskDir, { throwIfNoEntry: false }) === undefined) return null;
    let tids: string[];
    try {
      tids = readdirSync(taskDir);
    } catch {
      return null;
    }
    const children: number[] = [];
    for (const tid of tids.slice(0, 64)) {
      let text: string;
      try {
        text = readFileSync(join(taskDir, tid, 'children'), 'latin1');
      } catch {
        continue;
      }
      for (const word of text.split(' ')) {
        const child = Number(word);
        if (word !== '' && Number.isSafeInteger(child) && child > 0) children.push(child);
      }
    }
    return children;
  }

  #path(pid: number, file: string): string {
    if (!Number.isSafeInteger(pid) || pid <= 0) throw new RangeError(`ProcFs: pid must be a positive integer, got ${pid}`);
    return `${this.#prefix}${pid}/${file}`;
  }

  /**
   * One open, one read, one close: readFileSync also asks the size (fstat, which procfs does not
   * know) and reads again to see the end, which made up half of a /proc read. A read that does
   * not fill the buffer has it all: procfs makes these files whole in one go.
   */
  #read(pid: number, file: string): string | null {
    const path = this.#path(pid, file);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      return this.#failed(path, err);
    }
    try {
      let n = 0;
      for (;;) {
        const got = readSync(fd, this.#buf, n, this.#buf.length - n, null);
        n += got;
        if (got === 0 || n < this.#buf.length) break;
        const bigger = Buffer.allocUnsafe(this.#buf.length * 2);
        this.#buf.copy(bigger, 0, 0, n);
        this.#buf = bigger;
      }
      return this.#buf.toString('utf8', 0, n);
    } catch (err) {
      return this.#failed(path, err);
    } finally {
      closeSync(fd);
    }
  }

  #failed(path: string, err: unknown): null {
    const code = (err as NodeJS.ErrnoException).code ?? 'UNKNOWN';
    if (code === 'ENOENT' || code === 'ESRCH') return null;
    throw new ProcFsError(path, code, describe(code));
  }
}

function describe(code: string): string {
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return 'permission denied; run as root (or with CAP_SYS_PTRACE), and mount the host /proc without hidepid';
    case 'ENOTDIR':
      return 'not a directory; check the proc root';
    default:
      return `cannot read (${code})`;
  }
}
