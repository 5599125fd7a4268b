import type Database from 'better-sqlite3';
import type { FlushBatch } from '../types/flush-batch.js';
import { SECCOMP_ACTIONS } from '../types/seccomp-record.js';
import { columnsOf, IS_NEW_TRUE, type SyscallColumns } from '../types/syscall-columns.js';

/** Caps on distinct keys: what is beyond them is counted in an overflow bucket, not stored. */
export interface KeyCaps {
  /** distinct (reason, comm, exe) rows in `unattributed`, node-wide */
  maxUnattributedKeys: number;
  /** distinct executables stored per workload */
  maxExecutablesPerWorkload: number;
}

export const DEFAULT_KEY_CAPS: KeyCaps = { maxUnattributedKeys: 10_000, maxExecutablesPerWorkload: 1_000 };

/** What one batch changes of one workload's summary row. */
interface SummaryDelta {
  syscalls: number;
  records: number;
  violations: number;
  executables: number;
  executableOverflow: number;
  /** first record of the newest new (arch, number) in this batch; 0: none */
  newestCall: number;
  /** records of the batch after the aggregate's newest new key (WorkloadRow.recordsSinceNewKey) */
  sinceNewKey: number;
  /** the summary's stored executables, read only when a new executable must be checked against the cap */
  storedExecutables: number | undefined;
}

/** Rows per multi-row insert of syscall rows: from 16 on, more saves nothing measurable. */
const INSERT_ROWS = 64;
/** values per syscall row */
const COLUMNS = 9;

/**
 * A workload's syscall keys per audit arch, as read before its first rows of a batch and with
 * the rows the batch added since: `keys` holds number * 16 + action index, `calls` the numbers.
 * Numbers, not strings: exact (an int32 times 16), and no string built per row.
 */
type StoredKeys = Map<number, { keys: Set<number>; calls: Set<number> }>;

function archKeys(w: StoredKeys, arch: number): { keys: Set<number>; calls: Set<number> } {
  let a = w.get(arch);
  if (a === undefined) w.set(arch, (a = { keys: new Set(), calls: new Set() }));
  return a;
}

/** Whether the run of one workload's rows starting at `from` has a row the aggregate marks new. */
function hasNewKey(c: SyscallColumns, from: number): boolean {
  const w = c.workload[from];
  for (let i = from; i < c.length && c.workload[i] === w; i++) if (c.isNew[i] === IS_NEW_TRUE) return true;
  return false;
}

/**
 * The store's write: a FlushBatch in one transaction, with the per-workload summaries and the
 * counters the read side answers from kept in step with the rows.
 *
 * Syscall rows. The summaries count a workload's distinct calls (arch and number, whatever the
 * action) and when the last new one came, so each row written must be known as a new key or
 * not, and a new key as a new call or as another action of a known one. A workload with a row
 * the aggregate marks new (`isNew`: its first batch, or a key it had not seen) has its stored
 * keys read once per batch (a range of the primary key, a single seek for a workload new to the
 * database); both answers then come from those keys and the ones the batch added before, in JS,
 * and its rows go INSERT_ROWS to a statement, as upserts. A statement per row, whose RETURNING
 * subquery said whether the call was new, cost the 30-day ingest's main thread 3.8 us of CPU a
 * row (1.42 M rows); this costs 1.9, most of it SQLite's B-tree. (The read costs ~0.3 us a
 * stored key: a known workload's one new key in a daemon's later batch costs some tens of us
 * more than it did, a workload's first batch nothing.) The rows of any other workload
 * (a known workload's updates, stored as a rule) are updated one statement each, and inserted
 * when the update finds nothing (a key whose earlier row was dropped or pruned), the insert then
 * saying itself whether the call is new: reading their keys would read several stored rows for
 * each row written. The hint only picks the path: both are exact whatever the database holds.
 *
 * Workload ids are looked up once per workload per batch, not once per row, and only for the
 * length of the transaction: a rolled back batch or another connection's delete cannot leave a
 * stale id behind. Rows come grouped by workload (the aggregate hands them over so), so the
 * loop keeps the last workload's id, summary and keys at hand instead of Map lookups a row.
 */
