import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// From src through tsx rather than dist like the other benches: the cost is SQLite's (native), so
// compiled vs transpiled makes no difference, and this keeps the bench type-checkable before a build.
import { SyscallStore } from '../src/store/syscall-store.js';
import type { FlushBatch, SyscallDelta, WorkloadRow } from '../src/types/flush-batch.js';

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
