import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { RecentPodWorkload, SyscallStore } from '../store/syscall-store.js';
import type { PipelineCounters } from '../types/pipeline-counters.js';
import { workloadNameOf } from '../profile/workload-name.js';
import { containerLabelKey, containerSyscallSeries, type CappedSeries, type SyscallSeries } from './container-syscall-series.js';
import { labelValue } from './label-value.js';
import { unattributedTop } from './unattributed-top.js';
import { StoreError } from '../store/store-error.js';

/** What the metrics read of the running daemon, at scrape time. */
export interface MetricsSources {
  store: () => SyscallStore | null;
  /**
   * each source: records read so far, whether it works, and its pipeline's counts (null for a
   * source that never started, or a reading thread that has not reported yet)
   */
  sources: () => { name: string; records: number; ok: boolean; counters?: PipelineCounters | null }[];
  /**
   * Whether the database is open and took the last commit (what /readyz says of `store`);
   * without it, whether a store is there.
   */
  databaseOk?: () => boolean;
  /** told when a collector's database read fails (that metric's series are left out of the scrape) */
  onStoreError?: (err: StoreError) => void;
  /**
   * The most series each per-container syscall metric exports (default DEFAULT_MAX_SERIES); the
   * rest are counted in seccomp_auditor_container_syscall_records_over_cap.
   */
  maxSeries?: number;
  /**
   * Per-container series describe the containers seen within this many ms of the scrape
   * (default DEFAULT_SERIES_WINDOW_MS): what runs now, not the month the database keeps.
   */
  seriesWindowMs?: number;
  /** the scrape's time; tests pin it */
  clock?: () => number;
}

/** Containers seen within the last hour have per-container series by default. */
export const DEFAULT_SERIES_WINDOW_MS = 3_600_000;

/** Per-container syscall series exported by default: a busy node's pods fit, a runaway does not. */
export const DEFAULT_MAX_SERIES = 10_000;

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The daemon's Prometheus metrics on a private registry. Values that live in the database or
 * the sources are read when Prometheus scrapes (collect), so nothing is counted twice and a pod
 * that was forgotten or pruned disappears from the series.
 *
 * Two kinds of counters, by where they come from:
 * - per source (records, actions, malformed lines, attribution methods): the pipelines' own
 *   in-memory counts, which the hot path keeps anyway; they start at 0 with the daemon and only
 *   grow.
 * - per container and syscall, lost and unattributed records: the database's totals, so they
 *   survive restarts and agree with the REST API. A series goes away with its pod (forgotten or
 *   pruned); should the pod be seen again, its series starts again from its new total, which
 *   Prometheus' rate() and increase() take for a counter reset, as after a restart. The database
 *   totals never decrease otherwise.
 */
export interface DaemonMetrics {
  registry: Registry;
  /** one database commit took this long */
  observeCommit(seconds: number): void;
  /** the database refused a commit (the batch is kept and retried) */
  observeCommitFailure(): void;
}

/**
 * prom-client's default metrics that are gauges named like counters (`_total`), which
 * `promtool check metrics` rejects and rate() would misread: not exported.
 */
const NONCONFORMING_DEFAULTS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

