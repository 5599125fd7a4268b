import { ABSENT, type SeccompRecordView } from '../types/seccomp-record.js';
import { parseCgroupFile, type CgroupIdentity } from './cgroup-path.js';
import { isProcessCreation } from './clone-syscalls.js';
import { WaitingForks } from './waiting-forks.js';
import type { AttributionMethod, UnattributedReason, Workload } from './workload.js';

/** What the attributor needs of /proc (ProcFs implements it). */
export interface ProcReader {
  readCgroup(pid: number): string | null;
  readStartTime(pid: number): number | null;
  /**
   * Parent pid and start time from one read of `/proc/<pid>/stat`. `live`: the process was there
   * at the last read (a hint: a reader may skip asking whether it still is before reading).
   */
  readStat(pid: number, live?: boolean): { ppid: number; startTime: number } | null;
  /** Live children of a process's threads (`/proc/<pid>/task/<tid>/children`); null when it is gone. */
  readChildren(pid: number): number[] | null;
}

/** What the attributor needs of the kubelet's files (KubeletLogIndex implements it). */
export interface ContainerNames {
  lookupOrRescan(containerId: string): { namespace: string; pod: string; podUid: string; container: string; owner?: { kind: string; name: string } | null } | null;
  /**
   * This source can also name the pod's owner (the Kubernetes API): names found without one are
   * looked up again every `namesRetryMs`, as names not found are, until the owner is known.
   */
  readonly owners?: boolean;
}

export interface AttributorOptions {
  proc: ProcReader;
  names?: ContainerNames;
  /** How often a cached pid's start time is checked again (pid reuse guard). */
  verifyEveryMs?: number;
  /**
   * False: a pid is read from /proc once, at its first record, and not checked again (`ingest`).
   * A past log's pids were reused over its days in ways /proc cannot tell now: reading a pid's
   * stat again during the seconds of the run learns nothing about the log. (Each cached pid was
   * checked once a second of the wall clock: the slower the run, the more reads; the 30-day
   * ingest of 78 000 pids under strace opened /proc files 168 000 times, now 43 000.)
   * Default true (the daemon: records of now, where a reused pid is a new process).
   */
  reverifyPids?: boolean;
  /** How long a clone record waits for the child it made. */
  lineageWindowMs?: number;
  /** How often names are looked for again for a container the kubelet's files did not know. */
  namesRetryMs?: number;
  /** Pids held at most (MAX_PIDS). */
  maxPids?: number;
}

interface PidEntry {
  /**
   * Always stored as `| 0`: a pid read from a record's Float64Array arrives as a double, and V8
   * keeps a field first stored a double as a pointer to a box, one more cache miss for each of
   * the millions of lookups that compare it.
   */
  pid: number;
  workload: Workload;
  /** how the entry was made, reported for the pid's first record; then it is a cache hit */
  via: AttributionMethod | null;
  /** false once its children list could not be read (gone, or a proc root without one): not asked again */
  children: boolean;
  /** a child found in its parent's children list: its first record settles one of the parent's waits (0: none) */
  parentPid: number;
  /** start time in clock ticks; ABSENT once the process is gone (then a live pid is a new process) */
  startTime: number;
  /** the attributor's #ms when last checked or seen */
  checkedAt: number;
}

/**
 * Every entry is made here, with one shape: records switch entries millions of times, and an
 * entry of another shape (an optional field present or not) makes each access a choice of maps.
 */
function pidEntry(pid: number, workload: Workload, via: AttributionMethod | null, parentPid: number, startTime: number, checkedAt: number): PidEntry {
  return { pid: pid | 0, workload, via, children: true, parentPid, startTime, checkedAt };
}

/** The kernel's PID_MAX_LIMIT on 64-bit (4 Mi): no process has a higher pid. */
export const PID_MAX_LIMIT = 4 * 1024 * 1024;
const PRUNE_EVERY_MS = 10_000;
/** Pids not seen for this long whose process is gone are forgotten. */
const PRUNE_IDLE_MS = 60_000;
/**
 * Pids held at most. Pruning forgets gone processes after a minute of the wall clock, which an
 * `ingest` of a month's log (100 000 pids in seconds) never reaches: past this many, the pids
 * seen least recently go first. A live one forgotten is read from /proc again at its next record.
 */
