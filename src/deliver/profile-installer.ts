/**
 * Puts seccomp profiles where the kubelet finds them (`<kubelet seccomp dir>/seccomp-auditor/
 * NAME.json`, named in a pod as `localhostProfile: seccomp-auditor/NAME.json`), and never touches
 * a file it did not write.
 *
 * Ownership lives in a sidecar record (`.seccomp-auditor-installed.json` in the same directory),
 * not in the profile: runtimes ignore unknown fields, but a marker would change the bytes people
 * compare and copy. A file is ours when the record names it and the file still holds the bytes
 * we wrote (by sha256); a file someone edited or placed by hand is left alone and reported.
 * A file already holding exactly the bytes we would write is adopted: listed (pods may use it,
 * and a daemon whose record was lost sees its files again), but never overwritten nor removed:
 * we cannot tell it from one placed by hand.
 *
 * Other root processes write this directory too, so nothing found in it is trusted: the
 * directory is used through a descriptor opened without following a symlink (and must still be
 * the one at its path), a profile path is read without following links or blocking on FIFOs
 * and with a size cap (regular-file.ts), a new file is created with link(), which fails when a
 * file appeared meanwhile, and a removal first moves the file aside, then deletes it only if it
 * is still the file we wrote. Replacing our own file checks its inode just before the rename;
 * a file swapped in within those microseconds is the one window left (renameat2's
 * RENAME_EXCHANGE would close it; Node has no binding).
 *
 * Writes are atomic (a temporary file in the same directory, fsync, link or rename, fsync of
 * the directory), so the kubelet never reads half a profile. The record is written before the
 * rename and keeps the previous digest too, so a crash between the two leaves a file the record
 * still recognises; a write that fails puts the record back.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync, closeSync, constants, existsSync, fstatSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { LOG_ALL_NAME } from '../profile/log-all-profile.js';
import { MAX_PROFILE_BYTES } from '../profile/oci-profile-check.js';
import { readRegularFile, type FileRead } from './regular-file.js';

export type ProfileSource = 'configmap' | 'api' | 'builtin';

export interface InstalledProfile {
  name: string;
  sha256: string;
  source: ProfileSource;
  /** ms since the epoch */
  installedAt: number;
}

export type InstallOutcome =
  | { outcome: 'written' | 'unchanged'; profile: InstalledProfile }
  | { outcome: 'refused'; reason: string };

export type RemoveOutcome = 'removed' | 'absent' | 'refused';

/** What the kubelet accepts as a file stem here: a DNS-1123 subdomain with `_` allowed; no `/`, so no way out of the directory. */
export const PROFILE_NAME = /^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$/;

/** `.NAME.json.tmp-<12 hex>`: a write in progress; `.NAME.json.old-<12 hex>`: a file moved aside to be removed */
const TEMP_MARK = '.tmp-';
const ASIDE_MARK = '.old-';
const TEMP_HEX = 12;
/** only these are ever cleaned up: a name of someone else's that merely contains `.tmp-` is not ours */
const OUR_TEMP = new RegExp(`^\\.[a-z0-9][-a-z0-9._]*\\.json\\${TEMP_MARK}[0-9a-f]{${TEMP_HEX}}$`);
/**
 * The longest NAME whose temporary file still fits in a file name (255 bytes on Linux file
 * systems): `.` NAME `.json` `.tmp-` 12 hex digits. Longer names would fail with ENAMETOOLONG
 * in the middle of an install, so they are refused up front.
 */
export const PROFILE_NAME_MAX = 255 - '.'.length - '.json'.length - TEMP_MARK.length - TEMP_HEX;

export function isProfileName(name: string): boolean {
  return name.length <= PROFILE_NAME_MAX && PROFILE_NAME.test(name);
}

/** The directory under the kubelet's seccomp root that is ours, and the name a pod uses for a profile in it. */
export const SUBDIR = 'seccomp-auditor';
const RECORD = '.seccomp-auditor-installed.json';
/** the record names every profile: far more than any node has */
const MAX_RECORD_BYTES = 16 << 20;
/** names only the daemon itself installs */
const RESERVED: ReadonlySet<string> = new Set([LOG_ALL_NAME]);

interface RecordEntry {
  sha256: string;
  /** the digest before the last write: what the file holds if we crashed between record and rename */
  previous?: string;
  source: ProfileSource;
  installedAt: number;
  /**
   * Found on disk already holding these bytes rather than written here: placed by hand, or ours
   * from before a lost record. Managed while it keeps them, but never deleted: pods may use it.
   */
  adopted?: true;
}

