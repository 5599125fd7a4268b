import type { PodSyscallCount, SyscallStore } from '../store/syscall-store.js';
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

/**
 * The per-container syscall series {namespace, pod, container, syscall, action} of the store's
 * syscall rows (`violations`: those whose action is not `log`), at most `maxSeries` of them.
 *
 * Rows that share those labels add up: one call under two arches (x86_64 and i386 `read`), or
 * two instances of one container (a restart brings a new container id). A number without a name
 * in its arch's table is named by its number.
 *
 * The series exported are the first in the order the store met the containers, so the same ones
 * stay exported from one scrape to the next and what goes without is a new pod's. That order
 * also bounds the work: once the cap is full the rows are read no further (a node keeping a
 * month of CronJob pods holds hundreds of thousands), except the later instances of containers
 * already exported, whose records belong to their series. What was left out is counted as the
 * store's total minus what was exported, a sum SQLite makes without handing over the rows.
 */
export function containerSyscallSeries(store: SyscallStore, maxSeries: number, options: { violations?: boolean } = {}): CappedSeries {
  const series = new Map<string, SyscallSeries>();
  /** the containers with an exported series */
  const containers = new Set<string>();
  let exported = 0;
  let boundary = -1;
  const fold = (r: PodSyscallCount, mayAdd: boolean): void => {
    const container = r.container ?? '';
    const syscall = syscallName(r.auditArch, r.syscallNr) ?? String(r.syscallNr);
    const owner = `${r.namespace}\0${r.pod}\0${container}`;
    const id = `${owner}\0${syscall}\0${r.action}`;
    const found = series.get(id);
    if (found !== undefined) {
      found.value += r.count;
      exported += r.count;
    } else if (mayAdd && series.size < maxSeries) {
      series.set(id, { labels: { namespace: r.namespace, pod: r.pod, container, syscall, action: r.action }, value: r.count });
      containers.add(owner);
      exported += r.count;
    }
  };
  if (maxSeries > 0) {
    for (const r of store.podSyscallCounts(options)) {
      // full: the rest of this workload's rows may still merge (other arches), later ones are skipped
      if (boundary >= 0 && r.workloadId !== boundary) break;
      fold(r, true);
      if (boundary < 0 && series.size >= maxSeries) boundary = r.workloadId;
    }
    if (boundary >= 0) {
      const again = store.podWorkloadsAfter(boundary).filter((w) => containers.has(`${w.namespace}\0${w.pod}\0${w.container ?? ''}`));
      for (const r of store.podSyscallCountsOf(again.map((w) => w.workloadId), options)) fold(r, false);
    }
  }
  return { series: [...series.values()], droppedRecords: store.podSyscallTotal(options) - exported };
}
