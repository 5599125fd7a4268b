/**
 * The API's reads plus one a test holds: `gated` takes a snapshot (one read), says it entered,
 * then waits on a shared flag until the test opens it, so a read thread is busy for exactly as
 * long as a test wants, whatever the machine's speed. Loaded by the read threads themselves
 * (ThreadStoreReader's `queries`).
 */
import { READ_QUERIES as API_READS } from '../../src/http/reads/read-queries.js';
import type { SyscallStore } from '../../src/store/syscall-store.js';

/** [0]: reads that entered the gate; [1]: 1 once the gate is open. */
export function newGate(): Int32Array {
  return new Int32Array(new SharedArrayBuffer(8));
}

export function openGate(gate: Int32Array): void {
  Atomics.store(gate, 1, 1);
  Atomics.notify(gate, 1);
}

/** Pod incarnations in the snapshot, counted once before the wait and once after it. */
function gated(store: SyscallStore, args: { gate: Int32Array }): { before: number; after: number } {
  return store.readSnapshot(() => {
    const before = store.podPage({ limit: 5000 }).items.length;
    Atomics.add(args.gate, 0, 1);
    while (Atomics.load(args.gate, 1) === 0) Atomics.wait(args.gate, 1, 0, 1000);
    return { before, after: store.podPage({ limit: 5000 }).items.length };
  });
}

/** Keeps what it allocates until the thread's heap bound ends the thread (or 1 GiB, which no bound here allows). */
function hog(): number {
  const kept: number[][] = [];
  for (let i = 0; i < 1024; i++) kept.push(Array.from({ length: 131_072 }, (_, k) => k + i));
  return kept.length;
}

export const READ_QUERIES = { ...API_READS, gated, hog };