export class BatchCommit {
  readonly #caps: KeyCaps;
  readonly #upsertWorkload: Database.Statement;
  readonly #workloadId: Database.Statement<[string], number>;
  readonly #updateSyscall: Database.Statement;
  /** returns 1 when the row was inserted as a new call, 0 when inserted beside another action's row, nothing when the key was stored */
  readonly #insertSyscall: Database.Statement<unknown[], number>;
  readonly #storedKeys: Database.Statement<[number], [number, number]>;
  /** INSERT_ROWS rows in one statement, and one row: both add to a key already stored */
  readonly #upsertSyscalls: Database.Statement<unknown[]>;
  readonly #upsertSyscall: Database.Statement<unknown[]>;
  /** the arguments of #upsertSyscalls, reused: the rows waiting for it, COLUMNS values each */
  readonly #queued: unknown[] = new Array<unknown>(INSERT_ROWS * COLUMNS).fill(null);
  #queuedRows = 0;
  readonly #updateExecutable: Database.Statement;
  readonly #insertExecutable: Database.Statement;
  readonly #storedExecutables: Database.Statement<[number], number>;
  readonly #updateUnattributed: Database.Statement;
  readonly #insertUnattributed: Database.Statement;
  readonly #counter: Database.Statement<[string], number>;
  readonly #addCounter: Database.Statement<[string, number]>;
  readonly #addSummary: Database.Statement;
  readonly #addLost: Database.Statement;
  readonly #addLossEvent: Database.Statement;
  readonly #committedRecordTime: Database.Statement<[string], number>;
  readonly #setPosition: Database.Statement;

