import type { PodSyscallCount } from '../store/syscall-store.js';
import { syscallName } from '../syscalls/syscall-table.js';

export type SyscallSeriesLabels = { namespace: string; pod: string; container: string; syscall: string; action: string };

export interface SyscallSeries {
  labels: SyscallSeriesLabels;
  value: number;
}

/** The series exported, and what the cap left out. */
export interface CappedSeries {
  series: SyscallSeries[];
  /** distinct series not exported */
  droppedSeries: number;
  /** records counted in the series not exported */
  droppedRecords: number;
}

/** Every series (`records`), and those whose action is not `log` (`violations`), each capped. */
export interface ContainerSyscallSeries {
  records: CappedSeries;
  violations: CappedSeries;
}

/**
 * Folds the store's syscall rows into Prometheus series {namespace, pod, container, syscall,
 * action}. Rows that share those labels add up: one call under two arches (x86_64 and i386
 * `read`), or two instances of one container (a restart brings a new container id). A number
 * without a name in its arch's table is named by its number.
 *
 * At most `maxSeries` series per metric: the first in the rows' order, which is the order the
 * store met the containers, so the same series stay exported from one scrape to the next and a
 * new pod is what goes without. The violations are a subset of the records' series taken in the
 * same order, so what the cap leaves out of the violations is also left out of the records:
 * `records.dropped*` tells all.
 */
export function containerSyscallSeries(rows: Iterable<PodSyscallCount>, maxSeries: number): ContainerSyscallSeries {
  const records = new Capped(maxSeries);
  const violations = new Capped(maxSeries);
  for (const r of rows) {
    const syscall = syscallName(r.auditArch, r.syscallNr) ?? String(r.syscallNr);
    const container = r.container ?? '';
    const id = `${r.namespace}\0${r.pod}\0${container}\0${syscall}\0${r.action}`;
    const labels = (): SyscallSeriesLabels => ({ namespace: r.namespace, pod: r.pod, container, syscall, action: r.action });
    records.add(id, labels, r.count);
    // every action but `log` means the filter acted (as /api/v1/violations counts them)
    if (r.action !== 'log') violations.add(id, labels, r.count);
  }
  return { records: records.result(), violations: violations.result() };
}

class Capped {
  readonly #max: number;
  readonly #series = new Map<string, SyscallSeries>();
  readonly #dropped = new Set<string>();
  #droppedRecords = 0;

  constructor(max: number) {
    this.#max = max;
  }

  add(id: string, labels: () => SyscallSeriesLabels, count: number): void {
    const found = this.#series.get(id);
    if (found !== undefined) {
      found.value += count;
    } else if (this.#series.size < this.#max) {
      this.#series.set(id, { labels: labels(), value: count });
    } else {
      this.#dropped.add(id);
      this.#droppedRecords += count;
    }
  }

  result(): CappedSeries {
    return { series: [...this.#series.values()], droppedSeries: this.#dropped.size, droppedRecords: this.#droppedRecords };
  }
}
