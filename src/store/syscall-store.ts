import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { FlushBatch, LostDelta, SourcePosition, SyscallDelta, UnattributedDelta, WorkloadRow } from '../types/flush-batch.js';
import { openDatabase } from './open-database.js';
import { StoreError, storeErrorFrom } from './store-error.js';

export interface SyscallStoreOptions {
  /** the database file (created with its parent directories) */
  path: string;
  /** wait this long for another connection's write lock before SA_DB_BUSY (default 5000) */
  busyTimeoutMs?: number;
  /** the time stamped on positions; tests pin it */
  clock?: () => number;
}

/** A workload with a summary of what it called. */
export interface StoredWorkload extends WorkloadRow {
  ownerKind: string | null;
  ownerName: string | null;
  /** distinct (audit arch, syscall number) pairs, whatever the action */
  syscalls: number;
  /** records counted across all its syscall rows */
  records: number;
}

/** A syscall row: the same fields as the deltas that built it, `count` being the total. */
export type StoredSyscall = SyscallDelta;

export interface StoredExecutable {
  workload: string;
  exe: string;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

export interface StoredPosition extends SourcePosition {
  updatedAt: number;
}

/** A syscall row's count with its pod's names, as the metrics export it. */
export interface PodSyscallCount {
  /** the workload row's id: rows come in its order, which is the order workloads were first stored */
  workloadId: number;
  namespace: string;
  pod: string;
  container: string | null;
  auditArch: number;
  syscallNr: number;
  action: string;
  count: number;
}

const WORKLOAD_COLUMNS = `w.key, w.kind, w.container_id AS containerId, w.pod_uid AS podUid, w.namespace, w.pod,
  w.container, w.runtime, w.qos, w.unit, w.owner_kind AS ownerKind, w.owner_name AS ownerName, w.node,
  w.first_seen AS firstSeen, w.last_seen AS lastSeen,
  count(DISTINCT (s.audit_arch << 32) | (s.syscall_nr & 4294967295)) AS syscalls, ifnull(sum(s.count), 0) AS records`;
const WORKLOAD_FROM = 'FROM workloads w LEFT JOIN syscalls s ON s.workload_id = w.id';
const WORKLOAD_ORDER = 'GROUP BY w.id ORDER BY w.namespace, w.pod, w.container, w.key';
const WORKLOAD_ID = '(SELECT id FROM workloads WHERE key = ?)';
const TIMES = 'first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)';

/**
 * The per-node database: what the aggregate flushes, and what the API and profile export read.
 * Synchronous like better-sqlite3 itself: a 10 000-key batch commits in about 30 ms (see
 * bench/store-bench.ts), and a flush of only the keys that changed is far smaller.
 */
export class SyscallStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #clock: () => number;
  readonly #commit: Database.Transaction<(batch: FlushBatch, now: number) => void>;
  // Prepared once, not per batch: a flush runs the syscall statement once per changed key.
  // One run() per row beats handing SQLite the whole batch as JSON (json_each): measured 20 ms
  // against 40-60 ms for 10 000 rows, the JSON extraction costing more than the calls it saves.
  readonly #upsertWorkload: Database.Statement;
  readonly #addSyscall: Database.Statement;
  readonly #addExecutable: Database.Statement;
  readonly #addUnattributed: Database.Statement;
  readonly #addLost: Database.Statement;
  readonly #setPosition: Database.Statement;
  readonly #getPosition: Database.Statement<[string], string>;
  readonly #knownWorkload: Database.Statement<[string], number>;
  readonly #allWorkloads: Database.Statement<[], StoredWorkload>;
  readonly #workloadsIn: Database.Statement<[string], StoredWorkload>;
  readonly #workloadsOfPod: Database.Statement<[string, string], StoredWorkload>;
  readonly #syscallsOf: Database.Statement<[string], StoredSyscall>;
  readonly #executablesOf: Database.Statement<[string], StoredExecutable>;
  readonly #unattributed: Database.Statement<[], UnattributedDelta>;
  readonly #lost: Database.Statement<[], LostDelta>;
  readonly #positions: Database.Statement<[], StoredPosition>;
  readonly #podSyscallCounts: Database.Statement<[], PodSyscallCount>;
  readonly #podViolationCounts: Database.Statement<[], PodSyscallCount>;
  readonly #podWorkloadsAfter: Database.Statement<[number], { workloadId: number; namespace: string; pod: string; container: string | null }>;
  readonly #syscallCountsOfIds: Database.Statement<[string], PodSyscallCount>;
  readonly #violationCountsOfIds: Database.Statement<[string], PodSyscallCount>;
  readonly #podSyscallTotal: Database.Statement<[], number>;
  readonly #podViolationTotal: Database.Statement<[], number>;
  readonly #prune: Database.Statement<[number]>;
  readonly #deletePod: Database.Statement<[string, string]>;

