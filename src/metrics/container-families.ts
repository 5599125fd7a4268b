import { DEFAULT_YOUNG_THRESHOLDS, isYoung, lossQueryWindow, type YoungThresholds } from '../profile/learning-window.js';
import { StoreError } from '../store/store-error.js';
import type { RecentPodWorkload, SyscallStore } from '../store/syscall-store.js';
import { containerSyscallSeries } from './container-syscall-series.js';
import { containerLabelText, FamilyText } from './exposition-text.js';

const WINDOW_NOTE = 'Containers seen within the series window, newest first, at most --metrics-max-series.';

/**
 * What a profile learned from a container's newest instance would say of itself (the `learned`
 * part of the profile routes, judged on that instance's window and records).
 */
interface Learning {
  /** no loss of this node overlaps its window (LOSS_MARGIN_MS either side) */
  complete: boolean;
  young: boolean;
}

/** The per-container gauges: one sample per container, from its newest instance's summary. */
const GAUGES: { name: string; help: string; value: (w: RecentPodWorkload, learning: Learning) => number | null }[] = [
  { name: 'seccomp_auditor_container_syscalls', help: 'Distinct syscalls observed per container.', value: (w) => w.syscalls },
  // convergence: "still learning" or "stable for days", for a dashboard or an alert
  {
    name: 'seccomp_auditor_container_last_new_syscall_timestamp_seconds',
    help: 'When the first record of the newest distinct syscall of a container was seen, in seconds since the epoch.',
    value: (w) => (w.lastNewSyscallAt === null ? null : w.lastNewSyscallAt / 1000),
  },
  {
    name: 'seccomp_auditor_container_records_since_new_syscall',
    help: 'Records of a container committed after the one that brought its newest distinct syscall.',
    value: (w) => w.recordsSinceNewSyscall,
  },
  // whether its learned profile can be taken as it is: alertable per container, where the node's
  // records_lost_total only says that some profile learned then is short of calls
  {
    name: 'seccomp_auditor_container_learning_complete',
    help: 'Whether no record this node lost overlaps the window a container was learned over (its newest instance\'s first to last record, a minute either side): 1, or 0 when one does, and its learned profile is refused (409 SA_PROFILE_INCOMPLETE) unless asked for with allowIncomplete=true.',
    value: (_w, learning) => (learning.complete ? 1 : 0),
  },
  {
    name: 'seccomp_auditor_container_learning_young',
    help: 'Whether a container\'s learning window (its newest instance\'s first to last record) is shorter than --young-window or holds fewer than --young-records records: 1 (its profile is marked young, X-Learned-Young), else 0.',
    value: (_w, learning) => (learning.young ? 1 : 0),
  },
];

// The counters count a container's newest instance: a restarted container (a new container id
// under the same names) starts them again, the reset Prometheus expects of a counter when what it
// counts begins anew. Summed over the instances seen within the window, they fell instead an hour
// after a restart, when the old instance left the window: rate() read a reset then, and a
// violation made in that hour made SeccompAuditorViolations fire again.
const RECORDS = {
  name: 'seccomp_auditor_container_syscall_records_total', type: 'counter',
  help: 'Seccomp records per container, syscall and filter action, from the database: each container\'s newest instance (a restart starts again), containers seen within the series window, newest first, at most --metrics-max-series series.',
} as const;
const VIOLATIONS = {
  name: 'seccomp_auditor_violations_total', type: 'counter',
  help: 'Seccomp records whose filter action was not log (errno, kill_process, kill_thread, trap, ...: what a restrictive profile blocked), per container, syscall and action, from the database: each container\'s newest instance (a restart starts again), containers seen within the series window, newest first, at most --metrics-max-series series.',
} as const;
// Records rather than series: with the exported series they add up to every record of the
// window's containers (their newest instances), so nothing disappears unseen; and counting
// distinct series would mean reading every row, which the cap exists to avoid. A gauge, not a
// counter: it falls when a container leaves the window or a series moves under the cap (it was
// container_syscall_records_dropped_total, a counter that could go down).
const OVER_CAP = {
  name: 'seccomp_auditor_container_syscall_records_over_cap', type: 'gauge',
  help: 'Seccomp records of containers seen within the series window (their newest instances) that --metrics-max-series kept out of seccomp_auditor_container_syscall_records_total (what it keeps out of seccomp_auditor_violations_total, a subset taken in the same order, is among them); above 0, the cap is reached.',
} as const;