export function buildMetrics(from: MetricsSources): DaemonMetrics {
  const registry = new Registry();
  const commits = new Histogram({
    name: 'seccomp_auditor_database_commit_seconds', help: 'Time one batch commit to the database took, in seconds.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const commitFailures = new Counter({
    name: 'seccomp_auditor_database_commit_failures_total',
    help: 'Commits the database refused (full, read-only, locked, corrupt...); the daemon keeps the batch in memory and retries it every second.',
    registers: [registry],
  });
  // set when a database-backed collector fails during this scrape (see the end of buildMetrics)
  let storeFailedInScrape = false;
  new Gauge({
    name: 'seccomp_auditor_database_up', help: 'Whether the database is open, took the last commit and answered this scrape\'s reads (1) or not (0), as /readyz says of the store.',
    registers: [registry],
    async collect() {
      // prom-client calls every collect() in one synchronous pass before awaiting any: waiting
      // one microtask lets this one see whether the database reads of this scrape failed
      storeFailedInScrape = false;
      await Promise.resolve();
      this.set(!storeFailedInScrape && (from.databaseOk ?? (() => from.store() !== null))() ? 1 : 0);
    },
  });
  collectDefaultMetrics({ register: registry });
  for (const name of NONCONFORMING_DEFAULTS) registry.removeSingleMetric(name);
  new Gauge({
    name: 'seccomp_auditor_build_info', help: 'Version of seccomp-auditor that runs, as a label; always 1.',
    labelNames: ['version'], registers: [registry],
  }).set({ version: VERSION }, 1);

  new Counter({
    name: 'seccomp_auditor_records_read_total', help: 'Seccomp records read, per source.',
    labelNames: ['source'], registers: [registry],
    collect() {
      this.reset();
      // the pipeline's count where there is one: the kmsg reader's own counts every kernel message
      for (const s of from.sources()) this.inc({ source: s.name }, s.counters?.records ?? s.records);
    },
  });
  // A counter of its own rather than an `action` label on records_read_total, so that existing
  // queries and alerts on records_read_total{source} keep their series; the two agree:
  // sum by (source) (seccomp_auditor_filter_actions_total) = seccomp_auditor_records_read_total.
  new Counter({
    name: 'seccomp_auditor_filter_actions_total',
    help: 'Seccomp records read, per source and the action the filter took (log, errno, kill_process, kill_thread, trap, user_notif, trace, allow, unknown).',
    labelNames: ['source', 'action'], registers: [registry],
    collect() {
      this.reset();
      for (const s of from.sources()) {
        for (const [action, n] of Object.entries(s.counters?.actions ?? {})) this.inc({ source: s.name, action }, n);
      }
    },
  });
  new Counter({
    name: 'seccomp_auditor_malformed_lines_total', help: 'Lines that looked like seccomp records but could not be parsed, per source.',
    labelNames: ['source'], registers: [registry],
    collect() {
      this.reset();
      for (const s of from.sources()) if (s.counters) this.inc({ source: s.name }, s.counters.malformed);
    },
  });
  new Counter({
    name: 'seccomp_auditor_foreign_lines_total',
    help: 'Lines holding a seccomp record or lost-records signal in a framing the kernel does not write (another program\'s text, another syslog tag, a user facility), skipped, per source.',
    labelNames: ['source'], registers: [registry],
    collect() {
      this.reset();
      for (const s of from.sources()) if (s.counters) this.inc({ source: s.name }, s.counters.foreign);
    },
  });
  new Counter({
    name: 'seccomp_auditor_attributed_records_total',
    help: 'Records attributed to a container or host unit, per source and method: proc (/proc/<pid>/cgroup read for a new pid), cache (a pid known already), lineage (a parent\'s fork), label (an SELinux MCS label).',
    labelNames: ['source', 'method'], registers: [registry],
    collect() {
      this.reset();
      for (const s of from.sources()) {
        for (const [method, n] of Object.entries(s.counters?.attributed ?? {})) this.inc({ source: s.name, method }, n);
      }
    },
  });
  new Gauge({
    name: 'seccomp_auditor_source_lag_seconds',
    help: 'Seconds from the kernel time stamp of the newest record of a source\'s last batch to when the batch went to be committed: how far behind the kernel reading is.',
    labelNames: ['source'], registers: [registry],
    collect() {
      this.reset();
      for (const s of from.sources()) {
        const lag = s.counters?.lagSeconds ?? null;
        if (lag !== null) this.set({ source: s.name }, lag);
      }
    },
  });
  new Gauge({
    name: 'seccomp_auditor_source_up', help: 'Whether a source reads (1) or has failed (0).',
    labelNames: ['source'], registers: [registry],
    collect() {
      this.reset();
      for (const s of from.sources()) this.set({ source: s.name }, s.ok ? 1 : 0);
    },
  });
  new Counter({
    name: 'seccomp_auditor_records_lost_total', help: 'Records the sources say were lost before they could be read, per source and reason.',
    labelNames: ['source', 'reason'], registers: [registry],
    collect() {
      this.reset();
      for (const l of from.store()?.lost() ?? []) this.inc({ source: l.source, reason: l.reason }, l.count);
    },
  });
  new Counter({
    name: 'seccomp_auditor_unattributed_records_total', help: 'Records that could not be attributed to a container or host unit, per reason.',
    labelNames: ['reason'], registers: [registry],
    collect() {
      this.reset();
      for (const [reason, n] of Object.entries(from.store()?.unattributedTotals() ?? {})) this.inc({ reason }, n);
    },
  });
  new Counter({
    name: 'seccomp_auditor_unattributed_process_records_total',
    help: 'Records that could not be attributed, per reason and the comm and exe of the process that made them, from the database: the 20 groups with the most records (comm and exe are what a process calls itself: values sanitised, series bounded).',
    labelNames: ['reason', 'comm', 'exe'], registers: [registry],
    collect() {
      this.reset();
      const s = from.store();
      if (s === null) return;
      for (const { labels, value } of unattributedTop(s)) this.inc(labels, value);
    },
  });
  new Counter({
    name: 'seccomp_auditor_key_overflow_records_total',
    help: 'Records counted but not stored under their own key because a table reached its cap on distinct keys (table: unattributed, per --max-unattributed-keys; executables, per --max-executables-per-container).',
    labelNames: ['table'], registers: [registry],
    collect() {
      this.reset();
      const s = from.store();
      if (s === null) return;
      const overflow = s.overflow();
      this.inc({ table: 'executables' }, overflow.executables);
      this.inc({ table: 'unattributed' }, Object.values(overflow.unattributed).reduce((a, b) => a + b, 0));
    },
  });
  // Everything per container is read once per scrape: Registry.metrics() runs every collect()
  // in one synchronous stretch, and the result is dropped at its end (the first microtask after
  // it), so the next scrape reads afresh. The workloads are the recent ones, newest first: the
  // cap keeps what runs now, and the work is the window's, not the database's.
  const maxSeries = from.maxSeries ?? DEFAULT_MAX_SERIES;
  const windowMs = from.seriesWindowMs ?? DEFAULT_SERIES_WINDOW_MS;
  const clock = from.clock ?? Date.now;
  interface Scrape { containers: RecentPodWorkload[]; records: CappedSeries; violations: SyscallSeries[] }
  let scraped: Scrape | null = null;
  const scrape = (): Scrape | null => {
    const store = from.store();
    if (store === null) return null;
    if (scraped === null) {
      const recent = store.recentPodWorkloads(clock() - windowMs);
      // one series per container (its newest instance), as many as the cap allows
      const seen = new Set<string>();
      const containers: RecentPodWorkload[] = [];
      for (const w of recent) {
        if (containers.length >= maxSeries) break;
        const key = containerLabelKey(w);
        if (seen.has(key)) continue;
        seen.add(key);
        containers.push(w);
      }
      const records = containerSyscallSeries(store, recent, maxSeries);
      // below the cap every violation is one of the record series; only above it are the
      // violations walked on their own (so that they are not the first to go)
      const violations = records.droppedRecords === 0
        ? records.series.filter((x) => x.labels.action !== 'log')
        : containerSyscallSeries(store, recent, maxSeries, { violations: true }).series;
      scraped = { containers, records, violations };
      queueMicrotask(() => { scraped = null; });
    }
    return scraped;
  };
  const containerGauge = (name: string, help: string, value: (w: RecentPodWorkload) => number | null): void => {
    new Gauge({
      name, help: `${help} Containers seen within the series window, newest first, at most --metrics-max-series.`,
      labelNames: ['namespace', 'workload', 'pod', 'container'], registers: [registry],
      collect() {
        this.reset();
        for (const w of scrape()?.containers ?? []) {
          const v = value(w);
          if (v !== null) this.set(containerLabels(w), v);
        }
      },
    });
  };
  containerGauge('seccomp_auditor_container_syscalls', 'Distinct syscalls observed per container.', (w) => w.syscalls);
  // convergence: "still learning" or "stable for days", for a dashboard or an alert
  containerGauge('seccomp_auditor_container_last_new_syscall_timestamp_seconds',
    'When the first record of the newest distinct syscall of a container was seen, in seconds since the epoch.',
    (w) => (w.lastNewSyscallAt === null ? null : w.lastNewSyscallAt / 1000));
  containerGauge('seccomp_auditor_container_records_since_new_syscall',
    'Records of a container committed after the one that brought its newest distinct syscall.',
    (w) => w.recordsSinceNewSyscall);
  new Counter({
    name: 'seccomp_auditor_container_syscall_records_total',
    help: 'Seccomp records per container, syscall and filter action, from the database: containers seen within the series window, newest first, at most --metrics-max-series series.',
    labelNames: ['namespace', 'workload', 'pod', 'container', 'syscall', 'action'], registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of scrape()?.records.series ?? []) this.inc(syscallLabels(labels), value);
    },
  });
  new Counter({
    name: 'seccomp_auditor_violations_total',
    help: 'Seccomp records whose filter action was not log (errno, kill_process, kill_thread, trap, ...: what a restrictive profile blocked), per container, syscall and action, from the database: containers seen within the series window, newest first, at most --metrics-max-series series.',
    labelNames: ['namespace', 'workload', 'pod', 'container', 'syscall', 'action'], registers: [registry],
    collect() {
      this.reset();
      for (const { labels, value } of scrape()?.violations ?? []) this.inc(syscallLabels(labels), value);
    },
  });
  // Records rather than series: with the exported series they add up to every record of the
  // window's containers, so nothing disappears unseen; and counting distinct series would mean
  // reading every row, which the cap exists to avoid. A gauge, not a counter: it falls when a
  // container leaves the window or a series moves under the cap (it was
  // container_syscall_records_dropped_total, a counter that could go down).
  new Gauge({
    name: 'seccomp_auditor_container_syscall_records_over_cap',
    help: 'Seccomp records of containers seen within the series window that --metrics-max-series kept out of seccomp_auditor_container_syscall_records_total (what it keeps out of seccomp_auditor_violations_total, a subset taken in the same order, is among them); above 0, the cap is reached.',
    registers: [registry],
    collect() {
      this.set(scrape()?.records.droppedRecords ?? 0);
    },
  });
  new Gauge({
    name: 'seccomp_auditor_database_bytes', help: 'Size of the SQLite database and its WAL, in bytes.',
    registers: [registry],
    collect() {
      const s = from.store();
      if (s !== null) this.set(s.sizeBytes());
    },
  });
  // A damaged database must not take /metrics down with it: source_up and the process metrics
  // matter most exactly then. A collector whose database read fails drops its series for this
  // scrape and marks database_up 0; any other error is a bug and still fails the scrape.
  for (const metric of registry.getMetricsAsArray() as unknown as { collect?: () => unknown; reset(): void }[]) {
    const collect = metric.collect;
    if (typeof collect !== 'function') continue;
    metric.collect = function isolated(this: typeof metric) {
      try {
        return collect.call(this);
      } catch (err) {
        if (!(err instanceof StoreError)) throw err;
        storeFailedInScrape = true;
        this.reset();
        from.onStoreError?.(err);
        return undefined;
      }
    };
  }
  return { registry, observeCommit: (seconds) => commits.observe(seconds), observeCommitFailure: () => commitFailures.inc() };
}

/**
 * A container's labels: its names (sanitised: they come from file names in the kubelet's log
 * directory) and its workload, from the pod's name (a Deployment's ReplicaSet hash and pod suffix,
 * a StatefulSet's ordinal stripped), so that a dashboard or an alert can group a workload's pods
 * across nodes.
 */
function containerLabels(w: { namespace: string; pod: string; container: string | null }): { namespace: string; workload: string; pod: string; container: string } {
  return { namespace: labelValue(w.namespace), workload: labelValue(workloadNameOf(w.pod)), pod: labelValue(w.pod), container: labelValue(w.container ?? '') };
}

function syscallLabels(l: SyscallSeries['labels']): ReturnType<typeof containerLabels> & { syscall: string; action: string } {
  return { ...containerLabels(l), syscall: labelValue(l.syscall), action: labelValue(l.action) };
}
