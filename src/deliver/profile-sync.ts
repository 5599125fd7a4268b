/**
 * Keeps the profiles of a mounted ConfigMap (`seccomp-auditor-profiles`, one key `NAME.json` per
 * profile) installed on this node: each valid key is written through the ProfileInstaller, and a
 * file the sync wrote whose key disappeared is removed. A key that is not a valid profile is
 * skipped and reported once per content; if an earlier version of it was installed, that one
 * stays (a broken edit must not take away a profile pods start with).
 *
 * The kubelet updates a ConfigMap volume by writing a new timestamped directory and swapping the
 * `..data` symlink to it; the keys are symlinks through `..data`. The directory is watched for
 * that swap, and re-read on an interval too, since watches on such volumes miss events
 * (a new mount, an inotify queue overflow, a volume that appears after start).
 */
import { watch, readdirSync, realpathSync, type FSWatcher } from 'node:fs';
import { join, sep } from 'node:path';
import { checkOciProfile, MAX_PROFILE_BYTES } from '../profile/oci-profile-check.js';
import { isProfileName, PROFILE_NAME_MAX, sha256, type ProfileInstaller } from './profile-installer.js';
import { readRegularFile } from './regular-file.js';

export type ProfileSyncEvent =
  | { type: 'installed'; name: string; key: string; sha256: string }
  | { type: 'removed'; name: string }
  | { type: 'invalid'; key: string; problem: string }
  | { type: 'refused'; name: string; key: string; reason: string }
  | { type: 'error'; detail: string };

export interface ProfileSyncOptions {
  /** the mounted ConfigMap */
  dir: string;
  installer: ProfileInstaller;
  /** re-read this often even without a watch event (default 30 s) */
  intervalMs?: number;
  /** wait this long after a watch event before reading, so one swap is one sync (default 200 ms) */
  settleMs?: number;
  onEvent: (e: ProfileSyncEvent) => void;
}

export interface ProfileSyncStats {
  syncs: number;
  /** invalid keys met, each content counted once */
  invalid: number;
}

export class ProfileSync {
  readonly #options: ProfileSyncOptions;
  #watcher: FSWatcher | null = null;
  #timer: NodeJS.Timeout | null = null;
  #settle: NodeJS.Timeout | null = null;
  /** key → `${digest} ${problem}` last reported, so a broken key is reported once, not every interval */
  readonly #reported = new Map<string, string>();
  /** the directory's last read problem, reported once until it changes */
  #dirProblem: string | null = null;
  readonly stats: ProfileSyncStats = { syncs: 0, invalid: 0 };

  constructor(options: ProfileSyncOptions) {
    this.#options = options;
  }