/** The names of the families containerFamilies writes, for whoever must not write them too. */
export const CONTAINER_FAMILY_NAMES: readonly string[] = [...GAUGES.map((g) => g.name), RECORDS.name, VIOLATIONS.name, OVER_CAP.name];

/**
 * Every per-container family as exposition text (families joined by a blank line, as prom-client
 * joins its own, no line feed at the end), read from the database in one snapshot so that the
 * series and the records over the cap add up.
 *
 * The workloads are the recent ones, newest first: the cap keeps what runs now, and the work is
 * the window's, not the database's. `store` null (no database): the families without samples,
 * and 0 over the cap. A database read that fails (a StoreError, handed to `onStoreError`) leaves
 * every family without samples, over the cap included: absent rather than partial or a false 0.
 */
export function containerFamilies(store: SyscallStore | null, options: { sinceMs: number; maxSeries: number; young?: YoungThresholds; onStoreError?: (err: StoreError) => void }): string {
  const young = options.young ?? DEFAULT_YOUNG_THRESHOLDS;
  const { gauges, records, violations, overCap, families } = familyTexts();
  let dropped = 0;
  if (store !== null) {
    try {
      read(store);
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      options.onStoreError?.(err);
      return unreadContainerFamilies();
    }
  }
  overCap.sample('', dropped);
  return families.map((f) => f.text()).join('\n\n');

  function read(store: SyscallStore): void {
    store.readSnapshot(() => {
      const recent = store.recentPodWorkloads(options.sinceMs);
      const texts = new Map<number, string>();
      // each container's newest instance (recent comes newest first; a restart or a recreated pod
      // keeps the names): what every family describes
      const newest: RecentPodWorkload[] = [];
      const containers = new Set<string>();
      for (const w of recent) {
        const names = JSON.stringify([w.namespace, w.pod, w.container]);
        if (containers.has(names)) continue;
        containers.add(names);
        newest.push(w);
      }
      // one sample per label set (names that sanitise alike share one: the newest's), as many as
      // the cap allows
      const seen = new Set<string>();
      for (const w of newest) {
        if (seen.size >= options.maxSeries) break;
        const text = containerLabelText(w);
        texts.set(w.workloadId, text);
        if (seen.has(text)) continue;
        seen.add(text);
        const window = lossQueryWindow(w.firstSeen, w.lastSeen);
        const learning = { complete: !store.lossOverlaps(window.fromMs, window.toMs), young: isYoung(w.records, w.firstSeen, w.lastSeen, young) };
        for (const g of gauges) {
          const v = g.value(w, learning);
          if (v !== null) g.family.sample(text, v);
        }
      }
      const all = containerSyscallSeries(store, newest, options.maxSeries, { containerTexts: texts });
      for (const s of all.series) records.sample(`${s.containerText},${s.syscallText}`, s.value);
      // below the cap every violation is one of the record series; only above it are the
      // violations walked on their own (so that they are not the first to go)
      const blocked = all.droppedRecords === 0
        ? all.series.filter((s) => s.labels.action !== 'log')
        : containerSyscallSeries(store, newest, options.maxSeries, { violations: true, containerTexts: texts }).series;
      for (const s of blocked) violations.sample(`${s.containerText},${s.syscallText}`, s.value);
      dropped = all.droppedRecords;
    });
  }
}

/** The per-container families when the database could not be read: HELP and TYPE, no samples (not even a 0 over the cap). */
export function unreadContainerFamilies(): string {
  return familyTexts().families.map((f) => f.head).join('\n\n');
}

function familyTexts() {
  const gauges = GAUGES.map((g) => ({ family: new FamilyText({ name: g.name, help: `${g.help} ${WINDOW_NOTE}`, type: 'gauge' }), value: g.value }));
  const records = new FamilyText(RECORDS);
  const violations = new FamilyText(VIOLATIONS);
  const overCap = new FamilyText(OVER_CAP);
  return { gauges, records, violations, overCap, families: [...gauges.map((g) => g.family), records, violations, overCap] };
}