  static open(options: SyscallStoreOptions): SyscallStore {
    const db = openDatabase({ path: options.path, busyTimeoutMs: options.busyTimeoutMs });
    try {
      return new SyscallStore(db, options.clock ?? Date.now);
    } catch (err) {
      db.close();
      throw storeErrorFrom(err, db.name);
    }
  }

  private constructor(db: Database.Database, clock: () => number) {
    this.#db = db;
    this.path = db.name;
    this.#clock = clock;
    this.#upsertWorkload = db.prepare(`
      INSERT INTO workloads (key, kind, container_id, pod_uid, namespace, pod, container, runtime, qos, unit, owner_kind, owner_name, node, first_seen, last_seen)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET
        container_id = ifnull(excluded.container_id, container_id), pod_uid = ifnull(excluded.pod_uid, pod_uid),
        namespace = ifnull(excluded.namespace, namespace), pod = ifnull(excluded.pod, pod),
        container = ifnull(excluded.container, container), runtime = ifnull(excluded.runtime, runtime),
        qos = ifnull(excluded.qos, qos), unit = ifnull(excluded.unit, unit),
        owner_kind = iif(excluded.owner_name IS NULL, owner_kind, excluded.owner_kind), owner_name = ifnull(excluded.owner_name, owner_name),
        node = excluded.node, ${TIMES}`);
    // The sample comm and exe are one pair from one record: replaced only while there is none,
    // so a later record cannot pair its exe with an earlier record's comm.
    this.#addSyscall = db.prepare(`
      INSERT INTO syscalls (workload_id, audit_arch, syscall_nr, action, count, first_seen, last_seen, comm, exe)
      VALUES (${WORKLOAD_ID}, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET count = count + excluded.count, ${TIMES},
        comm = iif(comm IS NULL AND exe IS NULL, excluded.comm, comm),
        exe = iif(comm IS NULL AND exe IS NULL, excluded.exe, exe)`);
    this.#addExecutable = db.prepare(`
      INSERT INTO executables (workload_id, exe, count, first_seen, last_seen) VALUES (${WORKLOAD_ID}, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET count = count + excluded.count, ${TIMES}`);
    this.#addUnattributed = db.prepare(`
      INSERT INTO unattributed (comm, exe, reason, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (reason, ifnull(comm, char(0)), ifnull(exe, char(0))) DO UPDATE SET count = count + excluded.count, ${TIMES}`);
    this.#addLost = db.prepare(`
      INSERT INTO lost_records (source, reason, count) VALUES (?, ?, ?)
      ON CONFLICT DO UPDATE SET count = count + excluded.count`);
    this.#setPosition = db.prepare(`
      INSERT INTO source_positions (source, position, updated_at) VALUES (?, ?, ?)
      ON CONFLICT DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at`);
    this.#getPosition = db.prepare<[string], string>('SELECT position FROM source_positions WHERE source = ?').pluck();
    this.#knownWorkload = db.prepare<[string], number>('SELECT 1 FROM workloads WHERE key = ?').pluck();
    this.#allWorkloads = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM} ${WORKLOAD_ORDER}`);
    this.#workloadsIn = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM} WHERE w.namespace = ? ${WORKLOAD_ORDER}`);
    this.#workloadsOfPod = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM} WHERE w.namespace = ? AND w.pod = ? ${WORKLOAD_ORDER}`);
    // keys arrive as one JSON array: one prepared statement serves any number of them
    this.#syscallsOf = db.prepare(`
      SELECT w.key AS workload, s.audit_arch AS auditArch, s.syscall_nr AS syscallNr, s.action, s.count,
        s.first_seen AS firstSeen, s.last_seen AS lastSeen, s.comm, s.exe
      FROM workloads w JOIN syscalls s ON s.workload_id = w.id
      WHERE w.key IN (SELECT value FROM json_each(?))
      ORDER BY w.key, s.audit_arch, s.syscall_nr, s.action`);
    this.#executablesOf = db.prepare(`
      SELECT w.key AS workload, e.exe, e.count, e.first_seen AS firstSeen, e.last_seen AS lastSeen
      FROM workloads w JOIN executables e ON e.workload_id = w.id
      WHERE w.key IN (SELECT value FROM json_each(?))
      ORDER BY w.key, e.exe`);
    this.#unattributed = db.prepare(`
      SELECT comm, exe, reason, count, first_seen AS firstSeen, last_seen AS lastSeen FROM unattributed
      ORDER BY count DESC, reason, comm, exe`);
    this.#lost = db.prepare('SELECT source, reason, count FROM lost_records ORDER BY source, reason');
    // In the order the rows are stored (workload id, then the syscall key): no sort, and the
    // oldest workloads first, so a metrics series cap keeps the same series from scrape to scrape.
    const podRows = `
      SELECT w.id AS workloadId, w.namespace, w.pod, w.container, s.audit_arch AS auditArch, s.syscall_nr AS syscallNr, s.action, s.count
      FROM workloads w JOIN syscalls s ON s.workload_id = w.id`;
    const ofPods = 'w.namespace IS NOT NULL AND w.pod IS NOT NULL';
    const storeOrder = 'ORDER BY w.id, s.audit_arch, s.syscall_nr, s.action';
    const notLog = "s.action <> 'log'";
    this.#podSyscallCounts = db.prepare(`${podRows} WHERE ${ofPods} ${storeOrder}`);
    this.#podViolationCounts = db.prepare(`${podRows} WHERE ${ofPods} AND ${notLog} ${storeOrder}`);
    this.#podWorkloadsAfter = db.prepare(`SELECT id AS workloadId, namespace, pod, container FROM workloads WHERE id > ? AND ${ofPods.replaceAll('w.', '')} ORDER BY id`);
    // ids as one JSON array, read once into a set (not matched per row)
    const ofIds = 'w.id IN (SELECT value FROM json_each(?))';
    this.#syscallCountsOfIds = db.prepare(`${podRows} WHERE ${ofIds} ${storeOrder}`);
    this.#violationCountsOfIds = db.prepare(`${podRows} WHERE ${ofIds} AND ${notLog} ${storeOrder}`);
    const podTotal = 'SELECT ifnull(sum(s.count), 0) FROM workloads w JOIN syscalls s ON s.workload_id = w.id';
    this.#podSyscallTotal = db.prepare<[], number>(`${podTotal} WHERE ${ofPods}`).pluck();
    this.#podViolationTotal = db.prepare<[], number>(`${podTotal} WHERE ${ofPods} AND ${notLog}`).pluck();
    this.#positions = db.prepare('SELECT source, position, updated_at AS updatedAt FROM source_positions ORDER BY source');
    // syscalls and executables go with their workload (ON DELETE CASCADE)
    this.#prune = db.prepare('DELETE FROM workloads WHERE last_seen < ?');
    this.#deletePod = db.prepare('DELETE FROM workloads WHERE namespace = ? AND pod = ?');
    // workloads first: the syscall and executable rows look their workload's id up by key
    this.#commit = db.transaction((b: FlushBatch, now: number) => {
      for (const w of b.workloads) {
        this.#upsertWorkload.run(w.key, w.kind, w.containerId, w.podUid, w.namespace, w.pod, w.container, w.runtime, w.qos, w.unit,
          w.ownerName == null ? null : w.ownerKind ?? null, w.ownerName ?? null, w.node, w.firstSeen, w.lastSeen);
      }
      for (const s of b.syscalls) {
        this.#addSyscall.run(s.workload, s.auditArch, s.syscallNr, s.action, s.count, s.firstSeen, s.lastSeen, s.comm, s.exe);
      }
      for (const e of b.executables) this.#addExecutable.run(e.workload, e.exe, e.count, e.firstSeen, e.lastSeen);
      for (const u of b.unattributed) this.#addUnattributed.run(u.comm, u.exe, u.reason, u.count, u.firstSeen, u.lastSeen);
      for (const l of b.lost) this.#addLost.run(l.source, l.reason, l.count);
      for (const p of b.positions) this.#setPosition.run(p.source, p.position, now);
    });
  }

  /**
   * Adds a flush's deltas and moves its sources' positions, all in one transaction: after a crash
   * the database holds either the batch and its positions or neither, so resuming from the stored
   * positions neither repeats nor skips a record. Throws a StoreError and keeps nothing of the
   * batch on any failure; the caller keeps the deltas and retries with the next flush (except on
   * SA_BATCH_INVALID, which the same batch will hit again).
   */
  commitBatch(batch: FlushBatch): void {
    try {
      this.#commit.immediate(batch, this.#clock());
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      // a constraint, or a value SQLite cannot bind (TypeError, RangeError): the batch is at fault, not the disk
      if (typeof code !== 'string' || code.startsWith('SQLITE_CONSTRAINT')) throw this.#invalid(batch, err);
      throw storeErrorFrom(err, this.path, 'the batch was rolled back');
    }
  }

  /** The position last committed for a source, or null when it has none yet. */
  position(source: string): string | null {
    return this.#guard(() => this.#getPosition.get(source) ?? null);
  }

  positions(): StoredPosition[] {
    return this.#guard(() => this.#positions.all());
  }

  /** Forgets workloads (and their syscalls and executables) not seen since `now - notSeenSinceMs`. */
  prune(options: { notSeenSinceMs: number; now?: number }): { workloads: number } {
    if (!(options.notSeenSinceMs >= 0)) throw new RangeError(`notSeenSinceMs must be >= 0, got ${options.notSeenSinceMs}`);
    const cutoff = (options.now ?? this.#clock()) - options.notSeenSinceMs;
    return { workloads: this.#guard(() => this.#prune.run(cutoff).changes) };
  }

  /** Forgets what a pod's containers were seen doing; returns how many workloads went. */
  deletePod(namespace: string, pod: string): number {
    return this.#guard(() => this.#deletePod.run(namespace, pod).changes);
  }

  listWorkloads(options: { namespace?: string } = {}): StoredWorkload[] {
    const ns = options.namespace;
    return this.#guard(() => (ns === undefined ? this.#allWorkloads.all() : this.#workloadsIn.all(ns)));
  }

  workloadsOfPod(namespace: string, pod: string): StoredWorkload[] {
    return this.#guard(() => this.#workloadsOfPod.all(namespace, pod));
  }

  /** The syscall rows of these workloads, ordered by workload, arch, number, action. */
  syscallsOf(workloadKeys: readonly string[]): StoredSyscall[] {
    return workloadKeys.length === 0 ? [] : this.#guard(() => this.#syscallsOf.all(JSON.stringify(workloadKeys)));
  }

  executablesOf(workloadKeys: readonly string[]): StoredExecutable[] {
    return workloadKeys.length === 0 ? [] : this.#guard(() => this.#executablesOf.all(JSON.stringify(workloadKeys)));
  }

  /**
   * The syscall rows of pods' containers with their names (`violations`: only those whose action
   * is not `log`), in the order workloads were first stored, one row at a time, so that the
   * metrics read only as far as their series cap. Finish or break off the iteration before the
   * next store call (the connection is busy until then).
   */
  podSyscallCounts(options: { violations?: boolean } = {}): IterableIterator<PodSyscallCount> {
    return this.#guard(() => (options.violations === true ? this.#podViolationCounts : this.#podSyscallCounts).iterate());
  }

  /** Pods' workloads stored after `afterWorkloadId`, in storage order: ids and names only. */
  podWorkloadsAfter(afterWorkloadId: number): { workloadId: number; namespace: string; pod: string; container: string | null }[] {
    return this.#guard(() => this.#podWorkloadsAfter.all(afterWorkloadId));
  }

  /** The rows podSyscallCounts() gives, of these workloads only. */
  podSyscallCountsOf(workloadIds: readonly number[], options: { violations?: boolean } = {}): PodSyscallCount[] {
    if (workloadIds.length === 0) return [];
    const statement = options.violations === true ? this.#violationCountsOfIds : this.#syscallCountsOfIds;
    return this.#guard(() => statement.all(JSON.stringify(workloadIds)));
  }

  /** Records in the rows podSyscallCounts() walks, summed by SQLite without handing over the rows. */
  podSyscallTotal(options: { violations?: boolean } = {}): number {
    return this.#guard(() => (options.violations === true ? this.#podViolationTotal : this.#podSyscallTotal).get() ?? 0);
  }

  unattributed(): UnattributedDelta[] {
    return this.#guard(() => this.#unattributed.all());
  }

  lost(): LostDelta[] {
    return this.#guard(() => this.#lost.all());
  }

  /**
   * Runs several reads against one snapshot. Each read alone is consistent, but two in a row may
   * straddle a commit (a workload list from before it, syscalls from after it).
   */
  readSnapshot<T>(read: () => T): T {
    return this.#guard(() => this.#db.transaction(read).deferred());
  }

  /** Bytes on disk: the database file plus its write-ahead log, which is where recent commits live. */
  sizeBytes(): number {
    if (this.#db.memory) {
      return (this.#db.pragma('page_count', { simple: true }) as number) * (this.#db.pragma('page_size', { simple: true }) as number);
    }
    let total = 0;
    for (const file of [this.path, `${this.path}-wal`]) {
      try {
        total += statSync(file).size;
      } catch {
        // no WAL between a checkpoint-on-close and the next write
      }
    }
    return total;
  }

  close(): void {
    if (!this.#db.open) return;
    try {
      // lets SQLite refresh the planner statistics the read queries depend on; cheap when nothing changed
      this.#db.pragma('optimize');
    } catch {
      // a damaged, full or read-only database must still close
    }
    this.#db.close();
  }

  /** Every failure leaves as a StoreError, so the API maps codes, not SQLite's messages. */
  #guard<T>(run: () => T): T {
    try {
      return run();
    } catch (err) {
      // uncoded errors are programming errors (a closed store, a throwing readSnapshot callback): keep them as they are
      if (typeof (err as { code?: unknown } | null)?.code !== 'string') throw err;
      throw storeErrorFrom(err, this.path);
    }
  }

  /**
   * Names what broke the contract. Done after the rollback rather than tracked per row, so the
   * commit loop carries no bookkeeping for a case that is a bug.
   */
  #invalid(batch: FlushBatch, err: unknown): StoreError {
    const described = new Set(batch.workloads.map((w) => w.key));
    const orphan = [...batch.syscalls, ...batch.executables].find((d) => !described.has(d.workload) && this.#knownWorkload.get(d.workload) === undefined);
    const what = orphan !== undefined
      ? `a delta for workload ${orphan.workload}, which neither the batch nor the database describes`
      : (err as Error).message;
    return new StoreError('SA_BATCH_INVALID', this.path, `${this.path}: batch rejected: ${what}: a bug in the caller; nothing of the batch was committed`, { cause: err });
  }
}