  start(): void {
    this.#timer = setInterval(() => {
      // a fresh watch each round: one on a directory that was replaced (a remount) hears nothing
      this.#unwatch();
      this.syncNow();
    }, this.#options.intervalMs ?? 30_000);
    this.#timer.unref();
    this.syncNow();
  }

  stop(): void {
    if (this.#timer !== null) clearInterval(this.#timer);
    if (this.#settle !== null) clearTimeout(this.#settle);
    this.#watcher?.close();
    this.#timer = this.#settle = this.#watcher = null;
  }

  /** Reads the ConfigMap directory and brings the installed files in line with it. */
  syncNow(): void {
    this.stats.syncs++;
    const { dir, installer, onEvent } = this.#options;
    let entries: string[];
    try {
      entries = readdirSync(dir);
    } catch (err) {
      // an unmounted or not yet created volume: nothing is removed on a failed read
      const problem = `cannot read the profiles ConfigMap directory ${dir} (${(err as NodeJS.ErrnoException).code}); mount the ConfigMap seccomp-auditor-profiles there or fix --sync-profiles-from`;
      if (problem !== this.#dirProblem) onEvent({ type: 'error', detail: problem });
      this.#dirProblem = problem;
      this.#unwatch();
      return;
    }
    this.#dirProblem = null;
    this.#watchDir();
    const present = new Set<string>();
    for (const key of entries.sort()) {
      // the kubelet's own entries: ..data and the ..<timestamp> directories
      if (key.startsWith('..')) continue;
      const name = key.endsWith('.json') ? key.slice(0, -'.json'.length) : null;
      if (name === null || !isProfileName(name)) {
        this.#invalid(key, '', `the key must be NAME.json with NAME matching [a-z0-9]([-a-z0-9._]*[a-z0-9])? (at most ${PROFILE_NAME_MAX} characters)`);
        continue;
      }
      present.add(name);
      const read = readKey(dir, key);
      if ('problem' in read) {
        this.#invalid(key, '', read.problem);
        continue;
      }
      if ('error' in read) {
        // a key swapped away between the listing and the read: the next sync sees the new state
        onEvent({ type: 'error', detail: read.error });
        continue;
      }
      const bytes = read.bytes;
      const digest = sha256(bytes);
      let parsed: unknown;
      try {
        parsed = JSON.parse(bytes.toString('utf8'));
      } catch (err) {
        // JSON.parse quotes the text around the fault: the where only, never the bytes
        const at = /position (\d+)/.exec((err as Error).message)?.[1];
        this.#invalid(key, digest, `not JSON${at !== undefined ? ` (at byte ${at})` : ''}`);
        continue;
      }
      const check = checkOciProfile(parsed);
      if (!check.ok) {
        this.#invalid(key, digest, check.problem);
        continue;
      }
      let result: ReturnType<ProfileInstaller['install']>;
      try {
        result = installer.install(name, bytes, 'configmap');
      } catch (err) {
        // a full or failing disk: said once per content, and tried again at the next sync
        const seen = `${digest} ${(err as Error).message}`;
        if (this.#reported.get(key) !== seen) onEvent({ type: 'error', detail: `cannot install ${key} as ${name}: ${(err as Error).message}` });
        this.#reported.set(key, seen);
        continue;
      }
      if (result.outcome === 'written') {
        this.#reported.delete(key);
        onEvent({ type: 'installed', name, key, sha256: digest });
      } else if (result.outcome === 'refused') {
        const seen = `${digest} ${result.reason}`;
        if (this.#reported.get(key) !== seen) onEvent({ type: 'refused', name, key, reason: result.reason });
        this.#reported.set(key, seen);
      } else {
        this.#reported.delete(key);
      }
    }
    for (const key of this.#reported.keys()) {
      if (!entries.includes(key)) this.#reported.delete(key);
    }
    for (const name of installer.namesFrom('configmap')) {
      if (present.has(name)) continue;
      try {
        if (installer.remove(name, 'configmap') === 'removed') onEvent({ type: 'removed', name });
      } catch (err) {
        onEvent({ type: 'error', detail: `cannot remove ${name}: ${(err as Error).message}` });
      }
    }
  }

  #invalid(key: string, digest: string, problem: string): void {
    const seen = `${digest} ${problem}`;
    if (this.#reported.get(key) === seen) return;
    this.#reported.set(key, seen);
    this.stats.invalid++;
    this.#options.onEvent({ type: 'invalid', key, problem });
  }

  #watchDir(): void {
    if (this.#watcher !== null || this.#timer === null) return;
    try {
      this.#watcher = watch(this.#options.dir, { persistent: false }, () => this.#soon());
      this.#watcher.on('error', () => this.#unwatch());
    } catch {
      // the interval still syncs
      this.#watcher = null;
    }
  }

  #unwatch(): void {
    this.#watcher?.close();
    this.#watcher = null;
  }

  #soon(): void {
    if (this.#settle !== null) return;
    this.#settle = setTimeout(() => {
      this.#settle = null;
      this.syncNow();
    }, this.#options.settleMs ?? 200);
    this.#settle.unref();
  }
}

/**
 * A key's bytes. Keys are symlinks through `..data` into the kubelet's timestamped directory, so
 * links are followed, but only to a regular file inside the ConfigMap's own directory: a key
 * linking to /etc/shadow, a FIFO or /dev/zero is a problem named in words, never read.
 */
function readKey(dir: string, key: string): { bytes: Buffer } | { problem: string } | { error: string } {
  let real: string;
  let base: string;
  try {
    base = realpathSync(dir);
    real = realpathSync(join(dir, key));
  } catch (err) {
    return { error: `cannot read ${join(dir, key)} (${(err as NodeJS.ErrnoException).code})` };
  }
  if (!real.startsWith(base + sep)) return { problem: 'the key is a symbolic link to a file outside the ConfigMap directory; a ConfigMap key holds its profile itself' };
  const found = readRegularFile(real, MAX_PROFILE_BYTES);
  if (found.kind === 'absent') return { error: `cannot read ${join(dir, key)} (ENOENT)` };
  if (found.kind === 'other') return { problem: `the key is ${found.what}; a profile is a JSON file of at most ${MAX_PROFILE_BYTES} bytes` };
  return { bytes: found.bytes };
}