  constructor(db: Database.Database, caps: KeyCaps) {
    for (const [name, value] of Object.entries(caps)) {
      if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`${name} must be a whole number >= 0, got ${value}`);
    }
    this.#caps = caps;
    const times = 'first_seen = min(first_seen, excluded.first_seen), last_seen = max(last_seen, excluded.last_seen)';
    this.#upsertWorkload = db.prepare(`
      INSERT INTO workloads (key, kind, container_id, pod_uid, namespace, pod, container, runtime, qos, unit, owner_kind, owner_name, node, first_seen, last_seen)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (key) DO UPDATE SET
        container_id = ifnull(excluded.container_id, container_id), pod_uid = ifnull(excluded.pod_uid, pod_uid),
        namespace = ifnull(excluded.namespace, namespace), pod = ifnull(excluded.pod, pod),
        container = ifnull(excluded.container, container), runtime = ifnull(excluded.runtime, runtime),
        qos = ifnull(excluded.qos, qos), unit = ifnull(excluded.unit, unit),
        owner_kind = iif(excluded.owner_name IS NULL, owner_kind, excluded.owner_kind), owner_name = ifnull(excluded.owner_name, owner_name),
        node = excluded.node, ${times}
      RETURNING id`).pluck();
    this.#workloadId = db.prepare<[string], number>('SELECT id FROM workloads WHERE key = ?').pluck();
    // The sample comm and exe are one pair from one record: replaced only while there is none,
    // so a later record cannot pair its exe with an earlier record's comm. (Every right-hand
    // side of an UPDATE sees the row as it was, so exe's test still sees the old comm.)
    this.#updateSyscall = db.prepare(`
      UPDATE syscalls SET count = count + ?, first_seen = min(first_seen, ?), last_seen = max(last_seen, ?),
        comm = iif(comm IS NULL AND exe IS NULL, ?, comm), exe = iif(comm IS NULL AND exe IS NULL, ?, exe)
      WHERE workload_id = ? AND audit_arch = ? AND syscall_nr = ? AND action = ?`);
    // DO NOTHING returns no row for a stored key (the caller then updates it). The RETURNING
    // subquery is a seek on the primary key's (workload, arch, number) prefix, run only for a
    // row actually inserted, in the same statement: a separate SELECT cost a round trip per key.
    // (It cannot see its own row: the action differs.) ON CONFLICT covers only the primary key,
    // so a NULL workload id still fails NOT NULL, which commitBatch reports as SA_BATCH_INVALID.
    this.#insertSyscall = db.prepare<unknown[], number>(`
      INSERT INTO syscalls (workload_id, audit_arch, syscall_nr, action, count, first_seen, last_seen, comm, exe) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO NOTHING
      RETURNING NOT EXISTS (SELECT 1 FROM syscalls o WHERE o.workload_id = syscalls.workload_id AND o.audit_arch = syscalls.audit_arch
        AND o.syscall_nr = syscalls.syscall_nr AND o.action <> syscalls.action)`).pluck();
    // the action as the index the columns carry; one they cannot carry (15) still stores its call
    this.#storedKeys = db.prepare<[number], [number, number]>(`
      SELECT audit_arch, syscall_nr * 16 + CASE action ${SECCOMP_ACTIONS.map((a, i) => `WHEN '${a}' THEN ${i}`).join(' ')} ELSE 15 END
      FROM syscalls WHERE workload_id = ?`).raw();
    // The update is the UPDATE's: it serves a key stored before, or one twice in a batch (nothing
    // rules that out: a FlushBatch's objects and its columns, a workload in two runs), which adds
    // up as it did with a statement a row. The action is bound as its index (a string costs a
    // UTF-8 conversion and a copy), and the arguments spread (an array is bound element by
    // element through property lookups): 0.4 us a row together. As for the single-row insert, a
    // NULL workload id or count still fails NOT NULL.
    const action = `CASE ? ${SECCOMP_ACTIONS.map((a, i) => `WHEN ${i} THEN '${a}'`).join(' ')} END`;
    const upsert = (rows: number): string => `
      INSERT INTO syscalls (workload_id, audit_arch, syscall_nr, action, count, first_seen, last_seen, comm, exe)
      VALUES ${Array<string>(rows).fill(`(?, ?, ?, ${action}, ?, ?, ?, ?, ?)`).join(', ')}
      ON CONFLICT DO UPDATE SET count = count + excluded.count, first_seen = min(first_seen, excluded.first_seen),
        last_seen = max(last_seen, excluded.last_seen),
        comm = iif(comm IS NULL AND exe IS NULL, excluded.comm, comm), exe = iif(comm IS NULL AND exe IS NULL, excluded.exe, exe)`;
    this.#upsertSyscalls = db.prepare(upsert(INSERT_ROWS));
    this.#upsertSyscall = db.prepare(upsert(1));
    this.#updateExecutable = db.prepare(`
      UPDATE executables SET count = count + ?, first_seen = min(first_seen, ?), last_seen = max(last_seen, ?) WHERE workload_id = ? AND exe = ?`);
    this.#insertExecutable = db.prepare('INSERT INTO executables (workload_id, exe, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?)');
    this.#storedExecutables = db.prepare<[number], number>('SELECT executables FROM workload_summaries WHERE workload_id = ?').pluck();
    this.#updateUnattributed = db.prepare(`
      UPDATE unattributed SET count = count + ?, first_seen = min(first_seen, ?), last_seen = max(last_seen, ?)
      WHERE reason = ? AND ifnull(comm, char(0)) = ifnull(?, char(0)) AND ifnull(exe, char(0)) = ifnull(?, char(0))`);
    this.#insertUnattributed = db.prepare('INSERT INTO unattributed (comm, exe, reason, count, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)');
    this.#counter = db.prepare<[string], number>('SELECT value FROM counters WHERE name = ?').pluck();
    this.#addCounter = db.prepare<[string, number]>('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT DO UPDATE SET value = value + excluded.value');
    // syscalls > 0: this batch brought a new call, so the records counted since start again from the
    // aggregate's newest new key in it (@since records of the batch came after it)
    this.#addSummary = db.prepare(`
      INSERT INTO workload_summaries (workload_id, syscalls, records, violations, executables, executable_overflow, last_new_syscall_at, records_at_last_new)
      VALUES (@id, @syscalls, @records, @violations, @executables, @overflow, @newest, iif(@syscalls > 0, @records - @since, 0))
      ON CONFLICT DO UPDATE SET syscalls = syscalls + excluded.syscalls, records = records + excluded.records,
        violations = violations + excluded.violations, executables = executables + excluded.executables,
        executable_overflow = executable_overflow + excluded.executable_overflow,
        last_new_syscall_at = iif(excluded.syscalls > 0, max(ifnull(last_new_syscall_at, 0), excluded.last_new_syscall_at), last_new_syscall_at),
        records_at_last_new = iif(excluded.syscalls > 0, records + excluded.records_at_last_new, records_at_last_new)`);
    this.#addLost = db.prepare(`
      INSERT INTO lost_records (source, reason, count) VALUES (?, ?, ?)
      ON CONFLICT DO UPDATE SET count = count + excluded.count`);
    // one row per source, reason and minute of the end (migration 4): the interval widens to
    // cover every event of the bucket
    this.#addLossEvent = db.prepare(`
      INSERT INTO loss_events (source, reason, minute, from_ms, to_ms, count) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET from_ms = min(from_ms, excluded.from_ms), to_ms = max(to_ms, excluded.to_ms), count = count + excluded.count`);
    // the newest record the source committed, or (positions from before migration 4) when it committed
    this.#committedRecordTime = db.prepare<[string], number>('SELECT ifnull(record_time, updated_at) FROM source_positions WHERE source = ?').pluck();
    // a position without a record time (a file source's, a batch without records) keeps the last one known
    this.#setPosition = db.prepare(`
      INSERT INTO source_positions (source, position, updated_at, record_time) VALUES (?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET position = excluded.position, updated_at = excluded.updated_at,
        record_time = ifnull(excluded.record_time, record_time)`);
  }

  /** Writes the batch; run it inside a transaction (SyscallStore.commitBatch does). */
  write(b: FlushBatch, now: number): void {
    const ids = new Map<string, number | null>();
    const summaries = new Map<number, SummaryDelta>();
    const summaryOf = (id: number): SummaryDelta => {
      let s = summaries.get(id);
      if (s === undefined) {
        s = { syscalls: 0, records: 0, violations: 0, executables: 0, executableOverflow: 0, newestCall: 0, sinceNewKey: 0, storedExecutables: undefined };
        summaries.set(id, s);
      }
      return s;
    };
    // workloads first: the rows below reference them by id
    for (const w of b.workloads) {
      const id = this.#upsertWorkload.get(w.key, w.kind, w.containerId, w.podUid, w.namespace, w.pod, w.container, w.runtime, w.qos, w.unit,
        w.ownerName == null ? null : w.ownerKind ?? null, w.ownerName ?? null, w.node, w.firstSeen, w.lastSeen) as number;
      ids.set(w.key, id);
      summaryOf(id).sinceNewKey = w.recordsSinceNewKey ?? 0;
    }
    // a key the batch does not describe: its id from the database, or null, which the NOT NULL
    // constraint turns into SA_BATCH_INVALID
    const idOf = (key: string): number | null => {
      let id = ids.get(key);
      if (id === undefined) {
        id = this.#workloadId.get(key) ?? null;
        ids.set(key, id);
      }
      return id;
    };

    // a batch that failed (any statement, queued rows' or not) may have left rows queued
    this.#queuedRows = 0;
    const known = new Map<number, StoredKeys>();
    if (b.syscalls.length > 0) this.#writeSyscalls(columnsOf(b.syscalls), idOf, summaryOf, known);
    if (b.columns !== undefined) this.#writeSyscalls(b.columns, idOf, summaryOf, known);

    let executableOverflow = 0;
    for (const e of b.executables) {
      const id = idOf(e.workload);
      if (this.#updateExecutable.run(e.count, e.firstSeen, e.lastSeen, id, e.exe).changes > 0) continue;
      if (id === null) {
        this.#insertExecutable.run(id, e.exe, e.count, e.firstSeen, e.lastSeen);
        continue;
      }
      const summary = summaryOf(id);
      summary.storedExecutables ??= this.#storedExecutables.get(id) ?? 0;
      if (summary.storedExecutables + summary.executables < this.#caps.maxExecutablesPerWorkload) {
        this.#insertExecutable.run(id, e.exe, e.count, e.firstSeen, e.lastSeen);
        summary.executables++;
      } else {
        summary.executableOverflow += e.count;
        executableOverflow += e.count;
      }
    }
    if (executableOverflow > 0) this.#addCounter.run('overflow_records:executables', executableOverflow);

    if (b.unattributed.length > 0) {
      let keys = this.#counter.get('unattributed_keys') ?? 0;
      const byReason = new Map<string, { records: number; overflow: number }>();
      for (const u of b.unattributed) {
        let reason = byReason.get(u.reason);
        if (reason === undefined) byReason.set(u.reason, (reason = { records: 0, overflow: 0 }));
        reason.records += u.count;
        if (this.#updateUnattributed.run(u.count, u.firstSeen, u.lastSeen, u.reason, u.comm, u.exe).changes > 0) continue;
        if (keys < this.#caps.maxUnattributedKeys) {
          this.#insertUnattributed.run(u.comm, u.exe, u.reason, u.count, u.firstSeen, u.lastSeen);
          keys++;
        } else {
          reason.overflow += u.count;
        }
      }
      for (const [reason, n] of byReason) {
        this.#addCounter.run(`unattributed_records:${reason}`, n.records);
        if (n.overflow > 0) this.#addCounter.run(`overflow_records:unattributed:${reason}`, n.overflow);
      }
      this.#addCounter.run('unattributed_keys', keys - (this.#counter.get('unattributed_keys') ?? 0));
    }

    for (const [id, s] of summaries) {
      this.#addSummary.run({
        id, syscalls: s.syscalls, records: s.records, violations: s.violations, executables: s.executables,
        overflow: s.executableOverflow, newest: s.syscalls > 0 ? s.newestCall : null,
        since: Math.min(s.sinceNewKey, s.records),
      });
    }
    for (const l of b.lost) this.#addLost.run(l.source, l.reason, l.count);
    // before the positions move: a loss of unknown start begins at the record committed before
    for (const e of b.losses ?? []) {
      if (e.count <= 0) continue;
      // no record committed yet either: the loss may be of any time before its end
      const from = Math.min(e.from ?? this.#committedRecordTime.get(e.source) ?? 0, e.to);
      this.#addLossEvent.run(e.source, e.reason, Math.floor(e.to / 60_000), from, e.to, e.count);
    }
    for (const p of b.positions) this.#setPosition.run(p.source, p.position, now, p.recordTime ?? null);
  }
  /** The syscall rows (see the class comment); `known` holds the keys read, across both calls of a write. */
  #writeSyscalls(c: SyscallColumns, idOf: (key: string) => number | null, summaryOf: (id: number) => SummaryDelta, known: Map<number, StoredKeys>): void {
    const update = this.#updateSyscall, insert = this.#insertSyscall;
    const { numbers, strings } = c;
    let lastWorkload = -1;
    let id: number | null = null;
    // set by the first row: lastWorkload starts as no workload's index
    let summary!: SummaryDelta;
    let keysRead: StoredKeys | undefined;
    let lastArch = -1;
    let keys!: Set<number>, calls!: Set<number>;
    for (let i = 0; i < c.length; i++) {
      if (c.workload[i] !== lastWorkload) {
        lastWorkload = c.workload[i]!;
        id = idOf(c.workloadKeys[lastWorkload]!);
        // a null id fails the statements below (SA_BATCH_INVALID) before its summary is written
        summary = summaryOf(id!);
        // Once read, a workload's keys serve its every later row of the batch, in whatever run:
        // its queued rows are not in the table yet, so none of the statements below may look.
        // (Its rows before the read went there directly, and the read sees them.)
        keysRead = id === null ? undefined : known.get(id);
        if (keysRead === undefined && id !== null && hasNewKey(c, i)) known.set(id, (keysRead = this.#readKeys(id)));
        lastArch = -1;
      }
      const arch = c.auditArch[i]!, nr = c.syscallNr[i]!, actionIndex = c.action[i]!;
      const count = numbers[3 * i]!, firstSeen = numbers[3 * i + 1]!, lastSeen = numbers[3 * i + 2]!;
      const comm = c.comm[i]! < 0 ? null : strings[c.comm[i]!]!, exe = c.exe[i]! < 0 ? null : strings[c.exe[i]!]!;
      // 1: inserted, a new call; 0: inserted, the call known under another action; undefined: stored before
      let inserted: number | undefined;
      if (keysRead !== undefined) {
        if (arch !== lastArch) {
          lastArch = arch;
          ({ keys, calls } = archKeys(keysRead, arch));
        }
        const key = nr * 16 + actionIndex;
        if (!keys.has(key)) {
          keys.add(key);
          if (calls.has(nr)) inserted = 0;
          else {
            calls.add(nr);
            inserted = 1;
          }
        }
        this.#queue(id, arch, nr, actionIndex, count, firstSeen, lastSeen, comm, exe);
      } else {
        const action = SECCOMP_ACTIONS[actionIndex]!;
        if (c.isNew[i] === IS_NEW_TRUE) {
          inserted = insert.get(id, arch, nr, action, count, firstSeen, lastSeen, comm, exe);
          if (inserted === undefined) update.run(count, firstSeen, lastSeen, comm, exe, id, arch, nr, action);
        } else if (update.run(count, firstSeen, lastSeen, comm, exe, id, arch, nr, action).changes === 0) {
          inserted = insert.get(id, arch, nr, action, count, firstSeen, lastSeen, comm, exe);
        }
      }
      if (inserted === 1) {
        summary.syscalls++;
        if (firstSeen > summary.newestCall) summary.newestCall = firstSeen;
      }
      summary.records += count;
      // SECCOMP_ACTIONS[0] is log
      if (actionIndex !== 0) summary.violations += count;
    }
    this.#flushQueue();
  }

  #readKeys(id: number): StoredKeys {
    const w: StoredKeys = new Map();
    let lastArch = -1;
    let keys!: Set<number>, calls!: Set<number>;
    for (const [arch, key] of this.#storedKeys.iterate(id)) {
      if (arch !== lastArch) {
        lastArch = arch;
        ({ keys, calls } = archKeys(w, arch));
      }
      keys.add(key);
      calls.add(Math.floor(key / 16));
    }
    return w;
  }

  #queue(id: number | null, arch: number, nr: number, actionIndex: number, count: number, firstSeen: number, lastSeen: number, comm: string | null, exe: string | null): void {
    const q = this.#queued;
    let o = this.#queuedRows * COLUMNS;
    q[o++] = id; q[o++] = arch; q[o++] = nr; q[o++] = actionIndex; q[o++] = count;
    q[o++] = firstSeen; q[o++] = lastSeen; q[o++] = comm; q[o] = exe;
    if (++this.#queuedRows === INSERT_ROWS) {
      this.#upsertSyscalls.run(...q);
      this.#queuedRows = 0;
    }
  }

  #flushQueue(): void {
    const q = this.#queued;
    for (let r = 0; r < this.#queuedRows; r++) {
      const o = r * COLUMNS;
      this.#upsertSyscall.run(q[o], q[o + 1], q[o + 2], q[o + 3], q[o + 4], q[o + 5], q[o + 6], q[o + 7], q[o + 8]);
    }
    this.#queuedRows = 0;
  }
}
