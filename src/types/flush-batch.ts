import type { SeccompAction } from './seccomp-record.js';
import type { SyscallColumns } from './syscall-columns.js';

/**
 * What the aggregate hands the store once per flush (at least once a second while records
 * flow): one row per distinct key that changed since the last flush, with count deltas, and the
 * source positions those deltas cover. The store commits a batch in one transaction, so a crash
 * can neither lose nor repeat a record. Times are ms since the epoch.
 */
export interface WorkloadRow {
  /** `container:<64 hex>` or `unit:<systemd unit>` */
  key: string;
  kind: 'container' | 'host';
  containerId: string | null;
  podUid: string | null;
  namespace: string | null;
  pod: string | null;
  container: string | null;
  runtime: string | null;
  qos: string | null;
  unit: string | null;
  /**
   * The pod's owning workload as the Kubernetes API names it (`Deployment`/`web`, `StatefulSet`/`db`,
   * `Job`, `DaemonSet`, `StaticPod`, `Pod` for a bare pod...); null or absent when not known (no
   * API): a known owner is never replaced by an unknown one.
   */
  ownerKind?: string | null;
  ownerName?: string | null;
  node: string;
  firstSeen: number;
  lastSeen: number;
  /**
   * Records after its newest new key, counted at the aggregate (absent: 0, as for rows made
   * elsewhere): what the store's convergence count (records since the newest syscall) takes
   * for the batch it came in, which may hold hours of a container's records.
   */
  recordsSinceNewKey?: number;
}

export interface SyscallDelta {
  workload: string;
  auditArch: number;
  /** the number as logged (x32 keeps bit 0x40000000) */
  syscallNr: number;
  action: SeccompAction;
  count: number;
  firstSeen: number;
  lastSeen: number;
  /** a sample of who made the call, kept from the first record of the key */
  comm: string | null;
  exe: string | null;
  /**
   * The first row the aggregate hands over for a key it had not seen before (in this process):
   * the store then tries the insert first, which for a new key is the one statement it needs.
   * A hint, not a promise: the database may hold the key from an earlier run (true, yet stored)
   * or may have lost an earlier row (absent or false, yet not stored: a dropped batch, a prune);
   * the store is exact either way, only slower by one statement.
   */
  isNew?: boolean;
}

export interface ExecutableDelta {
  workload: string;
  exe: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

/** Records that could not be attributed, grouped by comm, exe and reason. */
export interface UnattributedDelta {
  comm: string | null;
  exe: string | null;
  reason: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

/** Records the source says it lost (kmsg overwrite, printk suppression, audit_lost). */
export interface LostDelta {
  source: string;
  reason: string;
  count: number;
}

/**
 * Records a source lost, placed in time: they were made between `from` and `to` (ms since the
 * epoch, the records' own clock), as far as the source can tell. Each source charges its loss
 * to the interval it belongs to, not to when it learned of it (a printk suppression count comes
 * with the next record printed, possibly long after). `from` null: since the newest record this
 * source committed before (a restart's daemon_down; a first signal after a start), which the
 * store resolves from the source's position in the same transaction.
 */
export interface LossEvent {
  source: string;
  reason: string;
  count: number;
  from: number | null;
  to: number;
}

/**
 * A source's position after the last record the batch covers: `kmsg` → `<boot_id>:<seq>`,
 * `file:<path>` → `<inode>:<byte offset>`, `journal` → the journal cursor.
 */
export interface SourcePosition {
  source: string;
  position: string;
  /** the time of the newest record it covers (ms), when the source knows it */
  recordTime?: number;
}

export interface FlushBatch {
  workloads: WorkloadRow[];
  syscalls: SyscallDelta[];
  /**
   * More syscall rows, in columns (syscall-columns.ts): how the aggregate hands over a batch that
   * crosses threads; the store takes both forms alike.
   */
  columns?: SyscallColumns;
  executables: ExecutableDelta[];
  unattributed: UnattributedDelta[];
  lost: LostDelta[];
  /** the same losses placed in time (absent: none placed; `lost` still counts them) */
  losses?: LossEvent[];
  positions: SourcePosition[];
}
