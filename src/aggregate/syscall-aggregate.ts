import type { AttributionMethod, UnattributedReason, Workload } from '../attribute/workload.js';
import type { ExecutableDelta, FlushBatch, LossEvent, LostDelta, SourcePosition, UnattributedDelta, WorkloadRow } from '../types/flush-batch.js';
import { ABSENT, SECCOMP_ACTIONS, type SeccompAction, type SeccompRecordView } from '../types/seccomp-record.js';
import { KeyArena, WorkloadKeys } from './workload-keys.js';
import { SyscallColumnsBuilder } from '../types/syscall-columns.js';

interface WorkloadState {
  /** null once forgotten: a Workload that still holds this state must look its key up again */
  owner: SyscallAggregate | null;
  workload: Workload;
  /** null while evicted (idle): then `known` alone says which keys were ever seen */
  keys: WorkloadKeys | null;
  known: Float64Array | null;
  firstSeen: number;
  lastSeen: number;
  /** records after its newest new key */
  sinceNewKey: number;
  dirty: boolean;
  /** executables of its new processes since the last batch */
  executables: Map<string, CountState> | null;
}

interface CountState {
  count: number;
  firstSeen: number;
  lastSeen: number;
}

/** Every action, in the order of `actionCounts` (log first: the common case). */
export const ACTIONS: readonly SeccompAction[] = SECCOMP_ACTIONS;

/**
 * A workload without records for this long (record time) gives up its per-key counters and
 * keeps only the list of keys it ever made (8 bytes a key), so a node's 30 days of churn (10 000
 * containers, ~1 M keys) cost memory for the containers that run now, not for all it ran. Its
 * next record, if any, brings the counters back from the list: nothing is announced twice.
 */
export const EVICT_IDLE_MS = 10 * 60_000;
/**
 * After this long without records (record time) a workload is forgotten altogether: container
 * ids are never reused, so only a container silent for a day would announce its syscalls again
 * as new (its counts stay right: the store adds deltas).
 */
export const FORGET_IDLE_MS = 24 * 3600_000;

/**
 * Per-workload syscall sets in memory, and the deltas the store has not committed yet.
 *
 * The hot path (a key seen before) is the workload's state from a field of its Workload, a load
 * from its direct table and a counter increment and two time comparisons on one cache line of
 * counters (both in the KeyArena): no lookup by key, no allocation, no string work. Only a new
 * key allocates (its sample comm and exe), and it is reported to `onNewKey`. `takeBatch()` hands
 * over what changed since the last batch (one row per changed key, not per record), starts
 * counting afresh, and evicts idle workloads (EVICT_IDLE_MS, FORGET_IDLE_MS): memory follows
 * the containers active in the last minutes, not the history.
 */
export class SyscallAggregate {
  readonly #nodeName: string;
  /** null: nobody listens, and no event is made (an ingest's million new keys) */
  readonly #onNewKey: ((workload: Workload, key: { auditArch: number; syscallNr: number; action: SeccompAction }) => void) | null;
  /** by workload key, not object: the attributor may forget a Workload and make it again */
  readonly #workloads = new Map<string, WorkloadState>();
  /** the hot arrays of every held workload's keys */
  readonly #arena = new KeyArena();
  #dirtyWorkloads: WorkloadState[] = [];
  #executables = 0;
  /** unattributed counts by reason, comm and exe: no string is built to look one up */
  readonly #unattributed = new Map<string, Map<string | null, Map<string | null, CountState>>>();
  #unattributedSize = 0;
  readonly #lost = new Map<string, LostDelta>();
  /** the same losses, each with the interval it is charged to */
  #losses: LossEvent[] = [];
  /** distinct keys held (evicted workloads' too, not forgotten ones), for metrics */
  keys = 0;
  /** keys announced as new since the start: what an ingest added */
  newKeys = 0;
  /**
   * Records per action (indexed like ACTIONS) up to the last batch; `actionCounts()` adds what
   * is pending. Attributed records are summed per batch from the keys' deltas, so the hot path
   * pays nothing; unattributed ones (a slower path anyway) are counted as they come.
   */
  readonly #actions = new Float64Array(ACTIONS.length);
  /** The newest record time (ms) of what the last takeBatch() handed over, or ABSENT when it carried no records. */
  newestInLastBatch = ABSENT;
  /**
   * The same for the batch being gathered: one comparison per record. (The workloads' lastSeen
   * would cost nothing, but one future-dated record would pin it, and the lag, for good.)
   */
  #newest = ABSENT;
  /** the newest record time ever: the clock idle workloads are measured by */
  #clock = ABSENT;
  /** the caller's clock (advance()) */
  #now = 0;

