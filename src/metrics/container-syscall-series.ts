import type { RecentPodWorkload, SyscallCount, SyscallStore } from '../store/syscall-store.js';
import { syscallName } from '../syscalls/syscall-table.js';

export type SyscallSeriesLabels = { namespace: string; pod: string; container: string; syscall: string; action: string };

export interface SyscallSeries {
  labels: SyscallSeriesLabels;
  value: number;
}

/** The series exported, and the records of those the cap left out. */
export interface CappedSeries {
  series: SyscallSeries[];
  droppedRecords: number;
}

/** `namespace\0pod\0container`: what one container's series share, across its instances. */
export const containerLabelKey = (w: { namespace: string; pod: string; container: string | null }): string => `${w.namespace}\0${w.pod}\0${w.container ?? ''}`;

/**
 * The per-container syscall series {namespace, pod, container, syscall, action} of the recent
 * workloads (`violations`: the rows whose action is not `log`), at most `maxSeries` of them.
 *
 * Rows that share those labels add up: one call under two arches (x86_64 and i386 `read`), or
 * two instances of one container (a restart brings a new container id). A number without a name
 * in its arch's table is named by its number.
 *
 * `recent` comes newest first, so the cap keeps what runs now and what goes without is the
 * oldest. The work is bounded by the cap: once it is full, a workload's rows are read only when
 * its container already has series (an older instance of it, whose records belong to them); the
 * rest are counted from their summaries, not read. What was left out is the recent workloads'
 * records (their summaries) minus what was exported.
 */
export function containerSyscallSeries(store: SyscallStore, recent: readonly RecentPodWorkload[], maxSeries: number, options: { violations?: boolean } = {}): CappedSeries {
  const violations = options.violations === true;
  const series = new Map<string, SyscallSeries>();
  /** the containers with an exported series */
  const containers = new Set<string>();
  let exported = 0;
  let total = 0;
  const fold = (w: RecentPodWorkload, owner: string, r: SyscallCount): void => {
    const syscall = syscallName(r.auditArch, r.syscallNr) ?? String(r.syscallNr);
    const id = `${owner}\0${syscall}\0${r.action}`;
    const found = series.get(id);
    if (found !== undefined) {
      found.value += r.count;
      exported += r.count;
    } else if (series.size < maxSeries) {
      series.set(id, { labels: { namespace: w.namespace, pod: w.pod, container: w.container ?? '', syscall, action: r.action }, value: r.count });
      containers.add(owner);
      exported += r.count;
    }
  };
  for (const w of recent) {
    const records = violations ? w.violations : w.records;
    if (records === 0) continue;
    total += records;
    const owner = containerLabelKey(w);
    if (series.size >= maxSeries && !containers.has(owner)) continue;
    for (const r of store.syscallCountsOf(w.workloadId, options)) fold(w, owner, r);
  }
  return { series: [...series.values()], droppedRecords: total - exported };
}
