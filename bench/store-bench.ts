import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
// From src through tsx rather than dist like the other benches: the cost is SQLite's (native), so
// compiled vs transpiled makes no difference, and this keeps the bench type-checkable before a build.
import { SyscallStore } from '../src/store/syscall-store.js';
import type { FlushBatch, SyscallDelta, WorkloadRow } from '../src/types/flush-batch.js';
import { SECCOMP_ACTIONS } from '../src/types/seccomp-record.js';
import { IS_NEW_FALSE, IS_NEW_TRUE, SyscallColumnsBuilder } from '../src/types/syscall-columns.js';

export interface CommitRate {
  batches: number;
  keys: number;
  ms: number;
  commitsPerSecond: number;
  keysPerSecond: number;
  /** the slowest single commit: what the flush loop has to budget for */
  worstCommitMs: number;
}

export interface StoreBenchResult {
  keysPerBatch: number;
  /** every key new: the first minutes of a node, or an ingest of another node's logs */
  newKeys: CommitRate;
  /** every key already stored: the steady state, where a flush only adds counts */
  existingKeys: CommitRate;
  /** both phases together */
  commitsPerSecond: number;
  keysPerSecond: number;
  dbBytes: number;
}

const WORKLOADS_PER_BATCH = 40;

/**
 * Commits `batches` flushes of `keysPerBatch` distinct syscall keys (spread over 40 containers,
 * with their workload rows, one executable each and a position) into a temp database, first as
 * new keys, then the same number again as updates of keys already stored.
 */
