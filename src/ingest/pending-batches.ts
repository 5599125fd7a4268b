import type { FlushBatch } from '../types/flush-batch.js';
import { columnRecords } from '../types/syscall-columns.js';

/** Why records dropped from the queue are counted as lost (lost_records, loss_events). */
export const STORE_UNAVAILABLE = 'store_unavailable';

/** What the queue holds and what it had to drop, for /api/v1/status and the metrics. */
export interface PendingStats {
  /** batches waiting for the store */
  batches: number;
  /** batches dropped (oldest first) because the store stayed away past the bound */
  droppedBatches: number;
  /** the records in them, counted as lost with reason store_unavailable */
  droppedRecords: number;
}

/**
 * Batches read but not yet committed, in the order read, while the store is away (deleted,
 * refusing writes, not opened yet). Bounded: past `max` the oldest is dropped, and its records are
 * not lost silently: they are added as a `store_unavailable` loss (with the time range they
 * covered) to the batch that is now the oldest, so the database counts them when it comes back and
 * a profile's completeness check sees the gap. The dropped batch's source position is not carried
 * over: a position is only ever committed with the data it covers.
 */
export class PendingBatches {
  readonly #max: number;
  readonly #queue: { source: string; batch: FlushBatch }[] = [];
  #droppedBatches = 0;
  #droppedRecords = 0;

  constructor(max: number) {
    if (!(max >= 1)) throw new RangeError(`the pending batch bound must be at least 1, got ${max}`);
    this.#max = max;
  }

  /** Queues a batch of `source`; returns the batch dropped to make room, if any. */
  push(source: string, batch: FlushBatch): FlushBatch | null {
    this.#queue.push({ source, batch });
    if (this.#queue.length <= this.#max) return null;
    const dropped = this.#queue.shift()!;
    const { count, from, to } = recordsOf(dropped.batch);
    this.#droppedBatches++;
    this.#droppedRecords += count;
    // the losses the dropped batch itself carried are records lost too: keep them with the next
    const next = this.#queue[0]!.batch;
    next.lost = [...next.lost, ...dropped.batch.lost];
    next.losses = [...(next.losses ?? []), ...(dropped.batch.losses ?? [])];
    if (count > 0) {
      next.lost.push({ source: dropped.source, reason: STORE_UNAVAILABLE, count });
      next.losses.push({ source: dropped.source, reason: STORE_UNAVAILABLE, count, from, to });
    }
    return dropped.batch;
  }

  /** The oldest batch, the one to commit next. */
  peek(): FlushBatch | undefined {
    return this.#queue[0]?.batch;
  }

  shift(): void {
    this.#queue.shift();
  }

  get length(): number {
    return this.#queue.length;
  }

  stats(): PendingStats {
    return { batches: this.#queue.length, droppedBatches: this.#droppedBatches, droppedRecords: this.#droppedRecords };
  }
}

/** The records a batch counts (attributed and not) and the time they span. */
function recordsOf(b: FlushBatch): { count: number; from: number | null; to: number } {
  let count = 0;
  let from = Infinity;
  let to = -Infinity;
  for (const d of [...b.syscalls, ...b.unattributed]) {
    count += d.count;
    from = Math.min(from, d.firstSeen);
    to = Math.max(to, d.lastSeen);
  }
  if (b.columns !== undefined && b.columns.length > 0) {
    const c = columnRecords(b.columns);
    count += c.count;
    from = Math.min(from, c.from);
    to = Math.max(to, c.to);
  }
  return count === 0 ? { count, from: null, to: Date.now() } : { count, from, to };
}
