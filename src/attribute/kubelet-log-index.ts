import { readdirSync, readlinkSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, join } from 'node:path';
import type { ContainerNames } from '../types/container-ref.js';
import { parseContainerLogName, parsePodDirName, podDirOfLogTarget, type ContainerLogName, type PodDirName } from './kubelet-log-names.js';

export interface KubeletLogIndexOptions {
  /** The node's /var/log (or where it is mounted). Default `/var/log`. */
  logRoot?: string;
  /** Delay that coalesces a burst of directory events into one rescan. Default 50 ms. */
  coalesceMs?: number;
  /** Rescan period while a directory cannot be watched (missing, or fs.watch failed). Default 5000 ms. */
  pollMs?: number;
  /** lookupOrRescan rescans on a miss at most this often. Default 1000 ms. */
  missRescanMs?: number;
  /** Failures of background rescans and watchers; they never throw. Default: ignored. */
  onError?: (err: Error) => void;
}

interface ContainerEntry extends ContainerNames {
  containerId: string;
}

/**
 * Container id → Kubernetes names, from the names of the kubelet's log files, without any API call:
 * `<logRoot>/containers/<pod>_<namespace>_<container>-<id>.log` (symlinks into pods/) and
 * `<logRoot>/pods/<namespace>_<pod>_<uid>/`. A node without a kubelet simply has an empty index.
 *
 * watch() keeps it current with fs.watch on both directories; where watching is impossible it polls.
 * Neither keeps the process alive. Shutdown: close() stops the watchers, then the timers.
 */
export class KubeletLogIndex {
  readonly logRoot: string;
  readonly #containersDir: string;
  readonly #podsDir: string;
  readonly #coalesceMs: number;
  readonly #pollMs: number;
  readonly #missRescanMs: number;
  readonly #onError: (err: Error) => void;

  /** file name in containers/ → its parsed name and entry; a removed file removes its entry */
  #containerFiles = new Map<string, { parsed: ContainerLogName; entry: ContainerEntry | null }>();
  #byContainerId = new Map<string, ContainerEntry>();
  /** directory name in pods/ → its parsed name */
  #podDirs = new Map<string, PodDirName>();
  #lastScanAt = Number.NEGATIVE_INFINITY;
  #scans = 0;

  #watching = false;
  #watchers = new Map<string, { watcher: FSWatcher; identity: string | null }>();
  #coalesceTimer: NodeJS.Timeout | undefined;
  #pollTimer: NodeJS.Timeout | undefined;

  constructor(options: KubeletLogIndexOptions = {}) {
    this.logRoot = options.logRoot ?? '/var/log';
    this.#containersDir = join(this.logRoot, 'containers');
    this.#podsDir = join(this.logRoot, 'pods');
    this.#coalesceMs = positive('coalesceMs', options.coalesceMs ?? 50);
    this.#pollMs = positive('pollMs', options.pollMs ?? 5000);
    this.#missRescanMs = positive('missRescanMs', options.missRescanMs ?? 1000);
    this.#onError = options.onError ?? (() => {});
  }

  /** Number of containers known. */
  get size(): number {
    return this.#byContainerId.size;
  }

  /** Number of scans so far (for metrics and tests). */
  get scans(): number {
    return this.#scans;
  }

  /**
   * Reads both directories and brings the index up to date. Missing directories count as empty;
   * other read errors (permissions) throw.
   */
  scan(): void {
    this.#lastScanAt = Date.now();
    this.#scans++;
    // pods first: a container whose symlink cannot be read takes its pod uid from there
    this.#scanPods(this.#list(this.#podsDir));
    this.#scanContainers(this.#list(this.#containersDir));
  }

  lookup(containerId: string): ContainerNames | null {
    const e = this.#byContainerId.get(containerId);
    return e === undefined ? null : { namespace: e.namespace, pod: e.pod, podUid: e.podUid, container: e.container };
  }