export function storeBench(options: { batches?: number; keysPerBatch?: number } = {}): StoreBenchResult {
  const batches = options.batches ?? 20;
  const keysPerBatch = options.keysPerBatch ?? 10_000;
  const dir = mkdtempSync(join(tmpdir(), 'sa-store-bench-'));
  const store = SyscallStore.open({ path: join(dir, 'bench.db') });
  try {
    const newKeys = measure(store, batches, keysPerBatch, (b) => b);
    // re-commit the first batches' keys: same workloads, same syscalls, counts grow
    const existingKeys = measure(store, batches, keysPerBatch, (b) => b % batches);
    const ms = newKeys.ms + existingKeys.ms;
    return {
      keysPerBatch,
      newKeys,
      existingKeys,
      commitsPerSecond: (2 * batches) / ms * 1000,
      keysPerSecond: (2 * batches * keysPerBatch) / ms * 1000,
      dbBytes: store.sizeBytes(),
    };
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function measure(store: SyscallStore, batches: number, keysPerBatch: number, generation: (b: number) => number): CommitRate {
  // batches are built before the clock starts: the aggregate builds them, not the store
  const prepared = Array.from({ length: batches }, (_, b) => makeBatch(generation(b), keysPerBatch, b));
  let worst = 0;
  const start = performance.now();
  for (const batch of prepared) {
    const t0 = performance.now();
    store.commitBatch(batch);
    worst = Math.max(worst, performance.now() - t0);
  }
  const ms = performance.now() - start;
  return { batches, keys: batches * keysPerBatch, ms, commitsPerSecond: batches / ms * 1000, keysPerSecond: (batches * keysPerBatch) / ms * 1000, worstCommitMs: worst };
}

function makeBatch(generation: number, keys: number, sequence: number): FlushBatch {
  const now = 1_700_000_000_000 + sequence * 1000;
  const workloads: WorkloadRow[] = [];
  for (let w = 0; w < WORKLOADS_PER_BATCH; w++) {
    const id = (generation * WORKLOADS_PER_BATCH + w).toString(16).padStart(64, '0');
    workloads.push({
      key: `container:${id}`, kind: 'container', containerId: id, podUid: `pod-${generation}-${w >> 2}`,
      namespace: `ns-${w % 5}`, pod: `pod-${generation}-${w >> 2}`, container: `c-${w & 3}`, runtime: 'containerd',
      qos: 'burstable', unit: null, node: 'bench-node', firstSeen: now, lastSeen: now,
    });
  }
  const perWorkload = Math.ceil(keys / WORKLOADS_PER_BATCH);
  const syscalls: SyscallDelta[] = [];
  for (let k = 0; k < keys; k++) {
    const w = workloads[Math.floor(k / perWorkload)]!;
    const n = k % perWorkload;
    // ~450 x86_64 numbers; beyond that the same numbers under the errno action
    syscalls.push({
      workload: w.key, auditArch: 0xc000003e, syscallNr: n % 450, action: n < 450 ? 'log' : 'errno',
      count: 1 + (k % 7), firstSeen: now, lastSeen: now, comm: 'server', exe: '/usr/local/bin/server',
    });
  }
  return {
    workloads,
    syscalls,
    executables: workloads.map((w) => ({ workload: w.key, exe: '/usr/local/bin/server', count: perWorkload, firstSeen: now, lastSeen: now })),
    unattributed: [{ comm: 'runc', exe: '/usr/bin/runc', reason: 'exited', count: 3, firstSeen: now, lastSeen: now }],
    lost: [],
    positions: [{ source: 'kmsg', position: `bench:${sequence}` }],
  };
}

export interface SyscallWriteResult {
  batches: number;
  rows: number;
  /** rows of keys new to the batch's aggregate (isNew), the rest updates of keys stored before */
  newRows: number;
  /** per row: the commit with the syscall rows less the same commit without them; CPU of this (single) thread, and wall */
  cpuUsPerRow: number;
  wallUsPerRow: number;
}

/**
 * The store's write of syscall rows as a 30-day ingest makes it: the 1.08 M keys of the 30-day
 * database (bench/api-bench.ts's, read only) replayed in time order into a new database in
 * batches of 131 072 rows, as the aggregate hands them over: a key's first row marked new (with
 * its sample comm and exe), and a second row, an update, in the batch its last record falls in
 * when that is a later one (17% of the rows; the ingest's own batches had 24%). Each batch is
 * also committed without its syscall rows into a second database, and that cost subtracted: what
 * is left is the syscall rows' (the statements, their share of the commit and checkpoints).
 */
export function syscallWriteBench(apiDb: string, options: { rowsPerBatch?: number } = {}): SyscallWriteResult {
  const rowsPerBatch = options.rowsPerBatch ?? 131_072;
  const source = new Database(apiDb, { readonly: true, fileMustExist: true });
  const workloads = source.prepare(`SELECT id, key, kind, container_id AS containerId, pod_uid AS podUid, namespace, pod, container, runtime, qos, unit,
    owner_kind AS ownerKind, owner_name AS ownerName, node, first_seen AS firstSeen, last_seen AS lastSeen FROM workloads`).all() as (WorkloadRow & { id: number })[];
  const byId = new Map(workloads.map((w) => [w.id, w]));
  const keys = source.prepare(`SELECT workload_id, audit_arch, syscall_nr, action, count, first_seen, last_seen, comm, exe FROM syscalls
    ORDER BY first_seen`).raw().all() as [number, number, number, string, number, number, number, string | null, string | null][];
  source.close();
  // what each batch carries, in time order: a key's first row, and its update in a later batch
  type Row = { key: number; isNew: boolean; at: number };
  const rows: Row[] = keys.map((_, key) => ({ key, isNew: true, at: keys[key]![5] }));
  const batchesOf: Row[][] = [];
  let start = 0;
  const later: Row[] = [];
  while (start < rows.length || later.length > 0) {
    const batch: Row[] = [];
    const end = start < rows.length ? rows[Math.min(start + rowsPerBatch, rows.length) - 1]!.at : Infinity;
    // updates due by this batch's end first
    later.sort((a, b) => a.at - b.at);
    while (later.length > 0 && later[0]!.at <= end && batch.length < rowsPerBatch) batch.push(later.shift()!);
    while (start < rows.length && batch.length < rowsPerBatch) {
      const r = rows[start++]!;
      batch.push(r);
      const lastSeen = keys[r.key]![6];
      if (lastSeen > end) later.push({ key: r.key, isNew: false, at: lastSeen });
    }
    batchesOf.push(batch);
  }
  const actionIndex = new Map<string, number>(SECCOMP_ACTIONS.map((a, i) => [a, i]));
  const prepared: FlushBatch[] = batchesOf.map((batch) => {
    // grouped by workload, in the order the batch first names them, as the aggregate does
    const groups = new Map<number, Row[]>();
    for (const r of batch) {
      const w = keys[r.key]![0];
      let g = groups.get(w);
      if (g === undefined) groups.set(w, (g = []));
      g.push(r);
    }
    const columns = new SyscallColumnsBuilder(batch.length);
    for (const [w, g] of groups) {
      columns.workload(byId.get(w)!.key);
      for (const r of g) {
        const [, arch, nr, action, count, firstSeen, lastSeen, comm, exe] = keys[r.key]!;
        if (r.isNew) columns.push(arch, nr, actionIndex.get(action)!, Math.max(1, count - 1), firstSeen, lastSeen, comm, exe, IS_NEW_TRUE);
        else columns.push(arch, nr, actionIndex.get(action)!, 1, lastSeen, lastSeen, null, null, IS_NEW_FALSE);
      }
    }
    const described = [...groups.keys()].map((w) => {
      const { id: _, ...row } = byId.get(w)!;
      return row;
    });
    return { workloads: described, syscalls: [], columns: columns.finish(), executables: [], unattributed: [], lost: [], positions: [] };
  });

  const dir = mkdtempSync(join(tmpdir(), 'sa-syscall-write-bench-'));
  const withRows = SyscallStore.open({ path: join(dir, 'rows.db') });
  const without = SyscallStore.open({ path: join(dir, 'none.db') });
  let cpuUs = 0, wallMs = 0, total = 0, newRows = 0;
  try {
    for (const b of prepared) {
      const c0 = process.cpuUsage(), t0 = performance.now();
      withRows.commitBatch(b);
      const c1 = process.cpuUsage(c0), t1 = performance.now();
      const c2 = process.cpuUsage();
      without.commitBatch({ ...b, columns: undefined });
      const c3 = process.cpuUsage(c2), t3 = performance.now();
      cpuUs += c1.user + c1.system - c3.user - c3.system;
      wallMs += (t1 - t0) - (t3 - t1);
      total += b.columns!.length;
      for (let i = 0; i < b.columns!.length; i++) if (b.columns!.isNew[i] === IS_NEW_TRUE) newRows++;
    }
  } finally {
    withRows.close();
    without.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return { batches: prepared.length, rows: total, newRows, cpuUsPerRow: cpuUs / total, wallUsPerRow: wallMs * 1000 / total };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  // `npx tsx bench/store-bench.ts [API_DB]`: the syscall rows' write on the 30-day database's
  // keys (api-bench.ts makes it: bench/out/churn-6000000-v3/api.db), three runs
  const apiDb = process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), 'out', 'churn-6000000-v3', 'api.db');
  if (!existsSync(apiDb)) throw new Error(`${apiDb} does not exist: run bench/api-bench.ts once (it ingests the 30-day log), or name a database`);
  for (let i = 0; i < 3; i++) {
    const r = syscallWriteBench(apiDb);
    console.log(`syscall rows: ${r.rows.toLocaleString('en')} (${r.newRows.toLocaleString('en')} new) in ${r.batches} batches: ` +
      `${r.cpuUsPerRow.toFixed(2)} us/row of CPU, ${r.wallUsPerRow.toFixed(2)} us/row wall`);
  }
}
