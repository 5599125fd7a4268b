import type { SyscallStore } from '../store/syscall-store.js';
import { labelValue } from './label-value.js';

export interface UnattributedGroup {
  labels: { reason: string; comm: string; exe: string };
  value: number;
}

/** Unattributed groups exported with their comm and exe by default: a table's worth. */
export const DEFAULT_UNATTRIBUTED_TOP = 20;

/** Rows read per page while looking for the largest groups. */
const PAGE = 2_000;

/**
 * The `top` unattributed groups (comm, exe, reason) with the most records, for
 * seccomp_auditor_unattributed_process_records_total. comm and exe are whatever a process calls
 * itself, so the number of series is bounded here (`top`) and each value goes through
 * labelValue(); groups that end up with the same labels after that add up.
 *
 * The table is bounded by the store's own cap on distinct groups (--max-unattributed-keys, 10 000
 * by default), read a page at a time, keeping only the current top in memory.
 */
export function unattributedTop(store: SyscallStore, top = DEFAULT_UNATTRIBUTED_TOP): UnattributedGroup[] {
  if (top <= 0) return [];
  const best: { comm: string | null; exe: string | null; reason: string; count: number }[] = [];
  let floor = 0;
  let after: number | null = null;
  do {
    const page = store.unattributedPage({ limit: PAGE, after });
    for (const u of page.items) {
      if (best.length >= top && u.count <= floor) continue;
      best.push(u);
      if (best.length > top) {
        best.sort((a, b) => b.count - a.count);
        best.length = top;
        floor = best[top - 1]!.count;
      }
    }
    after = page.next;
  } while (after !== null);
  const groups = new Map<string, UnattributedGroup>();
  for (const u of best) {
    const labels = { reason: labelValue(u.reason), comm: labelValue(u.comm ?? ''), exe: labelValue(u.exe ?? '') };
    const id = `${labels.reason}\0${labels.comm}\0${labels.exe}`;
    const found = groups.get(id);
    if (found) found.value += u.count;
    else groups.set(id, { labels, value: u.count });
  }
  return [...groups.values()];
}