export const MAX_PIDS = 65_536;
/**
 * Slots of the direct-mapped table of entries by a pid's low bits, in front of the Map: a record
 * of another pid than the last one (3.8 M of a 30-day ingest's 5.8 M) is then an array load and
 * a compare of the entry's pid, not a hash lookup (~8% of the attributing thread's CPU).
 */
const RECENT_PIDS = 65_536;
/** Parents whose children are looked at again per batch, so a flood of forks cannot stall reading. */
const RESCAN_BUDGET = 64;

/**
 * Maps each record's host pid to the container (or host unit) it belongs to, in stream order.
 *
 * - Known pid: one Map lookup (the hot path), its start time re-checked at most every
 *   `verifyEveryMs` so a reused pid is noticed.
 * - New pid: `/proc/<pid>/cgroup` read at once, by the thread that read the record.
 * - Pid already gone (the short-lived children a learned profile must not miss): lineage from
 *   the stream. Under a logging filter every fork-like call is itself a record, which precedes
 *   the child's first record, and a child's first records still carry its parent's comm and exe
 *   (they come before its execve). The oldest waiting clone with the same comm and exe is the
 *   parent; its container is the child's. Each clone makes one child, so a match is consumed.
 * - Else the SELinux MCS label in `subj=` (unique per container on CRI-O/OpenShift nodes), when
 *   a live process of the same label was resolved before.
 */
export class Attributor {
  /** How the last `attribute()` decided; valid until the next call. */
  method: AttributionMethod | null = null;
  reason: UnattributedReason | null = null;
  readonly counts: Record<AttributionMethod | UnattributedReason, number> = {
    proc: 0, cache: 0, lineage: 0, label: 0, exited: 0, 'no-cgroup-identity': 0, 'no-pid': 0, 'proc-error': 0,
  };

  readonly #proc: ProcReader;
  readonly #names: ContainerNames | undefined;
  readonly #verifyEveryMs: number;
  readonly #reverify: boolean;
  readonly #namesRetryMs: number;
  readonly #maxPids: number;
  readonly #pids = new Map<number, PidEntry>();
  /** entries by pid & (RECENT_PIDS - 1), each also in #pids; one whose pid differs is another's */
  readonly #recent: (PidEntry | undefined)[] = new Array<PidEntry | undefined>(RECENT_PIDS).fill(undefined);
  readonly #workloads = new Map<string, Workload>();
  readonly #labels = new Map<string, Workload>();
  readonly #forks: WaitingForks;
  #now = 0;
  /**
   * ms of the clock since its first advance(): what entries and workloads keep, as a small
   * integer (for 24 days; then V8 widens the fields, no more), not the clock's own value, which a
   * field would hold in a box of its own: one more cache miss for each record's entry.
   */
  #ms = 0;
  #epoch = Number.NaN;
  #prunedAt = 0;
  /** the pid of the last record found in #pids, and its entry (0: none) */
  #lastPid = 0;
  #lastEntry: PidEntry | undefined = undefined;

  constructor(options: AttributorOptions) {
    this.#proc = options.proc;
    this.#names = options.names;
    this.#verifyEveryMs = options.verifyEveryMs ?? 1000;
    this.#reverify = options.reverifyPids ?? true;
    this.#forks = new WaitingForks({ windowMs: options.lineageWindowMs ?? 1000 });
    this.#namesRetryMs = options.namesRetryMs ?? 1000;
    this.#maxPids = options.maxPids ?? MAX_PIDS;
  }