/** The installation directory is missing or not writable: the message names the path and the fix. */
export class ProfileDirError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

export function sha256(bytes: string | Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export class ProfileInstaller {
  /** `<kubelet seccomp dir>/seccomp-auditor`, for messages and the API */
  readonly dir: string;
  readonly #clock: () => number;
  /** the directory, opened without following links; every path below goes through it */
  #fd: number;
  #at: string;
  readonly #dev: number;
  readonly #ino: number;
  #record: Map<string, RecordEntry>;

  /**
   * Opens (creating `seccomp-auditor/` inside it when needed) the kubelet's seccomp directory;
   * throws a ProfileDirError when it does not exist, cannot be written, or `seccomp-auditor` in
   * it is not a real directory. Leftover temporary files of a crashed write are removed.
   */
  static open(options: { kubeletSeccompDir: string; clock?: () => number }): ProfileInstaller {
    const root = options.kubeletSeccompDir;
    let isDir = false;
    try {
      isDir = statSync(root).isDirectory();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new ProfileDirError(root, `cannot read the kubelet's seccomp directory ${root} (${(err as NodeJS.ErrnoException).code})`);
    }
    if (!isDir) {
      throw new ProfileDirError(root, `the kubelet's seccomp directory ${root} does not exist: create it (in a DaemonSet: a hostPath volume of type DirectoryOrCreate) or point --kubelet-seccomp-dir at it (none turns installation off)`);
    }
    const dir = join(root, SUBDIR);
    try {
      mkdirSync(dir, { mode: 0o755 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new ProfileDirError(dir, `cannot create ${dir} (${code}): mount the kubelet's seccomp directory read-write and run as a user that may write it (root)`);
    }
    let fd: number;
    try {
      fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      // with O_DIRECTORY, Linux says ENOTDIR for a symlink as well
      let link = false;
      try {
        link = lstatSync(dir).isSymbolicLink();
      } catch {
        // gone again: reported as the open's error
      }
      if (code === 'ELOOP' || link) throw new ProfileDirError(dir, `${dir} is a symbolic link; the daemon writes only into a real directory: remove it (the daemon creates the directory)`);
      if (code === 'ENOTDIR') throw new ProfileDirError(dir, `${dir} is not a directory; move it away (the daemon creates the directory)`);
      throw new ProfileDirError(dir, `cannot open ${dir} (${code}): mount the kubelet's seccomp directory read-write and run as a user that may write it (root)`);
    }
    // /proc/self/fd/N resolves to the open directory itself, whatever its path names later:
    // Node has no openat(), and this is how paths relative to a descriptor are had without it
    const at = `/proc/self/fd/${fd}`;
    if (!existsSync(at)) {
      closeSync(fd);
      throw new ProfileDirError(dir, `cannot work through ${at}: the daemon needs /proc mounted to install profiles safely`);
    }
    try {
      accessSync(at, constants.W_OK);
    } catch (err) {
      closeSync(fd);
      throw new ProfileDirError(dir, `cannot write to ${dir} (${(err as NodeJS.ErrnoException).code}): mount the kubelet's seccomp directory read-write and run as a user that may write it (root)`);
    }
    return new ProfileInstaller(dir, fd, options.clock ?? Date.now);
  }

  private constructor(dir: string, fd: number, clock: () => number) {
    this.dir = dir;
    this.#fd = fd;
    this.#at = `/proc/self/fd/${fd}`;
    const st = fstatSync(fd);
    this.#dev = st.dev;
    this.#ino = st.ino;
    this.#clock = clock;
    for (const f of readdirSync(this.#at)) {
      if (OUR_TEMP.test(f)) unlinkQuietly(join(this.#at, f));
    }
    this.#record = this.#readRecord();
  }

  /** Closes the directory; the installer is not used afterwards. */
  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    this.#fd = -1;
  }

  /** The path of NAME's file. */
  pathOf(name: string): string {
    return join(this.dir, `${name}.json`);
  }

  /**
   * Writes NAME.json with these bytes, unless the file is not ours or the name belongs to
   * another source: the ConfigMap takes over what the API wrote (it is the cluster's record),
   * the API may not replace what the ConfigMap manages, and builtin names are the daemon's.
   */
  install(name: string, bytes: string | Buffer, source: ProfileSource): InstallOutcome {
    if (!isProfileName(name)) return { outcome: 'refused', reason: `'${name.length > 64 ? `${name.slice(0, 64)}...` : name}' is not a profile name ([a-z0-9]([-a-z0-9._]*[a-z0-9])?, at most ${PROFILE_NAME_MAX} characters)` };
    if (RESERVED.has(name) && source !== 'builtin') return { outcome: 'refused', reason: `${name}.json is the daemon's own profile; choose another name` };
    const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    if (buffer.length > MAX_PROFILE_BYTES) return { outcome: 'refused', reason: `the profile has ${buffer.length} bytes; at most ${MAX_PROFILE_BYTES}` };
    this.#checkDir();
    const entry = this.#record.get(name);
    if (entry !== undefined && entry.source === 'configmap' && source === 'api') {
      return { outcome: 'refused', reason: `${name}.json comes from the ConfigMap; change it there (the sync would undo this)` };
    }
    const digest = sha256(buffer);
    const found = this.#read(name);
    if (found.kind === 'other') {
      return { outcome: 'refused', reason: `${this.pathOf(name)} is ${found.what}, not a file seccomp-auditor wrote; leaving it alone (remove it to let the daemon install ${name}.json)` };
    }
    const current = found.kind === 'file' ? sha256(found.bytes) : null;
    if (current === digest) {
      const kept: RecordEntry = entry !== undefined && entry.source === source && entry.sha256 === digest
        ? entry
        : {
          sha256: digest, source, installedAt: entry?.sha256 === digest ? entry.installedAt : this.#clock(),
          ...(entry === undefined || entry.adopted ? { adopted: true as const } : {}),
        };
      if (kept !== entry) this.#save(name, kept);
      return { outcome: 'unchanged', profile: toProfile(name, kept) };
    }
    if (current !== null && !ownedBy(entry, current)) {
      return {
        outcome: 'refused',
        reason: entry === undefined || entry.adopted === true
          ? `${this.pathOf(name)} exists and was not written by seccomp-auditor; leaving it alone (remove it to let the daemon install ${name}.json)`
          : `${this.pathOf(name)} was changed since seccomp-auditor wrote it; leaving it alone (remove it to let the daemon install ${name}.json)`,
      };
    }
    const next: RecordEntry = { sha256: digest, ...(current !== null ? { previous: current } : {}), source, installedAt: this.#clock() };
    this.#save(name, next);
    let placed: boolean;
    try {
      placed = this.#place(`${name}.json`, buffer, found.kind === 'file' ? found : null);
    } catch (err) {
      this.#restore(name, entry);
      throw err;
    }
    if (!placed) {
      this.#restore(name, entry);
      return { outcome: 'refused', reason: `${this.pathOf(name)} was created or replaced by someone else while seccomp-auditor wrote it; leaving it alone (remove it to let the daemon install ${name}.json)` };
    }
    return { outcome: 'written', profile: toProfile(name, next) };
  }

  /**
   * Removes NAME.json if this source installed it and it still holds what was written. A file
   * changed since is left in place (and forgotten: it is someone else's now).
   */
  remove(name: string, source: ProfileSource): RemoveOutcome {
    this.#checkDir();
    const entry = this.#record.get(name);
    const found = this.#read(name);
    if (entry === undefined || entry.source !== source) return found.kind === 'absent' ? 'absent' : 'refused';
    // an adopted file stays where it was found: forgetting it is all a removal does
    const ours = found.kind === 'file' && ownedBy(entry, sha256(found.bytes)) && entry.adopted !== true;
    const removed = ours && this.#unlinkIfStill(`${name}.json`, entry);
    this.#save(name, null);
    return found.kind === 'absent' ? 'absent' : removed ? 'removed' : 'refused';
  }

  /** Names this source installed (whether or not their files are still there). */
  namesFrom(source: ProfileSource): string[] {
    return [...this.#record].filter(([, e]) => e.source === source).map(([n]) => n).sort();
  }

  /** What is installed and still holds the bytes written (or adopted), by name. */
  list(): InstalledProfile[] {
    const out: InstalledProfile[] = [];
    for (const [name, entry] of [...this.#record].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const found = this.#read(name);
      if (found.kind === 'file' && sha256(found.bytes) === entry.sha256) out.push(toProfile(name, entry));
    }
    return out;
  }

  /** The directory at our path must still be the one we opened: writing into one the kubelet no longer looks at would help nobody. */
  #checkDir(): void {
    let st;
    try {
      st = lstatSync(this.dir);
    } catch {
      st = null;
    }
    if (st === null || !st.isDirectory() || st.dev !== this.#dev || st.ino !== this.#ino) {
      throw new ProfileDirError(this.dir, `${this.dir} is no longer the directory the daemon opened (removed, moved, or replaced by a symbolic link); restart the daemon to use the new one`);
    }
  }

  #read(name: string): FileRead {
    return readRegularFile(join(this.#at, `${name}.json`), MAX_PROFILE_BYTES);
  }

  /**
   * Puts the bytes at FILE: with link() when there was no file (fails if one appeared since),
   * else by renaming over the file we wrote, if it is still that inode. False: someone else's
   * file is there now, and it was left alone.
   */
  #place(file: string, bytes: Buffer, replacing: { dev: number; ino: number } | null): boolean {
    const temp = this.#writeTemp(file, bytes);
    const target = join(this.#at, file);
    try {
      if (replacing === null) {
        try {
          linkSync(temp, target);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
          throw err;
        }
      } else {
        let st;
        try {
          st = lstatSync(target);
        } catch {
          st = null;
        }
        if (st === null || st.dev !== replacing.dev || st.ino !== replacing.ino) return false;
        renameSync(temp, target);
      }
    } finally {
      unlinkQuietly(temp);
    }
    fsyncDir(this.#at);
    return true;
  }

  /**
   * Deletes FILE if it still holds what the entry says we wrote: moved aside first (atomic), so
   * what is deleted is exactly what was checked; anything else is moved back.
   */
  #unlinkIfStill(file: string, entry: RecordEntry): boolean {
    const aside = join(this.#at, `.${file}${ASIDE_MARK}${randomBytes(TEMP_HEX / 2).toString('hex')}`);
    try {
      renameSync(join(this.#at, file), aside);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false;
      throw err;
    }
    const moved = readRegularFile(aside, MAX_PROFILE_BYTES);
    if (moved.kind === 'file' && ownedBy(entry, sha256(moved.bytes))) {
      unlinkSync(aside);
      fsyncDir(this.#at);
      return true;
    }
    try {
      // link, not rename: a file that appeared at the name meanwhile is not replaced
      linkSync(aside, join(this.#at, file));
      unlinkSync(aside);
    } catch {
      // someone else's file sits at the name now; theirs stays moved aside, under a name the cleanup never deletes
    }
    return false;
  }

  #writeTemp(file: string, bytes: Buffer): string {
    const temp = join(this.#at, `.${file}${TEMP_MARK}${randomBytes(TEMP_HEX / 2).toString('hex')}`);
    const fd = openSync(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o644);
    try {
      for (let off = 0; off < bytes.length;) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } catch (err) {
      closeSync(fd);
      unlinkQuietly(temp);
      throw err;
    }
    closeSync(fd);
    return temp;
  }

  #readRecord(): Map<string, RecordEntry> {
    const found = readRegularFile(join(this.#at, RECORD), MAX_RECORD_BYTES);
    const map = new Map<string, RecordEntry>();
    // a damaged record (or something else in its place): files holding exactly what we would write are adopted again, the rest is left alone
    if (found.kind !== 'file') return map;
    try {
      const parsed = JSON.parse(found.bytes.toString('utf8')) as { profiles?: Record<string, RecordEntry> };
      for (const [name, e] of Object.entries(parsed.profiles ?? {})) {
        if (isProfileName(name) && typeof e?.sha256 === 'string' && ['configmap', 'api', 'builtin'].includes(e.source)) map.set(name, e);
      }
    } catch {
      // as above
    }
    return map;
  }

  /** Puts NAME's entry back as it was before a write that did not happen. */
  #restore(name: string, entry: RecordEntry | undefined): void {
    try {
      this.#save(name, entry ?? null);
    } catch {
      // the write's own error is the one to report; a stale entry is harmless (its digest matches no file)
    }
  }

  #save(name: string, entry: RecordEntry | null): void {
    const next = new Map(this.#record);
    if (entry === null) next.delete(name);
    else next.set(name, entry);
    const profiles = Object.fromEntries([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    const temp = this.#writeTemp(RECORD, Buffer.from(JSON.stringify({ version: 1, profiles }, null, 2) + '\n'));
    try {
      renameSync(temp, join(this.#at, RECORD));
    } catch (err) {
      unlinkQuietly(temp);
      throw err;
    }
    fsyncDir(this.#at);
    this.#record = next;
  }
}

/** Whether the file holding DIGEST is one we wrote: an adopted one never is. */
function ownedBy(entry: RecordEntry | undefined, digest: string): boolean {
  return entry !== undefined && entry.adopted !== true && (entry.sha256 === digest || entry.previous === digest);
}

function toProfile(name: string, e: RecordEntry): InstalledProfile {
  return { name, sha256: e.sha256, source: e.source, installedAt: e.installedAt };
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
