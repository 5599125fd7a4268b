import type { AttributionMethod, UnattributedReason, Workload } from '../attribute/workload.js';
import type { ExecutableDelta, FlushBatch, LostDelta, SourcePosition, SyscallDelta, UnattributedDelta, WorkloadRow } from '../types/flush-batch.js';
import { ABSENT, SECCOMP_ACTIONS, type SeccompAction, type SeccompRecordView } from '../types/seccomp-record.js';

/** One (workload, arch, syscall, action) key: its count since the last flush and its times. */
interface KeyState {
  readonly auditArch: number;
  readonly syscallNr: number;
  readonly action: SeccompAction;
  /** the action's index in ACTIONS */
  readonly actionIndex: number;
  delta: number;
  firstSeen: number;
  lastSeen: number;
  /** who made the call first; sent with the key's first flush only */
  comm: string | null;
  exe: string | null;
  dirty: boolean;
  flushed: boolean;
}

interface WorkloadState {
  readonly workload: Workload;
  readonly keys: Map<number, KeyState>;
  firstSeen: number;
  lastSeen: number;
  dirty: boolean;
}

interface CountState {
  count: number;
  firstSeen: number;
  lastSeen: number;
}

/** Every action, in the order of `actionCounts` (log first: the common case). */
export const ACTIONS: readonly SeccompAction[] = SECCOMP_ACTIONS;

/**
 * Per-workload syscall sets in memory, and the deltas the store has not committed yet.
 *
 * The hot path (a key seen before) is one Map lookup per workload and per key, a counter
 * increment and two time comparisons: no allocation, no string work. Only a new key allocates,
 * and it is reported to `onNewKey`. `takeBatch()` hands over what changed since the last batch
 * (one row per changed key, not per record) and starts counting afresh.
 */
export class SyscallAggregate {
  readonly #nodeName: string;
  readonly #onNewKey: (workload: Workload, key: KeyState) => void;
  readonly #workloads = new Map<Workload, WorkloadState>();
  #dirtyKeys: { w: WorkloadState; k: KeyState }[] = [];
  #dirtyWorkloads: WorkloadState[] = [];
  readonly #executables = new Map<string, CountState & { workload: string; exe: string }>();
  readonly #unattributed = new Map<string, CountState & { comm: string | null; exe: string | null; reason: string }>();
  readonly #lost = new Map<string, LostDelta>();
  /** distinct keys held, for metrics */
  keys = 0;
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

  constructor(options: { nodeName: string; onNewKey?: (workload: Workload, key: { auditArch: number; syscallNr: number; action: SeccompAction }) => void }) {
    this.#nodeName = options.nodeName;
    this.#onNewKey = options.onNewKey ?? (() => {});
  }