  /**
   * The caller's clock (ms), advanced once per batch of records rather than read per record; a
   * batch's end is also when waiting forks are looked at again.
   */
  advance(now: number): void {
    this.setClock(now);
    if (this.#forks.size > 0) this.#rescanWaiting();
    if (now - this.#prunedAt >= PRUNE_EVERY_MS) {
      this.#prunedAt = now;
      this.prune(PRUNE_IDLE_MS);
    }
    if (this.#pids.size > this.#maxPids) this.#shed();
  }

  /** The clock alone (advance() without the work of a batch's end). */
  setClock(now: number): void {
    this.#now = now;
    if (Number.isNaN(this.#epoch)) this.#epoch = now;
    this.#ms = now - this.#epoch;
  }

  /**
   * Workloads no pid, waiting fork or label names any more: a node's containers of the last
   * month would otherwise stay for the life of the process (10 000 of them on a busy node).
   * One that shows again is made again from /proc and its names looked up again (the aggregate
   * keys its counts by the workload's key, not by this object). Run with prune() (the daemon's
   * every ten seconds), not when pids are shed: an ingest sheds every few seconds, and making
   * its workloads again cost it 5% more CPU.
   */
  #forgetUnusedWorkloads(): void {
    const used = new Set<Workload>();
    for (const entry of this.#pids.values()) used.add(entry.workload);
    this.#forks.forEachWorkload((w) => used.add(w));
    for (const [label, w] of this.#labels) {
      if (!used.has(w)) this.#labels.delete(label);
    }
    for (const [key, w] of this.#workloads) {
      if (!used.has(w)) this.#workloads.delete(key);
    }
  }

  get pids(): number {
    return this.#pids.size;
  }

  /**
   * Down to three quarters of the cap, oldest entries first (a Map iterates in insertion order),
   * skipping those checked within the last verify period: they are in use.
   */
  #shed(): void {
    const target = Math.floor(this.#maxPids * 0.75);
    const recent = this.#ms - this.#verifyEveryMs;
    for (const pass of [false, true]) {
      for (const [pid, entry] of this.#pids) {
        if (this.#pids.size <= target) return;
        if (pass || entry.checkedAt < recent) this.#forgetPid(pid);
      }
    }
  }

  get workloads(): IterableIterator<Workload> {
    return this.#workloads.values();
  }

  /** The workload of `rec`, or null (then `reason` says why). */
  attribute(rec: SeccompRecordView): Workload | null {
    const pid = rec.pid;
    // pid 0 (an idle task), a negative one or one past the kernel's limit names no process
    // /proc could tell about
    if (pid <= 0 || pid > PID_MAX_LIMIT) return this.#unattributed('no-pid');
    let workload: Workload | null;
    // a process's records come in runs: the last entry at hand spares a Map lookup (a cache
    // miss or two on a node's tens of thousands of pids) for most records
    let entry = this.#lastEntry;
    if (pid !== this.#lastPid) {
      const slot = pid & (RECENT_PIDS - 1);
      entry = this.#recent[slot];
      if (entry === undefined || entry.pid !== pid) {
        entry = this.#pids.get(pid);
        if (entry !== undefined) this.#recent[slot] = entry;
      }
      if (entry !== undefined) {
        this.#lastPid = pid;
        this.#lastEntry = entry;
      }
    }
    if (entry !== undefined && (this.#ms - entry.checkedAt < this.#verifyEveryMs || this.#trusted(entry))) {
      const method = entry.via ?? 'cache';
      entry.via = null;
      if (entry.parentPid !== 0) {
        this.#forks.settle(entry.parentPid);
        entry.parentPid = 0;
      }
      this.method = method;
      this.reason = null;
      this.counts[method]++;
      workload = entry.workload;
    } else {
      workload = this.#resolve(rec, entry);
    }
    if (workload !== null) {
      if (workload.namesTriedAt !== 0 && this.#ms - workload.namesTriedAt >= this.#namesRetryMs) this.#fillNames(workload);
      if (isProcessCreation(rec.auditArch, rec.syscallNr)) this.#expectChild(rec, workload, entry);
    }
    return workload;
  }

  /**
   * A cached entry due for its check that is taken as it is (reverifyPids false): marked as seen
   * now all the same, which is what shedding and pruning order entries by.
   */
  #trusted(entry: PidEntry): boolean {
    if (this.#reverify) return false;
    entry.checkedAt = this.#ms;
    return true;
  }

  #resolve(rec: SeccompRecordView, entry: PidEntry | undefined): Workload | null {
    // a small integer (attribute() bounds it): see PidEntry.pid
    const pid = rec.pid | 0;
    const stat = this.#proc.readStat(pid, entry !== undefined && entry.startTime !== ABSENT);
    const startTime = stat === null ? null : stat.startTime;
    if (entry !== undefined) {
      if (startTime === null || startTime === entry.startTime) {
        // the same process, or gone since: its late records are still its own
        entry.checkedAt = this.#ms;
        if (startTime === null) entry.startTime = ABSENT;
        return this.#hit('cache', entry.workload);
      }
      // a live process where a gone one was, or another start time: the pid was reused
    }
    const content = startTime === null ? null : this.#proc.readCgroup(pid);
    // an exited child not yet reaped (a zombie) shows the root cgroup: no identity, but lineage
    // still knows it
    const workload = content === null ? null : this.#workloadOf(parseCgroupFile(content));
    if (workload !== null) {
      this.#setPid(pidEntry(pid, workload, null, 0, startTime!, this.#ms));
      this.#forks.settle(stat!.ppid);
      const subj = rec.subj();
      if (subj !== null && isMcsLabel(subj)) this.#labels.set(subj, workload);
      return this.#hit('proc', workload);
    }
    // a zombie keeps its start time until reaped, so its later records stay with this answer
    const known = startTime ?? ABSENT;
    // an exited child not yet reaped still names its parent
    const parentEntry = stat === null ? undefined : this.#pids.get(stat.ppid);
    if (parentEntry !== undefined) {
      this.#setPid(pidEntry(pid, parentEntry.workload, null, 0, known, this.#ms));
      this.#forks.settle(stat!.ppid);
      return this.#hit('lineage', parentEntry.workload);
    }
    const parent = this.#forks.parentOf(rec, this.#recordTime(rec));
    if (parent !== null) {
      this.#setPid(pidEntry(pid, parent, null, 0, known, this.#ms));
      return this.#hit('lineage', parent);
    }
    const subj = rec.subj();
    const labelled = subj === null ? undefined : this.#labels.get(subj);
    if (labelled !== undefined) {
      this.#setPid(pidEntry(pid, labelled, null, 0, known, this.#ms));
      return this.#hit('label', labelled);
    }
    return this.#unattributed(content === null ? 'exited' : 'no-cgroup-identity');
  }

  /**
   * A fork and its child's first record are milliseconds apart in the records' own clock, which
   * is the clock their lineage window is kept in: an `ingest` reads days of a log in a second
   * of the wall clock, whose window would hold every fork of those days as candidates (a
   * million comparisons a child, and false matches). Live, the two clocks agree.
   */
  #recordTime(rec: SeccompRecordView): number {
    return rec.time === ABSENT ? this.#now : rec.time;
  }

  #forgetPid(pid: number): void {
    this.#pids.delete(pid);
    const slot = pid & (RECENT_PIDS - 1);
    if (this.#recent[slot]?.pid === pid) this.#recent[slot] = undefined;
    if (pid === this.#lastPid) {
      this.#lastPid = 0;
      this.#lastEntry = undefined;
    }
  }

  #setPid(entry: PidEntry): void {
    const pid = entry.pid;
    this.#pids.set(pid, entry);
    const slot = pid & (RECENT_PIDS - 1);
    if (this.#recent[slot]?.pid === pid) this.#recent[slot] = entry;
    if (pid === this.#lastPid) this.#lastEntry = entry;
  }

  #hit(method: AttributionMethod, workload: Workload): Workload {
    this.method = method;
    this.reason = null;
    this.counts[method]++;
    return workload;
  }

  #unattributed(reason: UnattributedReason): null {
    this.method = null;
    this.reason = reason;
    this.counts[reason]++;
    return null;
  }

  /**
   * A fork-like call from a known process: its child is in the same container. The parent is
   * usually alive (it waits for the child), so its children list names the child right now,
   * often before the child exits; its waiting fork is the fallback for a child already gone.
   */
  #expectChild(rec: SeccompRecordView, workload: Workload, entry: PidEntry | undefined): void {
    this.#forks.add(rec, workload, this.#recordTime(rec));
    const parent = entry ?? this.#pids.get(rec.pid);
    // a parent that is gone (records arrive late) or has no children list is not asked per fork
    if (parent === undefined || (parent.children !== false && parent.startTime !== ABSENT)) {
      if (!this.#adoptChildren(rec.pid, workload) && parent !== undefined) parent.children = false;
    }
  }

  /**
   * Looks again at the children of parents whose fork has not shown its child yet: a fork's
   * record is written before the child exists, so the first look often comes too early, and a
   * child that has exited is still listed until its parent reaps it.
   */
  #rescanWaiting(): void {
    for (const { parentPid, workload } of this.#forks.parents(RESCAN_BUDGET)) this.#adoptChildren(parentPid, workload);
  }

  /**
   * Children of `parentPid` not known yet are in its container. A known pid counts only with the
   * same start time: pids are reused quickly (pid_max is often 32768), and an entry left by an
   * earlier process with the same pid must not stand for the new one. False when the parent's
   * children list cannot be read.
   */
  #adoptChildren(parentPid: number, workload: Workload): boolean {
    const children = this.#proc.readChildren(parentPid);
    if (children === null) return false;
    for (const child of children) {
      if (child > PID_MAX_LIMIT) continue;
      const startTime = this.#proc.readStartTime(child);
      if (startTime === null) continue;
      const known = this.#pids.get(child);
      if (known !== undefined && known.startTime === startTime) continue;
      // settled when its first record comes: by now the parent may have forked again, so this
      // child may belong to a fork whose record is still on its way
      this.#setPid(pidEntry(child, workload, 'lineage', parentPid, startTime, this.#ms));
    }
    return true;
  }

  #workloadOf(id: CgroupIdentity): Workload | null {
    const key = id.containerId !== null ? `container:${id.containerId}` : id.unit !== null ? `unit:${id.unit}` : null;
    if (key === null) return null;
    let workload = this.#workloads.get(key);
    if (workload === undefined) {
      workload = {
        key,
        kind: id.containerId !== null ? 'container' : 'host',
        containerId: id.containerId,
        podUid: id.podUid,
        qos: id.qos,
        runtime: id.runtime,
        unit: id.containerId !== null ? null : id.unit,
        namespace: null,
        pod: null,
        container: null,
        ownerKind: null,
        ownerName: null,
        namesTriedAt: 0,
        aggregateState: null,
      };
      this.#workloads.set(key, workload);
      if (workload.containerId !== null) this.#fillNames(workload);
    }
    return workload;
  }

  #fillNames(workload: Workload): void {
    const found = this.#names?.lookupOrRescan(workload.containerId!) ?? null;
    if (found === null) {
      workload.namesTriedAt = this.#ms || 1;
      return;
    }
    workload.namespace = found.namespace;
    workload.pod = found.pod;
    workload.container = found.container;
    const owner = found.owner ?? null;
    if (owner !== null) {
      workload.ownerKind = owner.kind;
      workload.ownerName = owner.name;
    }
    // the kubelet's files name a container at once, the API may know its pod a little later
    workload.namesTriedAt = owner === null && this.#names?.owners === true ? this.#ms || 1 : 0;
  }

  /** Forgets pids whose processes are gone and have not been seen for `idleMs`, and the workloads no one names then. */
  prune(idleMs: number): void {
    // reverifyPids false: only the cap sheds pids (a dead pid forgotten would lose its answer)
    if (this.#reverify) {
      for (const [pid, entry] of this.#pids) {
        if (this.#ms - entry.checkedAt > idleMs && this.#proc.readStartTime(pid) !== entry.startTime) this.#forgetPid(pid);
      }
    }
    this.#forgetUnusedWorkloads();
  }
}

/** `...:s0:c19,c27`: an MCS category pair, which CRI-O assigns per container. */
function isMcsLabel(subj: string): boolean {
  return /:s0:c\d+,c\d+$/.test(subj);
}
