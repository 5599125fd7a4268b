import { statSync } from 'node:fs';
import type Database from 'better-sqlite3';
import type { FlushBatch, LostDelta, SourcePosition, SyscallDelta, UnattributedDelta, WorkloadRow } from '../types/flush-batch.js';

import { BatchCommit, DEFAULT_KEY_CAPS, type KeyCaps } from './batch-commit.js';
import { openDatabase, openReadOnlyDatabase } from './open-database.js';
import { StoreError, storeErrorFrom } from './store-error.js';

export interface SyscallStoreOptions {
  /** the database file (created with its parent directories) */
  path: string;
  /** wait this long for another connection's write lock before SA_DB_BUSY (default 5000) */
  busyTimeoutMs?: number;
  /** the time stamped on positions; tests pin it */
  clock?: () => number;
  /** caps on distinct unattributed and executable keys (default DEFAULT_KEY_CAPS) */
  caps?: Partial<KeyCaps>;
}

/** A workload with a summary of what it called. */
export interface StoredWorkload extends WorkloadRow {
  ownerKind: string | null;
  ownerName: string | null;
  /** distinct (audit arch, syscall number) pairs, whatever the action */
  syscalls: number;
  /** records counted across all its syscall rows */
  records: number;
  /** records whose action was not log */
  violations: number;
  /** when the first record of its newest distinct syscall was seen (ms), null before any */
  lastNewSyscallAt: number | null;
  /** records committed after the batch that brought that syscall */
  recordsSinceNewSyscall: number;
  /** distinct executables stored, and the records of executables over the cap */
  executables: number;
  executableOverflow: number;
}

/** A pod incarnation's key in the pods list: a pod recreated under its name is another uid. */
export interface PodKey {
  namespace: string;
  pod: string;
  /** '' when the uid is not known */
  podUid: string;
}

/** A page of a list, and the key to pass as `after` for the next (null on the last page). */
export interface Page<T, K> {
  items: T[];
  next: K | null;
}

/** The key of a syscall row, the violations list's order. */
export interface SyscallRowKey {
  workloadId: number;
  auditArch: number;
  syscallNr: number;
  action: string;
}

export interface StoredViolation extends StoredSyscall {
  workloadId: number;
  namespace: string | null;
  pod: string | null;
  container: string | null;
}

export interface StoredUnattributed extends UnattributedDelta {
  id: number;
}

/** A pod's workload as the metrics walk them, newest first. */
export interface RecentPodWorkload {
  workloadId: number;
  namespace: string;
  pod: string;
  container: string | null;
  firstSeen: number;
  lastSeen: number;
  syscalls: number;
  records: number;
  violations: number;
  lastNewSyscallAt: number | null;
  recordsSinceNewSyscall: number;
}