  /**
   * Counts an attributed record at `time` (the record's own, else the caller's clock).
   * `method` tells whether this is a pid's first record (not 'cache'): then its executable is
   * noted too, which costs a string only once per process.
   */
  add(workload: Workload, rec: SeccompRecordView, method: AttributionMethod | null, now: number): void {
    const time = rec.time === ABSENT ? now : rec.time;
    if (time > this.#newest) this.#newest = time;
    let w = this.#workloads.get(workload);
    if (w === undefined) {
      w = { workload, keys: new Map(), firstSeen: time, lastSeen: time, dirty: false };
      this.#workloads.set(workload, w);
    }
    if (time > w.lastSeen) w.lastSeen = time;
    if (time < w.firstSeen) w.firstSeen = time;
    if (!w.dirty) {
      w.dirty = true;
      this.#dirtyWorkloads.push(w);
    }
    const actionIndex = ACTIONS.indexOf(rec.action);
    // (arch index, action index, nr) folded into one number: archs and actions are few
    const k = (archIndex(rec.auditArch) * 16 + actionIndex) * 0x100000000 + (rec.syscallNr >>> 0);
    let key = w.keys.get(k);
    if (key === undefined) {
      key = {
        auditArch: rec.auditArch, syscallNr: rec.syscallNr, action: rec.action, actionIndex, delta: 0, firstSeen: time, lastSeen: time,
        comm: rec.comm(), exe: rec.exe(), dirty: false, flushed: false,
      };
      w.keys.set(k, key);
      this.keys++;
      this.#onNewKey(workload, key);
    }
    key.delta++;
    if (time > key.lastSeen) key.lastSeen = time;
    if (time < key.firstSeen) key.firstSeen = time;
    if (!key.dirty) {
      key.dirty = true;
      this.#dirtyKeys.push({ w, k: key });
    }
    // once per process (the first record of a pid; later ones come from the cache)
    if (method !== 'cache') {
      const exe = rec.exe() ?? '';
      this.#count(this.#executables, `${workload.key}\0${exe}`, time, () => ({ workload: workload.key, exe }));
    }
  }

  /** Records per action (indexed like ACTIONS) so far, attributed or not, batched or pending. */
  actionCounts(): Float64Array {
    const counts = this.#actions.slice();
    for (const { k } of this.#dirtyKeys) counts[k.actionIndex] += k.delta;
    return counts;
  }

  /** Counts a record that could not be attributed, grouped by comm, exe and reason. */
  addUnattributed(rec: SeccompRecordView, reason: UnattributedReason, now: number): void {
    const time = rec.time === ABSENT ? now : rec.time;
    if (time > this.#newest) this.#newest = time;
    this.#actions[ACTIONS.indexOf(rec.action)]++;
    const comm = rec.comm();
    const exe = rec.exe();
    this.#count(this.#unattributed, `${comm}\0${exe}\0${reason}`, time, () => ({ comm, exe, reason }));
  }

  addLost(source: string, reason: string, count: number): void {
    const id = `${source}\0${reason}`;
    const lost = this.#lost.get(id);
    if (lost) lost.count += count;
    else this.#lost.set(id, { source, reason, count });
  }

  /** What changed since the last batch, with the positions it covers; null when nothing did. */
  takeBatch(positions: SourcePosition[]): FlushBatch | null {
    this.newestInLastBatch = this.#newest;
    this.#newest = ABSENT;
    if (this.#dirtyKeys.length === 0 && this.#dirtyWorkloads.length === 0 && this.#unattributed.size === 0 && this.#lost.size === 0 && this.#executables.size === 0) {
      return positions.length > 0 ? { workloads: [], syscalls: [], executables: [], unattributed: [], lost: [], positions } : null;
    }
    const workloads: WorkloadRow[] = this.#dirtyWorkloads.map((w) => {
      w.dirty = false;
      const x = w.workload;
      return {
        key: x.key, kind: x.kind, containerId: x.containerId, podUid: x.podUid, namespace: x.namespace, pod: x.pod,
        container: x.container, runtime: x.runtime, qos: x.qos, unit: x.unit, node: this.#nodeName,
        ownerKind: x.ownerKind ?? null, ownerName: x.ownerName ?? null,
        firstSeen: w.firstSeen, lastSeen: w.lastSeen,
      };
    });
    const syscalls: SyscallDelta[] = this.#dirtyKeys.map(({ w, k }) => {
      const row: SyscallDelta = {
        workload: w.workload.key, auditArch: k.auditArch, syscallNr: k.syscallNr, action: k.action, count: k.delta,
        firstSeen: k.firstSeen, lastSeen: k.lastSeen, comm: k.flushed ? null : k.comm, exe: k.flushed ? null : k.exe,
      };
      this.#actions[k.actionIndex] += k.delta;
      k.delta = 0;
      k.dirty = false;
      k.flushed = true;
      return row;
    });
    const executables: ExecutableDelta[] = [...this.#executables.values()];
    const unattributed: UnattributedDelta[] = [...this.#unattributed.values()];
    const lost = [...this.#lost.values()];
    this.#dirtyKeys = [];
    this.#dirtyWorkloads = [];
    this.#executables.clear();
    this.#unattributed.clear();
    this.#lost.clear();
    return { workloads, syscalls, executables, unattributed, lost, positions };
  }

  #count<T extends CountState>(map: Map<string, T>, id: string, time: number, make: () => Omit<T, keyof CountState>): void {
    const found = map.get(id);
    if (found !== undefined) {
      found.count++;
      if (time > found.lastSeen) found.lastSeen = time;
      if (time < found.firstSeen) found.firstSeen = time;
      return;
    }
    map.set(id, { ...make(), count: 1, firstSeen: time, lastSeen: time } as T);
  }
}

const ARCHES: number[] = [];
function archIndex(auditArch: number): number {
  let i = ARCHES.indexOf(auditArch);
  if (i < 0) {
    ARCHES.push(auditArch);
    i = ARCHES.length - 1;
  }
  return i;
}