  constructor(options: { nodeName: string; onNewKey?: (workload: Workload, key: { auditArch: number; syscallNr: number; action: SeccompAction }) => void }) {
    this.#nodeName = options.nodeName;
    this.#onNewKey = options.onNewKey ?? null;
  }

  /** Workloads whose counters are held (not evicted), for tests and metrics. */
  get activeWorkloads(): number {
    let n = 0;
    for (const w of this.#workloads.values()) if (w.keys !== null) n++;
    return n;
  }

  get workloads(): number {
    return this.#workloads.size;
  }

  /**
   * The caller's clock (ms), for records without a time of their own: set once per batch, as
   * the attributor's is, not passed with each record (a double argument to a call V8 does not
   * inline is a new heap number: ~80 MB of garbage, 15 bytes a record, in the 30-day ingest).
   */
  advance(now: number): void {
    this.#now = now;
  }

  /**
   * Counts an attributed record at its time (else the clock of advance()). `method` tells
   * whether this is a pid's first record (not 'cache'): then its executable is noted too, which
   * costs a string only once per process.
   *
   * The time is a double, used here only as one (compared, stored in double fields and arrays):
   * the calls that take it as an argument, on the paths of a new workload, key or process,
   * read it from the record themselves. Passed to them from here, it was a new heap number for
   * every record, branch taken or not (16 bytes; add()'s own allocation in the 30-day ingest 112
   * -> 39 MB without it), likely boxed once before the branches.
   */
  add(workload: Workload, rec: SeccompRecordView, method: AttributionMethod | null): void {
    const time = rec.time === ABSENT ? this.#now : rec.time;
    if (time > this.#newest) this.#newest = time;
    // the state the workload holds is ours and current unless another aggregate took the slot,
    // the workload was forgotten, or the attributor made it again
    let w = workload.aggregateState as WorkloadState | null | undefined;
    if (w == null || w.owner !== this || w.workload !== workload) w = this.#stateOf(workload, rec);
    if (time > w.lastSeen) w.lastSeen = time;
    if (time < w.firstSeen) w.firstSeen = time;
    w.sinceNewKey++;
    if (!w.dirty) {
      w.dirty = true;
      this.#dirtyWorkloads.push(w);
    }
    let keys = w.keys;
    if (keys === null) keys = this.#revive(w);
    const actionIndex = ACTIONS.indexOf(rec.action);
    const nr = rec.syscallNr;
    const slot = keys.slotOf(archIndex(rec.auditArch), actionIndex, nr);
    if (slot >= 0) {
      const i = keys.count(slot);
      const nums = this.#arena.nums;
      if (time < nums[i + 1]!) nums[i + 1] = time;
      if (time > nums[i + 2]!) nums[i + 2] = time;
    } else this.#addKey(workload, w, keys, rec, actionIndex);
    // once per process (the first record of a pid; later ones come from the cache)
    if (method !== 'cache') this.#addExecutable(w, rec);
  }

  /** The record's time, else the clock of advance(). */
  #timeOf(rec: SeccompRecordView): number {
    return rec.time === ABSENT ? this.#now : rec.time;
  }

  /** A key the workload's counters do not hold: seen before its eviction, or new (then announced). */
  #addKey(workload: Workload, w: WorkloadState, keys: WorkloadKeys, rec: SeccompRecordView, actionIndex: number): void {
    const time = this.#timeOf(rec);
    const nr = rec.syscallNr;
    if (keys.wasKnown()) {
      keys.add(rec.auditArch, actionIndex, nr, time, null, null, true);
      return;
    }
    // the keys hold one (comm, exe) pair for a run of new keys with the same sample
    keys.add(rec.auditArch, actionIndex, nr, time, rec.comm(), rec.exe(), false);
    w.sinceNewKey = 0;
    this.keys++;
    this.newKeys++;
    if (this.#onNewKey !== null) this.#onNewKey(workload, { auditArch: rec.auditArch, syscallNr: nr, action: rec.action });
  }

  #addExecutable(w: WorkloadState, rec: SeccompRecordView): void {
    const time = this.#timeOf(rec);
    const exe = rec.exe() ?? '';
    const exes = w.executables ??= new Map();
    const found = exes.get(exe);
    if (found === undefined) {
      exes.set(exe, { count: 1, firstSeen: time, lastSeen: time });
      this.#executables++;
    } else countAt(found, time);
  }

