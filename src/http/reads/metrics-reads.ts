import { containerFamilies } from '../../metrics/container-families.js';
import type { YoungThresholds } from '../../profile/learning-window.js';
import type { StoreError } from '../../store/store-error.js';
import type { SyscallStore } from '../../store/syscall-store.js';

/**
 * /metrics' per-container families as exposition text, read on a read thread: their ~25 ms of
 * reading and string building per scrape (and its garbage) stay off the thread that answers
 * /healthz. A failed database read is thrown (the StoreError crosses as itself), so the scrape
 * leaves the families' samples out and the daemon learns of the damage, as on the main thread.
 */
export function containerFamiliesText(store: SyscallStore, args: { sinceMs: number; maxSeries: number; young?: YoungThresholds }): string {
  let failure: StoreError | null = null;
  const text = containerFamilies(store, { ...args, onStoreError: (err) => { failure ??= err; } });
  if (failure !== null) throw failure;
  return text;
}