  /**
   * lookup, and on a miss one rescan unless the last scan is more recent than missRescanMs: a container
   * that just started may not have reached the watcher yet, while ids that will never be found (host
   * processes, other runtimes' containers) must not turn every lookup into a directory read. A failed
   * rescan goes to onError: this sits on the attribution path and must not throw.
   */
  lookupOrRescan(containerId: string): ContainerNames | null {
    const hit = this.lookup(containerId);
    if (hit !== null || Date.now() - this.#lastScanAt < this.#missRescanMs) return hit;
    this.#backgroundScan();
    return this.lookup(containerId);
  }

  /** Starts watching both directories (idempotent), then scans. */
  watch(): void {
    if (this.#watching) return;
    this.#watching = true;
    this.#ensureWatchers();
    this.#backgroundScan();
  }

  close(): void {
    this.#watching = false;
    for (const w of this.#watchers.values()) w.watcher.close();
    this.#watchers.clear();
    clearTimeout(this.#coalesceTimer);
    clearInterval(this.#pollTimer);
    this.#coalesceTimer = undefined;
    this.#pollTimer = undefined;
  }

  #scanPods(names: string[] | null): void {
    const seen = new Set(names ?? []);
    for (const name of [...this.#podDirs.keys()]) {
      if (seen.has(name)) continue;
      this.#podDirs.delete(name);
    }
    for (const name of seen) {
      if (this.#podDirs.has(name)) continue;
      const parsed = parsePodDirName(name);
      if (parsed === null) continue;
      this.#podDirs.set(name, parsed);
    }
  }

  #scanContainers(names: string[] | null): void {
    const seen = new Set(names ?? []);
    for (const [name, file] of [...this.#containerFiles]) {
      if (seen.has(name)) continue;
      this.#containerFiles.delete(name);
      const entry = file.entry;
      if (entry !== null && this.#byContainerId.get(entry.containerId) === entry) this.#byContainerId.delete(entry.containerId);
    }
    for (const name of seen) {
      let file = this.#containerFiles.get(name);
      if (file === undefined) {
        const parsed = parseContainerLogName(name);
        if (parsed === null) continue;
        file = { parsed, entry: null };
        this.#containerFiles.set(name, file);
      }
      // an entry waits until its pod uid is known (normally at once, from the symlink's target)
      if (file.entry !== null) continue;
      const { namespace, pod, container, containerId } = file.parsed;
      const podUid = this.#podUidOfLink(name, namespace, pod);
      if (podUid === null) continue;
      file.entry = { namespace, pod, podUid, container, containerId };
      this.#byContainerId.set(containerId, file.entry);
    }
  }

  /**
   * The symlink's target names the pod directory and so the exact uid; matching by namespace and pod
   * name alone is ambiguous while a recreated pod (same name, new uid) and the old one coexist.
   */
  #podUidOfLink(name: string, namespace: string, pod: string): string | null {
    let target: string | null = null;
    try {
      target = readlinkSync(join(this.#containersDir, name));
    } catch {
      // not a symlink, or already removed: fall back to the pods/ directory
    }
    const dir = target === null ? null : podDirOfLogTarget(target);
    if (dir !== null && dir.namespace === namespace && dir.pod === pod) return dir.podUid;
    return this.#uniquePodUid(namespace, pod);
  }

  #uniquePodUid(namespace: string, pod: string): string | null {
    let uid: string | null = null;
    for (const d of this.#podDirs.values()) {
      if (d.namespace !== namespace || d.pod !== pod) continue;
      if (uid !== null) return null;
      uid = d.podUid;
    }
    return uid;
  }

  /** Entry names of dir; null when it does not exist (then a watcher on it is dead, if there was one). */
  #list(dir: string): string[] | null {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
      this.#dropWatcher(dir);
      return null;
    }
    if (this.#watching) {
      // a directory removed and made again leaves the watcher on the old directory, which reports
      // nothing any more (the inode number alone may be reused at once: ext4 does)
      const watched = this.#watchers.get(dir);
      if (watched !== undefined && watched.identity !== identityOf(dir)) this.#dropWatcher(dir);
      if (!this.#watchers.has(dir)) this.#ensureWatchers();
    }
    return names;
  }

  #backgroundScan(): void {
    try {
      this.scan();
    } catch (err) {
      this.#onError(err as Error);
    }
  }

  #ensureWatchers(): void {
    for (const dir of [this.#containersDir, this.#podsDir]) {
      if (this.#watchers.has(dir)) continue;
      try {
        // persistent: false, like an unref()ed timer: the index must not keep the daemon alive
        const watcher = watch(dir, { persistent: false }, (_event, name) => {
          // an event naming the directory itself: it was removed or renamed
          if (name === basename(dir)) this.#dropWatcher(dir);
          this.#scheduleScan();
        });
        watcher.on('error', (err) => {
          this.#onError(err);
          this.#dropWatcher(dir);
        });
        this.#watchers.set(dir, { watcher, identity: identityOf(dir) });
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.#onError(err as Error);
      }
    }
    this.#updatePolling();
  }

  #dropWatcher(dir: string): void {
    const w = this.#watchers.get(dir);
    if (w === undefined) return;
    w.watcher.close();
    this.#watchers.delete(dir);
    this.#updatePolling();
  }

  /** Polls only while a directory is unwatched; each tick also retries the watch (the kubelet may start later). */
  #updatePolling(): void {
    const needed = this.#watching && this.#watchers.size < 2;
    if (needed && this.#pollTimer === undefined) {
      this.#pollTimer = setInterval(() => {
        this.#ensureWatchers();
        this.#backgroundScan();
      }, this.#pollMs);
      this.#pollTimer.unref();
    } else if (!needed && this.#pollTimer !== undefined) {
      clearInterval(this.#pollTimer);
      this.#pollTimer = undefined;
    }
  }

  /**
   * The first event of a burst schedules one scan a little later and later events join it. Unlike a
   * debounce that restarts on every event, this bounds the delay when containers start continuously.
   */
  #scheduleScan(): void {
    if (!this.#watching || this.#coalesceTimer !== undefined) return;
    this.#coalesceTimer = setTimeout(() => {
      this.#coalesceTimer = undefined;
      this.#backgroundScan();
    }, this.#coalesceMs);
    this.#coalesceTimer.unref();
  }
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`KubeletLogIndex: ${name} must be a positive number, got ${v}`);
  return v;
}

/** Tells a directory from another made at the same path later. */
function identityOf(dir: string): string | null {
  try {
    const st = statSync(dir);
    return `${st.dev}:${st.ino}:${st.birthtimeMs}`;
  } catch {
    return null;
  }
}