/** Records the key caps kept out, node-wide, since the database was created. */
export interface OverflowCounts {
  executables: number;
  /** per reason */
  unattributed: Record<string, number>;
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

/** A row of the loss timeline: records a source lost between `from` and `to` (ms), bucketed per minute. */
export interface StoredLoss {
  source: string;
  reason: string;
  count: number;
  from: number;
  to: number;
}

/**
 * A syscall row's count, as the metrics export it: a tuple (better-sqlite3's raw rows), since a
 * scrape reads tens of thousands of them and building an object for each was a third of the read.
 */
export type SyscallCount = readonly [auditArch: number, syscallNr: number, action: string, count: number];

const WORKLOAD_COLUMNS = `w.key, w.kind, w.container_id AS containerId, w.pod_uid AS podUid, w.namespace, w.pod,
  w.container, w.runtime, w.qos, w.unit, w.owner_kind AS ownerKind, w.owner_name AS ownerName, w.node,
  w.first_seen AS firstSeen, w.last_seen AS lastSeen,
  ifnull(m.syscalls, 0) AS syscalls, ifnull(m.records, 0) AS records, ifnull(m.violations, 0) AS violations,
  m.last_new_syscall_at AS lastNewSyscallAt, ifnull(m.records - m.records_at_last_new, 0) AS recordsSinceNewSyscall,
  ifnull(m.executables, 0) AS executables, ifnull(m.executable_overflow, 0) AS executableOverflow`;
const WORKLOAD_FROM = 'FROM workloads w LEFT JOIN workload_summaries m ON m.workload_id = w.id';
const WORKLOAD_ORDER = 'ORDER BY w.namespace, w.pod, w.container, w.key';
/** the pods list's key and its partial index's condition (see migration 3) */
const POD_UID = "ifnull(w.pod_uid, '')";
const IS_POD = 'w.namespace IS NOT NULL AND w.pod IS NOT NULL';

/**
 * The per-node database: what the aggregate flushes, and what the API and profile export read.
 * Synchronous like better-sqlite3 itself: a 10 000-key batch commits in about 30 ms (see
 * bench/store-bench.ts), and a flush of only the keys that changed is far smaller.
 *
 * Every list is read a page at a time from the key of the last page's last item (a keyset, not
 * an offset): a page costs its rows through an index, whatever the database holds, and an item
 * present from the first page to the last is returned exactly once however many are inserted or
 * deleted meanwhile.
 */
export class SyscallStore {
  readonly path: string;
  readonly #db: Database.Database;
  readonly #clock: () => number;
  readonly #commit: Database.Transaction<(batch: FlushBatch, now: number) => void>;
  readonly #getPosition: Database.Statement<[string], string>;
  readonly #knownWorkload: Database.Statement<[string], number>;
  readonly #allWorkloads: Database.Statement<[], StoredWorkload>;
  readonly #workloadsIn: Database.Statement<[string], StoredWorkload>;
  readonly #workloadsOfPod: Database.Statement<[string, string], StoredWorkload>;
  readonly #workloadByKey: Database.Statement<[string], StoredWorkload>;
  readonly #ownedPods: Database.Statement<[string, string, string], StoredWorkload>;
  readonly #podsNamedAfter: Database.Statement<[string, string, string], StoredWorkload>;
  readonly #podKeysAfter: Database.Statement<[string, string, string, number], PodKey>;
  readonly #podKeysInAfter: Database.Statement<[string, string, string, number], PodKey>;
  readonly #podWorkloadsBetween: Database.Statement<[string, string, string, string, string, string], StoredWorkload>;
  readonly #unitsAfter: Database.Statement<[string, number], StoredWorkload>;
  readonly #syscallsOf: Database.Statement<[string], StoredSyscall>;
  readonly #syscallUnionOf: Database.Statement<[string], StoredSyscall>;
  readonly #executablesOf: Database.Statement<[string], StoredExecutable>;
  readonly #violationsAfter: Database.Statement<[number, number, number, string, number], StoredViolation>;
  readonly #unattributedAfter: Database.Statement<[number, number], StoredUnattributed>;
  readonly #counters: Database.Statement<[string, string], { name: string; value: number }>;
  readonly #lost: Database.Statement<[], LostDelta>;
  readonly #lossesBetween: Database.Statement<[number, number], StoredLoss>;
  readonly #lossOverlaps: Database.Statement<[number, number], number>;
  readonly #unattributedLike: Database.Statement<[string, string, number, number], StoredUnattributed>;
  readonly #pruneLosses: Database.Statement<[number]>;
  readonly #processesOf: Database.Statement<[string, string], { comm: string | null; exe: string | null }>;
  readonly #positions: Database.Statement<[], StoredPosition>;
  readonly #recentPodWorkloads: Database.Statement<[number], RecentPodWorkload>;
  readonly #syscallCountsOf: Database.Statement<[number], SyscallCount>;
  readonly #violationCountsOf: Database.Statement<[number], SyscallCount>;
  readonly #prune: Database.Statement<[number]>;
  readonly #pruneUnattributed: Database.Statement<[number]>;
  readonly #addCounter: Database.Statement<[string, number]>;
  readonly #deletePod: Database.Statement<[string, string]>;

  static open(options: SyscallStoreOptions): SyscallStore {
    const db = openDatabase({ path: options.path, busyTimeoutMs: options.busyTimeoutMs });
    try {
      return new SyscallStore(db, options.clock ?? Date.now, { ...DEFAULT_KEY_CAPS, ...options.caps });
    } catch (err) {
      db.close();
      if (err instanceof RangeError) throw err;
      throw storeErrorFrom(err, db.name);
    }
  }

