/**
 * Puts seccomp profiles where the kubelet finds them (`<kubelet seccomp dir>/seccomp-auditor/
 * NAME.json`, named in a pod as `localhostProfile: seccomp-auditor/NAME.json`), and never touches
 * a file it did not write.
 *
 * Ownership lives in a sidecar record (`.seccomp-auditor-installed.json` in the same directory),
 * not in the profile: runtimes ignore unknown fields, but a marker would change the bytes people
 * compare and copy. A file is ours when the record names it and the file still holds the bytes
 * we wrote (by sha256); a file someone edited or placed by hand is left alone and reported.
 * A file already holding exactly the bytes we would write is adopted: writing would change
 * nothing, and it lets a daemon whose record was lost take its files back.
 *
 * Writes are atomic (a temporary file in the same directory, fsync, rename, fsync of the
 * directory), so the kubelet never reads half a profile. The record is written before the rename
 * and keeps the previous digest too, so a crash between the two leaves a file the record still
 * recognises.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync, constants, accessSync,
} from 'node:fs';
import { join } from 'node:path';
import { LOG_ALL_NAME } from '../profile/log-all-profile.js';

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
export const PROFILE_NAME_MAX = 253;

export function isProfileName(name: string): boolean {
  return name.length <= PROFILE_NAME_MAX && PROFILE_NAME.test(name);
}

/** The directory under the kubelet's seccomp root that is ours, and the name a pod uses for a profile in it. */
export const SUBDIR = 'seccomp-auditor';
const RECORD = '.seccomp-auditor-installed.json';
const TEMP_MARK = '.tmp-';
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
  /** `<kubelet seccomp dir>/seccomp-auditor` */
  readonly dir: string;
  readonly #clock: () => number;
  #record: Map<string, RecordEntry>;

  /**
   * Opens (creating `seccomp-auditor/` inside it when needed) the kubelet's seccomp directory;
   * throws a ProfileDirError when it does not exist or cannot be written. Leftover temporary
   * files of a crashed write are removed.
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
    try {
      accessSync(dir, constants.W_OK);
    } catch (err) {
      throw new ProfileDirError(dir, `cannot write to ${dir} (${(err as NodeJS.ErrnoException).code}): mount the kubelet's seccomp directory read-write and run as a user that may write it (root)`);
    }
    return new ProfileInstaller(dir, options.clock ?? Date.now);
  }

  private constructor(dir: string, clock: () => number) {
    this.dir = dir;
    this.#clock = clock;
    for (const f of readdirSync(dir)) {
      if (f.startsWith('.') && f.includes(TEMP_MARK)) unlinkQuietly(join(dir, f));
    }
    this.#record = this.#readRecord();
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
    if (!isProfileName(name)) return { outcome: 'refused', reason: `'${name}' is not a profile name ([a-z0-9]([-a-z0-9._]*[a-z0-9])?, at most ${PROFILE_NAME_MAX})` };
    if (RESERVED.has(name) && source !== 'builtin') return { outcome: 'refused', reason: `${name}.json is the daemon's own profile; choose another name` };
    const entry = this.#record.get(name);
    if (entry !== undefined && entry.source === 'configmap' && source === 'api') {
      return { outcome: 'refused', reason: `${name}.json comes from the ConfigMap; change it there (the sync would undo this)` };
    }
    const digest = sha256(bytes);
    const current = this.#digestOnDisk(name);
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
        reason: entry === undefined
          ? `${this.pathOf(name)} exists and was not written by seccomp-auditor; leaving it alone (remove it to let the daemon install ${name}.json)`
          : `${this.pathOf(name)} was changed since seccomp-auditor wrote it; leaving it alone (remove it to let the daemon install ${name}.json)`,
      };
    }
    const next: RecordEntry = { sha256: digest, ...(current !== null ? { previous: current } : {}), source, installedAt: this.#clock() };
    this.#save(name, next);
    writeAtomically(this.dir, `${name}.json`, bytes);
    return { outcome: 'written', profile: toProfile(name, next) };
  }

  /**
   * Removes NAME.json if this source installed it and it still holds what was written. A file
   * changed since is left in place (and forgotten: it is someone else's now).
   */
  remove(name: string, source: ProfileSource): RemoveOutcome {
    const entry = this.#record.get(name);
    if (entry === undefined || entry.source !== source) return this.#digestOnDisk(name) === null ? 'absent' : 'refused';
    const current = this.#digestOnDisk(name);
    // an adopted file stays where it was found: forgetting it is all a removal does
    const ours = current !== null && ownedBy(entry, current) && entry.adopted !== true;
    if (ours) {
      unlinkSync(this.pathOf(name));
      fsyncDir(this.dir);
    }
    this.#save(name, null);
    return current === null ? 'absent' : ours ? 'removed' : 'refused';
  }

  /** Names this source installed (whether or not their files are still there). */
  namesFrom(source: ProfileSource): string[] {
    return [...this.#record].filter(([, e]) => e.source === source).map(([n]) => n).sort();
  }

  /** What is installed and still holds the bytes written, by name. */
  list(): InstalledProfile[] {
    const out: InstalledProfile[] = [];
    for (const [name, entry] of [...this.#record].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      if (this.#digestOnDisk(name) === entry.sha256) out.push(toProfile(name, entry));
    }
    return out;
  }

  #digestOnDisk(name: string): string | null {
    try {
      return sha256(readFileSync(this.pathOf(name)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  #readRecord(): Map<string, RecordEntry> {
    let text: string;
    try {
      text = readFileSync(join(this.dir, RECORD), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map();
      throw err;
    }
    const map = new Map<string, RecordEntry>();
    try {
      const parsed = JSON.parse(text) as { profiles?: Record<string, RecordEntry> };
      for (const [name, e] of Object.entries(parsed.profiles ?? {})) {
        if (isProfileName(name) && typeof e?.sha256 === 'string' && ['configmap', 'api', 'builtin'].includes(e.source)) map.set(name, e);
      }
    } catch {
      // a damaged record: files holding exactly what we would write are adopted again, the rest is left alone
    }
    return map;
  }

  #save(name: string, entry: RecordEntry | null): void {
    const next = new Map(this.#record);
    if (entry === null) next.delete(name);
    else next.set(name, entry);
    const profiles = Object.fromEntries([...next].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    writeAtomically(this.dir, RECORD, JSON.stringify({ version: 1, profiles }, null, 2) + '\n');
    this.#record = next;
  }
}

function ownedBy(entry: RecordEntry | undefined, digest: string): boolean {
  return entry !== undefined && (entry.sha256 === digest || entry.previous === digest);
}

function toProfile(name: string, e: RecordEntry): InstalledProfile {
  return { name, sha256: e.sha256, source: e.source, installedAt: e.installedAt };
}

/** temp file beside the target, fsync, rename over it, fsync the directory (so the rename survives a crash) */
function writeAtomically(dir: string, file: string, bytes: string | Buffer): void {
  const temp = join(dir, `.${file}${TEMP_MARK}${process.pid}-${randomBytes(4).toString('hex')}`);
  const fd = openSync(temp, 'wx', 0o644);
  try {
    const buffer = typeof bytes === 'string' ? Buffer.from(bytes) : bytes;
    for (let off = 0; off < buffer.length;) off += writeSync(fd, buffer, off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkQuietly(temp);
    throw err;
  }
  closeSync(fd);
  try {
    renameSync(temp, join(dir, file));
  } catch (err) {
    unlinkQuietly(temp);
    throw err;
  }
  fsyncDir(dir);
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