  #stateOf(workload: Workload, rec: SeccompRecordView): WorkloadState {
    let w = this.#workloads.get(workload.key);
    if (w === undefined) {
      const time = this.#timeOf(rec);
      w = { owner: this, workload, keys: new WorkloadKeys(this.#arena), known: null, firstSeen: time, lastSeen: time, sinceNewKey: 0, dirty: false, executables: null };
      this.#workloads.set(workload.key, w);
    } else if (w.workload !== workload) {
      // made again by the attributor (names may have been found since): the newer one speaks
      w.workload = workload;
    }
    workload.aggregateState = w;
    return w;
  }

  #revive(w: WorkloadState): WorkloadKeys {
    const keys = new WorkloadKeys(this.#arena);
    // only the keys it makes again get counters back
    keys.restore(w.known!);
    w.keys = keys;
    w.known = null;
    return keys;
  }

  /** Syscall rows the next batch would carry: what a batch costs the store, and memory until then. */
  get pendingRows(): number {
    let n = 0;
    for (const w of this.#dirtyWorkloads) n += w.keys!.pending;
    return n;
  }

  /** Records per action (indexed like ACTIONS) so far, attributed or not, batched or pending. */
  actionCounts(): Float64Array {
    const counts = this.#actions.slice();
    for (const w of this.#dirtyWorkloads) w.keys!.addActionCounts(counts);
    return counts;
  }

  /** Counts a record that could not be attributed, grouped by comm, exe and reason. */
  addUnattributed(rec: SeccompRecordView, reason: UnattributedReason): void {
    const time = this.#timeOf(rec);
    if (time > this.#newest) this.#newest = time;
    this.#actions[ACTIONS.indexOf(rec.action)]++;
    const comm = rec.comm();
    const exe = rec.exe();
    let byComm = this.#unattributed.get(reason);
    if (byComm === undefined) this.#unattributed.set(reason, byComm = new Map());
    let byExe = byComm.get(comm);
    if (byExe === undefined) byComm.set(comm, byExe = new Map());
    const found = byExe.get(exe);
    if (found !== undefined) countAt(found, time);
    else {
      byExe.set(exe, { count: 1, firstSeen: time, lastSeen: time });
      this.#unattributedSize++;
    }
  }

  /**
   * Counts records a source lost, made between `from` and `to` (ms; `from` null: since the
   * newest record the source committed before, which the store knows).
   */
  addLost(source: string, reason: string, count: number, from: number | null, to: number): void {
    const id = `${source}\0${reason}`;
    const lost = this.#lost.get(id);
    if (lost) lost.count += count;
    else this.#lost.set(id, { source, reason, count });
    this.#losses.push({ source, reason, count, from, to });
  }

  /**
   * What changed since the last batch, with the positions it covers; null when nothing did. The
   * syscall rows are in `columns` (syscall-columns.ts), the form the store reads and the one that
   * crosses threads; `syscalls` is empty.
   *
   * `hold` (a one-shot ingest's, which commits no positions) keeps back the workloads with a
   * record in the last `idleMs` of record time, unless their rows would pass `maxRows`: a
   * container still running would be counted again after the batch and written twice. On a
   * month's log in batches of 131 072 rows, 1.45 M rows went to the store for its 1.08 M keys;
   * holding back the running containers, 1.19 M. What is held costs no memory
   * beyond the counters the workload holds anyway.
   */
  takeBatch(positions: SourcePosition[], hold?: { idleMs: number; maxRows: number }): FlushBatch | null {
    if (hold !== undefined && positions.length > 0) throw new Error('takeBatch: workloads are held back only when no position is committed');
    this.newestInLastBatch = this.#newest;
    if (this.#newest > this.#clock) this.#clock = this.#newest;
    this.#newest = ABSENT;
    if (this.#dirtyWorkloads.length === 0 && this.#unattributedSize === 0 && this.#lost.size === 0 && this.#executables === 0) {
      this.#evictIdle();
      return positions.length > 0 ? { workloads: [], syscalls: [], executables: [], unattributed: [], lost: [], positions } : null;
    }
    const taken = hold === undefined ? this.#dirtyWorkloads : this.#takeIdle(hold.idleMs, hold.maxRows);
    const workloads: WorkloadRow[] = [];
    let rowCount = 0;
    for (const w of taken) rowCount += w.keys!.pending;
    const rows = new SyscallColumnsBuilder(rowCount);
    const executables: ExecutableDelta[] = [];
    for (const w of taken) {
      w.dirty = false;
      const x = w.workload;
      workloads.push({
        key: x.key, kind: x.kind, containerId: x.containerId, podUid: x.podUid, namespace: x.namespace, pod: x.pod,
        container: x.container, runtime: x.runtime, qos: x.qos, unit: x.unit, node: this.#nodeName,
        ownerKind: x.ownerKind ?? null, ownerName: x.ownerName ?? null,
        firstSeen: w.firstSeen, lastSeen: w.lastSeen, recordsSinceNewKey: w.sinceNewKey,
      });
      w.keys!.takeDeltas(x.key, rows, this.#actions);
      if (w.executables !== null) {
        this.#executables -= w.executables.size;
        for (const [exe, c] of w.executables) executables.push({ workload: x.key, exe, count: c.count, firstSeen: c.firstSeen, lastSeen: c.lastSeen });
        w.executables = null;
      }
    }
    if (taken === this.#dirtyWorkloads) this.#dirtyWorkloads = [];
    const unattributed: UnattributedDelta[] = [];
    for (const [reason, byComm] of this.#unattributed) {
      for (const [comm, byExe] of byComm) {
        for (const [exe, c] of byExe) unattributed.push({ comm, exe, reason, count: c.count, firstSeen: c.firstSeen, lastSeen: c.lastSeen });
      }
    }
    const lost = [...this.#lost.values()];
    const losses = this.#losses;
    this.#losses = [];
    this.#unattributed.clear();
    this.#unattributedSize = 0;
    this.#lost.clear();
    this.#evictIdle();
    return { workloads, syscalls: [], columns: rows.finish(), executables, unattributed, lost, losses, positions };
  }

  /** The dirty workloads idle for `idleMs` (record time), the rest staying dirty; all of them when the rest has more than `maxRows`. */
  #takeIdle(idleMs: number, maxRows: number): WorkloadState[] {
    const taken: WorkloadState[] = [];
    const held: WorkloadState[] = [];
    let heldRows = 0;
    for (const w of this.#dirtyWorkloads) {
      if (this.#clock - w.lastSeen < idleMs) {
        held.push(w);
        heldRows += w.keys!.pending;
      } else taken.push(w);
    }
    if (heldRows > maxRows) return this.#dirtyWorkloads;
    this.#dirtyWorkloads = held;
    return taken;
  }

  /** Once a batch, with nothing pending: idle workloads give up their counters, or are forgotten. */
  #evictIdle(): void {
    const clock = this.#clock;
    if (clock === ABSENT) return;
    for (const [key, w] of this.#workloads) {
      if (w.dirty || clock - w.lastSeen < EVICT_IDLE_MS) continue;
      if (clock - w.lastSeen >= FORGET_IDLE_MS) {
        this.keys -= w.keys === null ? w.known!.length : w.keys.size;
        w.keys?.release();
        w.keys = null;
        this.#workloads.delete(key);
        w.owner = null;
        // the attributor keeps its Workloads: this one must not keep the keys' memory alive
        if (w.workload.aggregateState === w) w.workload.aggregateState = null;
      } else if (w.keys !== null) {
        w.known = w.keys.knownKeys();
        w.keys.release();
        w.keys = null;
      }
    }
  }
}

function countAt(c: CountState, time: number): void {
  c.count++;
  if (time > c.lastSeen) c.lastSeen = time;
  if (time < c.firstSeen) c.firstSeen = time;
}

// Records of one node come in one or two arches: the last one is kept at hand.
const ARCHES: number[] = [];
let lastArch = -2;
let lastArchIndex = -1;
function archIndex(auditArch: number): number {
  if (auditArch === lastArch) return lastArchIndex;
  let i = ARCHES.indexOf(auditArch);
  if (i < 0) {
    ARCHES.push(auditArch);
    i = ARCHES.length - 1;
  }
  lastArch = auditArch;
  lastArchIndex = i;
  return i;
}
