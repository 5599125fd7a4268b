import type { RecentPodWorkload, SyscallStore } from '../store/syscall-store.js';
import { syscallName } from '../syscalls/syscall-table.js';
import { containerLabelText, escapeLabelValue } from './exposition-text.js';
import { labelValue } from './label-value.js';

export type SyscallSeriesLabels = { namespace: string; pod: string; container: string; syscall: string; action: string };

export interface SyscallSeries {
  /** the first (newest) instance's names, as stored */
  labels: SyscallSeriesLabels;
  value: number;
  /** exposition text of the container's labels (containerLabelText), shared by its series */
  containerText: string;
  /** exposition text `syscall="…",action="…"`, shared by every container's series of that call */
  syscallText: string;
}

/** The series exported, and the records of those the cap left out. */
export interface CappedSeries {
  series: SyscallSeries[];
  droppedRecords: number;
}

/**
 * The per-container syscall series {namespace, workload, pod, container, syscall, action} of the
 * recent workloads (`violations`: the rows whose action is not `log`), at most `maxSeries` of them.
 *
 * Rows that share those labels add up: one call under two arches (x86_64 and i386 `read`), or
 * two workloads given with the same names (containerFamilies gives one, the container's newest
 * instance, so that a restart starts its counters again). A number without a name
 * in its arch's table is named by its number. Labels are compared as exported (sanitised and
 * escaped), so names that differ only in what sanitising replaces are one series, not two
 * samples of the same series.
 *
 * `recent` comes newest first, so the cap keeps what runs now and what goes without is the
 * oldest. The work is bounded by the cap: once it is full, a workload's rows are read only when
 * its container already has series (an older instance of it, whose records belong to them); the
 * rest are counted from their summaries, not read. What was left out is the recent workloads'
 * records (their summaries) minus what was exported.
 *
 * `containerTexts` (workload id → containerLabelText) lets a caller that formats the same
 * workloads share the work.
 */
export function containerSyscallSeries(store: SyscallStore, recent: readonly RecentPodWorkload[], maxSeries: number,
  options: { violations?: boolean; containerTexts?: Map<number, string> } = {}): CappedSeries {
  const violations = options.violations === true;
  const texts = options.containerTexts ?? new Map<number, string>();
  const names = new SyscallTexts();
  const series: SyscallSeries[] = [];
  /** container text → its series by syscall text (the same string objects each time: their hash is kept) */
  const containers = new Map<string, Map<string, SyscallSeries>>();
  let exported = 0;
  let total = 0;
  for (const w of recent) {
    const records = violations ? w.violations : w.records;
    if (records === 0) continue;
    total += records;
    let containerText = texts.get(w.workloadId);
    if (containerText === undefined) {
      containerText = containerLabelText(w);
      texts.set(w.workloadId, containerText);
    }
    let own = containers.get(containerText);
    if (own === undefined) {
      if (series.length >= maxSeries) continue;
      own = new Map();
      containers.set(containerText, own);
    }
    for (const [auditArch, syscallNr, action, count] of store.syscallCountsOf(w.workloadId, { violations })) {
      const syscallText = names.of(auditArch, syscallNr, action);
      const found = own.get(syscallText);
      if (found !== undefined) {
        found.value += count;
        exported += count;
      } else if (series.length < maxSeries) {
        const s: SyscallSeries = {
          labels: { namespace: w.namespace, pod: w.pod, container: w.container ?? '', syscall: names.name(auditArch, syscallNr), action },
          value: count, containerText, syscallText,
        };
        own.set(syscallText, s);
        series.push(s);
        exported += count;
      }
    }
  }
  return { series, droppedRecords: total - exported };
}

/**
 * `syscall="…",action="…"` per (arch, number, action), built once per scrape: a few hundred
 * distinct strings serve tens of thousands of rows. Per scrape rather than for the process: the
 * numbers a process can log are not bounded by the syscall tables.
 */
class SyscallTexts {
  readonly #byAction = new Map<string, Map<number, Map<number, string>>>();
  readonly #names = new Map<number, Map<number, string>>();

  name(auditArch: number, nr: number): string {
    let arch = this.#names.get(auditArch);
    if (arch === undefined) this.#names.set(auditArch, arch = new Map());
    let name = arch.get(nr);
    if (name === undefined) arch.set(nr, name = syscallName(auditArch, nr) ?? String(nr));
    return name;
  }

  of(auditArch: number, nr: number, action: string): string {
    let byArch = this.#byAction.get(action);
    if (byArch === undefined) this.#byAction.set(action, byArch = new Map());
    let byNr = byArch.get(auditArch);
    if (byNr === undefined) byArch.set(auditArch, byNr = new Map());
    let text = byNr.get(nr);
    if (text === undefined) {
      // names come from the tables or are digits; the action is the database's text
      text = `syscall="${escapeLabelValue(labelValue(this.name(auditArch, nr)))}",action="${escapeLabelValue(labelValue(action))}"`;
      byNr.set(nr, text);
    }
    return text;
  }
}