  /**
   * A read-only connection to a database the daemon has open (and so has checked and migrated):
   * for the API's read threads, which must never write, create or migrate it.
   */
  static openReadOnly(options: { path: string; busyTimeoutMs?: number | undefined }): SyscallStore {
    const db = openReadOnlyDatabase(options);
    try {
      return new SyscallStore(db, Date.now, DEFAULT_KEY_CAPS);
    } catch (err) {
      db.close();
      throw storeErrorFrom(err, db.name);
    }
  }

  private constructor(db: Database.Database, clock: () => number, caps: KeyCaps) {
    this.#db = db;
    this.path = db.name;
    this.#clock = clock;
    this.#getPosition = db.prepare<[string], string>('SELECT position FROM source_positions WHERE source = ?').pluck();
    this.#knownWorkload = db.prepare<[string], number>('SELECT 1 FROM workloads WHERE key = ?').pluck();
    this.#allWorkloads = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM} ${WORKLOAD_ORDER}`);
    this.#workloadsIn = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM} WHERE w.namespace = ? ${WORKLOAD_ORDER}`);
    this.#workloadsOfPod = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM} WHERE w.namespace = ? AND w.pod = ? ${WORKLOAD_ORDER}`);
    this.#workloadByKey = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM} WHERE w.key = ?`);
    // A workload's pods: those its owner names, and those whose names could derive to it
    // (`name-` followed by anything: '-' + 1 is '.'); the caller decides among the latter. Two
    // statements, each a range of an index: an OR of the two makes SQLite scan the namespace.
    this.#ownedPods = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM}
      WHERE w.namespace = ? AND w.pod IN (SELECT pod FROM workloads WHERE namespace = ? AND owner_name = ?)`);
    this.#podsNamedAfter = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM}
      WHERE w.namespace = ? AND w.pod >= ? || '-' AND w.pod < ? || '.'`);
    // The pods of one page: distinct incarnations after the last key, then their containers as
    // one range of the same index. Two statements, run in one snapshot (podPage).
    this.#podKeysAfter = db.prepare(`
      SELECT w.namespace, w.pod, ${POD_UID} AS podUid FROM workloads w
      WHERE ${IS_POD} AND (w.namespace, w.pod, ${POD_UID}) > (?, ?, ?)
      GROUP BY w.namespace, w.pod, ${POD_UID} ORDER BY w.namespace, w.pod, ${POD_UID} LIMIT ?`);
    this.#podKeysInAfter = db.prepare(`
      SELECT w.namespace, w.pod, ${POD_UID} AS podUid FROM workloads w
      WHERE ${IS_POD} AND w.namespace = ? AND (w.pod, ${POD_UID}) > (?, ?)
      GROUP BY w.namespace, w.pod, ${POD_UID} ORDER BY w.namespace, w.pod, ${POD_UID} LIMIT ?`);
    this.#podWorkloadsBetween = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM}
      WHERE ${IS_POD} AND (w.namespace, w.pod, ${POD_UID}) >= (?, ?, ?) AND (w.namespace, w.pod, ${POD_UID}) <= (?, ?, ?)
      ORDER BY w.namespace, w.pod, ${POD_UID}, w.container, w.key`);
    this.#unitsAfter = db.prepare(`SELECT ${WORKLOAD_COLUMNS} ${WORKLOAD_FROM}
      WHERE w.kind = 'host' AND w.unit > ? ORDER BY w.unit LIMIT ?`);
    const syscallColumns = `s.audit_arch AS auditArch, s.syscall_nr AS syscallNr, s.action, s.count,
        s.first_seen AS firstSeen, s.last_seen AS lastSeen, s.comm, s.exe`;
    // keys arrive as one JSON array: one prepared statement serves any number of them
    this.#syscallsOf = db.prepare(`
      SELECT w.key AS workload, ${syscallColumns}
      FROM workloads w JOIN syscalls s ON s.workload_id = w.id
      WHERE w.key IN (SELECT value FROM json_each(?))
      ORDER BY w.key, s.audit_arch, s.syscall_nr, s.action`);
    // one row per (arch, number, action) across the workloads: a profile of hundreds of pods
    // reads what it allows, not every pod's copy of it
    this.#syscallUnionOf = db.prepare(`
      SELECT '' AS workload, s.audit_arch AS auditArch, s.syscall_nr AS syscallNr, s.action, sum(s.count) AS count,
        min(s.first_seen) AS firstSeen, max(s.last_seen) AS lastSeen, NULL AS comm, NULL AS exe
      FROM workloads w JOIN syscalls s ON s.workload_id = w.id
      WHERE w.key IN (SELECT value FROM json_each(?))
      GROUP BY s.audit_arch, s.syscall_nr, s.action ORDER BY s.audit_arch, s.syscall_nr, s.action`);
    this.#executablesOf = db.prepare(`
      SELECT w.key AS workload, e.exe, e.count, e.first_seen AS firstSeen, e.last_seen AS lastSeen
      FROM workloads w JOIN executables e ON e.workload_id = w.id
      WHERE w.key IN (SELECT value FROM json_each(?))
      ORDER BY w.key, e.exe`);
    // through the partial index of non-log rows (its condition must appear as written)
    this.#violationsAfter = db.prepare(`
      SELECT s.workload_id AS workloadId, w.key AS workload, w.namespace, w.pod, w.container, ${syscallColumns}
      FROM syscalls s JOIN workloads w ON w.id = s.workload_id
      WHERE s.action <> 'log' AND (s.workload_id, s.audit_arch, s.syscall_nr, s.action) > (?, ?, ?, ?)
      ORDER BY s.workload_id, s.audit_arch, s.syscall_nr, s.action LIMIT ?`);
    this.#unattributedAfter = db.prepare(`
      SELECT id, comm, exe, reason, count, first_seen AS firstSeen, last_seen AS lastSeen FROM unattributed
      WHERE id > ? ORDER BY id LIMIT ?`);
    this.#counters = db.prepare<[string, string], { name: string; value: number }>("SELECT name, value FROM counters WHERE name >= ? AND name < ? || char(1114111)");
    this.#lost = db.prepare('SELECT source, reason, count FROM lost_records ORDER BY source, reason');
    // overlapping [from, to]: a range of loss_events_by_to from `from`, filtered on the start
    this.#lossesBetween = db.prepare(`
      SELECT source, reason, count, from_ms AS "from", to_ms AS "to" FROM loss_events
      WHERE to_ms >= ? AND from_ms <= ? ORDER BY from_ms, source, reason`);
    // the same range, up to the first row that lost records
    this.#lossOverlaps = db.prepare<[number, number], number>(`
      SELECT EXISTS (SELECT 1 FROM loss_events WHERE to_ms >= ? AND from_ms <= ? AND count > 0)`).pluck();
    // groups of the same comm or exe seen within [from, to] (keys arrive as JSON arrays); the
    // table is capped (10 000 keys by default), so a scan of it is bounded
    this.#unattributedLike = db.prepare(`
      SELECT id, comm, exe, reason, count, first_seen AS firstSeen, last_seen AS lastSeen FROM unattributed
      WHERE (exe IN (SELECT value FROM json_each(?)) OR comm IN (SELECT value FROM json_each(?)))
        AND last_seen >= ? AND first_seen <= ? ORDER BY count DESC, id LIMIT 100`);
    this.#pruneLosses = db.prepare('DELETE FROM loss_events WHERE to_ms < ?');
    // the comms and exes the workloads were seen running: each syscall row's sample and each executable
    this.#processesOf = db.prepare(`
      SELECT DISTINCT s.comm, s.exe FROM workloads w JOIN syscalls s ON s.workload_id = w.id WHERE w.key IN (SELECT value FROM json_each(?))
      UNION SELECT NULL, e.exe FROM workloads w JOIN executables e ON e.workload_id = w.id WHERE w.key IN (SELECT value FROM json_each(?))`);
    // Newest first (workloads_by_last_seen, backwards), only as far back as asked: what a
    // scrape exports is what runs now, and a month of history behind it costs nothing.
    this.#recentPodWorkloads = db.prepare(`
      SELECT w.id AS workloadId, w.namespace, w.pod, w.container, w.first_seen AS firstSeen, w.last_seen AS lastSeen, m.syscalls, m.records, m.violations,
        m.last_new_syscall_at AS lastNewSyscallAt, m.records - m.records_at_last_new AS recordsSinceNewSyscall
      FROM workloads w JOIN workload_summaries m ON m.workload_id = w.id
      WHERE w.last_seen >= ? AND ${IS_POD} ORDER BY w.last_seen DESC, w.id DESC`);
    this.#syscallCountsOf = db.prepare<[number], SyscallCount>('SELECT audit_arch, syscall_nr, action, count FROM syscalls WHERE workload_id = ?').raw();
    this.#violationCountsOf = db.prepare<[number], SyscallCount>(`SELECT audit_arch, syscall_nr, action, count FROM syscalls WHERE workload_id = ? AND action <> 'log'`).raw();
    this.#positions = db.prepare('SELECT source, position, updated_at AS updatedAt FROM source_positions ORDER BY source');
    // syscalls, executables and summaries go with their workload (ON DELETE CASCADE)
    this.#prune = db.prepare('DELETE FROM workloads WHERE last_seen < ?');
    this.#pruneUnattributed = db.prepare('DELETE FROM unattributed WHERE last_seen < ?');
    this.#addCounter = db.prepare<[string, number]>('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = value + excluded.value');
    this.#deletePod = db.prepare('DELETE FROM workloads WHERE namespace = ? AND pod = ?');
    const writer = new BatchCommit(db, caps);
    this.#commit = db.transaction((b: FlushBatch, now: number) => writer.write(b, now));
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

  /**
   * Forgets workloads (and their syscalls and executables) and unattributed groups not seen since
   * `now - notSeenSinceMs`. The counters of records stay: they are totals since the start.
   */
  prune(options: { notSeenSinceMs: number; now?: number }): { workloads: number; unattributed: number } {
    if (!(options.notSeenSinceMs >= 0)) throw new RangeError(`notSeenSinceMs must be >= 0, got ${options.notSeenSinceMs}`);
    const cutoff = (options.now ?? this.#clock()) - options.notSeenSinceMs;
    return this.#guard(() => this.#db.transaction(() => {
      const workloads = this.#prune.run(cutoff).changes;
      const unattributed = this.#pruneUnattributed.run(cutoff).changes;
      // frees room under the unattributed key cap
      if (unattributed > 0) this.#addCounter.run('unattributed_keys', -unattributed);
      // losses that ended before the cutoff can overlap no window still stored
      this.#pruneLosses.run(cutoff);
      return { workloads, unattributed };
    }).immediate());
  }

  /** Forgets what a pod's containers were seen doing; returns how many workloads went. */
  deletePod(namespace: string, pod: string): number {
    return this.#guard(() => this.#deletePod.run(namespace, pod).changes);
  }

  /**
   * Every workload (or a namespace's) with its summary. Reads the workloads table whole: for
   * tools and tests; the API pages (podPage, unitPage).
   */
  listWorkloads(options: { namespace?: string } = {}): StoredWorkload[] {
    const ns = options.namespace;
    return this.#guard(() => (ns === undefined ? this.#allWorkloads.all() : this.#workloadsIn.all(ns)));
  }

  workloadsOfPod(namespace: string, pod: string): StoredWorkload[] {
    return this.#guard(() => this.#workloadsOfPod.all(namespace, pod));
  }

  workload(key: string): StoredWorkload | null {
    return this.#guard(() => this.#workloadByKey.get(key) ?? null);
  }

  /**
   * The rows of the pods that may belong to workload `name` of a namespace: pods with a
   * container whose owner is `name`, and pods named `name-...`. workloadPods() picks among them;
   * this only keeps the read to the workload's neighbourhood.
   */
  workloadCandidates(namespace: string, name: string): StoredWorkload[] {
    return this.readSnapshot(() => {
      const owned = this.#ownedPods.all(namespace, namespace, name);
      const keys = new Set(owned.map((w) => w.key));
      return [...owned, ...this.#podsNamedAfter.all(namespace, name, name).filter((w) => !keys.has(w.key))]
        .sort((a, b) => (a.pod! < b.pod! ? -1 : a.pod! > b.pod! ? 1 : a.key < b.key ? -1 : 1));
    });
  }

  /**
   * Up to `limit` pod incarnations (namespace, pod, uid) after `after`, each with all its
   * containers, in key order; `namespace` keeps to one.
   */
  podPage(options: { limit: number; after?: PodKey | null; namespace?: string }): Page<{ key: PodKey; workloads: StoredWorkload[] }, PodKey> {
    const { limit, namespace } = options;
    const after = options.after ?? { namespace: namespace ?? '', pod: '', podUid: '' };
    return this.readSnapshot(() => {
      // one more than the page: whether there is a next page, without a count
      const keys = namespace === undefined
        ? this.#podKeysAfter.all(after.namespace, after.pod, after.podUid, limit + 1)
        : this.#podKeysInAfter.all(namespace, namespace === after.namespace ? after.pod : '', namespace === after.namespace ? after.podUid : '', limit + 1);
      const more = keys.length > limit;
      if (more) keys.pop();
      if (keys.length === 0) return { items: [], next: null };
      const first = keys[0]!, last = keys.at(-1)!;
      const rows = this.#podWorkloadsBetween.all(first.namespace, first.pod, first.podUid, last.namespace, last.pod, last.podUid);
      const items: { key: PodKey; workloads: StoredWorkload[] }[] = [];
      for (const w of rows) {
        const uid = w.podUid ?? '';
        const current = items.at(-1);
        if (current !== undefined && current.key.namespace === w.namespace && current.key.pod === w.pod && current.key.podUid === uid) current.workloads.push(w);
        else items.push({ key: { namespace: w.namespace!, pod: w.pod!, podUid: uid }, workloads: [w] });
      }
      return { items, next: more ? last : null };
    });
  }

  /** Up to `limit` host units after the unit `after`, by name. */
  unitPage(options: { limit: number; after?: string | null }): Page<StoredWorkload, string> {
    return this.#guard(() => {
      const rows = this.#unitsAfter.all(options.after ?? '', options.limit + 1);
      const more = rows.length > options.limit;
      if (more) rows.pop();
      return { items: rows, next: more ? rows.at(-1)!.unit : null };
    });
  }

  /** Up to `limit` syscall rows whose action was not log, after `after`, in workload-id order. */
  violationPage(options: { limit: number; after?: SyscallRowKey | null }): Page<StoredViolation, SyscallRowKey> {
    const a = options.after ?? { workloadId: 0, auditArch: 0, syscallNr: 0, action: '' };
    return this.#guard(() => {
      const rows = this.#violationsAfter.all(a.workloadId, a.auditArch, a.syscallNr, a.action, options.limit + 1);
      const more = rows.length > options.limit;
      if (more) rows.pop();
      const last = rows.at(-1);
      return { items: rows, next: more && last !== undefined ? { workloadId: last.workloadId, auditArch: last.auditArch, syscallNr: last.syscallNr, action: last.action } : null };
    });
  }

  /** Up to `limit` unattributed groups after id `after`, in the order they were first stored. */
  unattributedPage(options: { limit: number; after?: number | null }): Page<StoredUnattributed, number> {
    return this.#guard(() => {
      const rows = this.#unattributedAfter.all(options.after ?? 0, options.limit + 1);
      const more = rows.length > options.limit;
      if (more) rows.pop();
      return { items: rows, next: more ? rows.at(-1)!.id : null };
    });
  }

  /** The syscall rows of these workloads, ordered by workload, arch, number, action. */
  syscallsOf(workloadKeys: readonly string[]): StoredSyscall[] {
    return workloadKeys.length === 0 ? [] : this.#guard(() => this.#syscallsOf.all(JSON.stringify(workloadKeys)));
  }

  /**
   * The syscall rows of these workloads added up per (arch, number, action): what a profile of
   * all of them is built from (`workload` is '', comm and exe null).
   */
  syscallUnionOf(workloadKeys: readonly string[]): StoredSyscall[] {
    return workloadKeys.length === 0 ? [] : this.#guard(() => this.#syscallUnionOf.all(JSON.stringify(workloadKeys)));
  }

  executablesOf(workloadKeys: readonly string[]): StoredExecutable[] {
    return workloadKeys.length === 0 ? [] : this.#guard(() => this.#executablesOf.all(JSON.stringify(workloadKeys)));
  }

  /**
   * Pods' workloads seen at or after `sinceMs`, newest first, with their summaries: the
   * metrics export these, as far as their series cap goes.
   */
  recentPodWorkloads(sinceMs: number): RecentPodWorkload[] {
    return this.#guard(() => this.#recentPodWorkloads.all(sinceMs));
  }

  /** One workload's syscall counts (`violations`: those whose action is not log). */
  syscallCountsOf(workloadId: number, options: { violations?: boolean } = {}): SyscallCount[] {
    return this.#guard(() => (options.violations === true ? this.#violationCountsOf : this.#syscallCountsOf).all(workloadId));
  }

  /** Unattributed records per reason since the database was created (pruning does not lower them). */
  unattributedTotals(): Record<string, number> {
    return this.#counterGroup('unattributed_records:');
  }

  /** Records the key caps kept out of `executables` and `unattributed`, since the database was created. */
  overflow(): OverflowCounts {
    return {
      executables: this.#counterGroup('overflow_records:executables').executables ?? 0,
      unattributed: this.#counterGroup('overflow_records:unattributed:'),
    };
  }

  /** Counters named `prefix<rest>`, by rest. */
  #counterGroup(prefix: string): Record<string, number> {
    const split = prefix.endsWith(':') ? prefix.length : prefix.lastIndexOf(':') + 1;
    const out: Record<string, number> = {};
    for (const c of this.#guard(() => this.#counters.all(prefix, prefix))) out[c.name.slice(split)] = c.value;
    return out;
  }

  lost(): LostDelta[] {
    return this.#guard(() => this.#lost.all());
  }

  /**
   * What a profile of these workloads, learned within [fromMs, toMs], may lack: the losses
   * overlapping that interval, and the unattributed groups of the comms and exes the workloads
   * ran (an exe's comm is its file name, cut to the kernel's 15 characters). One snapshot.
   */
  learningEvidence(workloadKeys: readonly string[], fromMs: number, toMs: number): { losses: StoredLoss[]; unattributed: StoredUnattributed[] } {
    return this.readSnapshot(() => {
      const keys = JSON.stringify(workloadKeys);
      const exes = new Set<string>(), comms = new Set<string>();
      for (const p of this.#processesOf.all(keys, keys)) {
        if (p.comm !== null && p.comm !== '') comms.add(p.comm);
        if (p.exe !== null && p.exe !== '') {
          exes.add(p.exe);
          comms.add(p.exe.slice(p.exe.lastIndexOf('/') + 1).slice(0, 15));
        }
      }
      return {
        losses: this.#lossesBetween.all(fromMs, toMs),
        unattributed: this.unattributedLike({ exes: [...exes], comms: [...comms], fromMs, toMs }),
      };
    });
  }

  /** Whether a row of the loss timeline with lost records overlaps [fromMs, toMs] (both inclusive). */
  lossOverlaps(fromMs: number, toMs: number): boolean {
    return this.#guard(() => this.#lossOverlaps.get(fromMs, toMs) === 1);
  }

  /** The loss timeline's rows whose interval overlaps [fromMs, toMs] (both inclusive), oldest first. */
  lossesBetween(fromMs: number, toMs: number): StoredLoss[] {
    return this.#guard(() => this.#lossesBetween.all(fromMs, toMs));
  }

  /**
   * Unattributed groups with one of these exes or comms, seen within [fromMs, toMs]: records
   * that may belong to a workload running them. At most 100, the largest first.
   */
  unattributedLike(options: { exes: readonly string[]; comms: readonly string[]; fromMs: number; toMs: number }): StoredUnattributed[] {
    if (options.exes.length === 0 && options.comms.length === 0) return [];
    return this.#guard(() => this.#unattributedLike.all(JSON.stringify(options.exes), JSON.stringify(options.comms), options.fromMs, options.toMs));
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
    // a read-only connection can write no statistics
    if (this.#db.readonly) {
      this.#db.close();
      return;
    }
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
    const keys = [...batch.syscalls, ...batch.executables].map((d) => d.workload).concat(batch.columns?.workloadKeys ?? []);
    const orphan = keys.find((key) => !described.has(key) && this.#knownWorkload.get(key) === undefined);
    const what = orphan !== undefined
      ? `a delta for workload ${orphan}, which neither the batch nor the database describes`
      : (err as Error).message;
    return new StoreError('SA_BATCH_INVALID', this.path, `${this.path}: batch rejected: ${what}: a bug in the caller; nothing of the batch was committed`, { cause: err });
  }
}
