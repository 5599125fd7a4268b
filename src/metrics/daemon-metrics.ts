import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from 'prom-client';
import type { YoungThresholds } from '../profile/learning-window.js';
import type { SyscallStore } from '../store/syscall-store.js';
import type { PipelineCounters } from '../types/pipeline-counters.js';
import { CONTAINER_FAMILY_NAMES, containerFamilies, unreadContainerFamilies } from './container-families.js';
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
  /** when a container's learning is young (seccomp_auditor_container_learning_young; default DEFAULT_YOUNG_THRESHOLDS) */
  young?: YoungThresholds;
  /** the scrape's time; tests pin it */
  clock?: () => number;
  /**
   * Reads the per-container families elsewhere (the daemon's read thread, when it has one;
   * containerFamiliesText); null or absent: on this thread. A StoreError it throws is a failed
   * read, as on this thread.
   */
  containerFamiliesOffThread?: () => ((args: { sinceMs: number; maxSeries: number; young?: YoungThresholds }) => Promise<string>) | null;
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
 *   Prometheus' rate() and increase() take for a counter reset, as after a restart. The
 *   per-container ones count a container's newest instance, so a container restart is such a
 *   reset too (container-families.ts). The database totals never decrease otherwise.
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
  // set when a database read fails during this scrape (see the end of buildMetrics)
  let storeFailedInScrape = false;
  const maxSeries = from.maxSeries ?? DEFAULT_MAX_SERIES;
  const windowMs = from.seriesWindowMs ?? DEFAULT_SERIES_WINDOW_MS;
  const clock = from.clock ?? Date.now;
  const registry = new WithContainerFamilies(async () => {
    storeFailedInScrape = false;
    const onStoreError = (err: StoreError): void => {
      storeFailedInScrape = true;
      from.onStoreError?.(err);
    };
    const sinceMs = clock() - windowMs;
    const args = { sinceMs, maxSeries, ...(from.young === undefined ? {} : { young: from.young }) };
    const offThread = from.containerFamiliesOffThread?.() ?? null;
    if (offThread === null || from.store() === null) return containerFamilies(from.store(), { ...args, onStoreError });
    try {
      return await offThread(args);
    } catch (err) {
      if (err instanceof StoreError) {
        onStoreError(err);
        return unreadContainerFamilies();
      }
      // the read queue is full (SA_BUSY) or a read thread failed: a scrape still gets its series,
      // read here as before the read thread, rather than a failed scrape
      return containerFamilies(from.store(), { ...args, onStoreError });
    }
  });
  const commits = new Histogram({
    name: 'seccomp_auditor_database_commit_seconds', help: 'Time one batch commit to the database took, in seconds.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  const commitFailures = new Counter({
    name: 'seccomp_auditor_database_commit_failures_total',
    help: 'Commits the database refused (full, read-only, locked, corrupt...); the daemon keeps the batch in memory and retries it every second.',
    registers: [registry],
  });
  new Gauge({
    name: 'seccomp_auditor_database_up', help: 'Whether the database is open, took the last commit and answered this scrape\'s reads (1) or not (0), as /readyz says of the store.',
    registers: [registry],
    async collect() {
      // prom-client calls every collect() in one synchronous pass before awaiting any: waiting
      // one microtask lets this one see whether the database reads of this scrape failed (the
      // per-container families were read before the pass, which cleared the flag)
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
 * The registry whose text ends with the per-container families, written as text by
 * containerFamilies (prom-client's per-sample label objects were most of a scrape's time, see
 * bench/metrics-bench.ts). They are read first, then prom-client's collectors run.
 */
class WithContainerFamilies extends Registry {
  readonly #containers: () => Promise<string>;

  constructor(containers: () => Promise<string>) {
    super();
    this.#containers = containers;
  }

  /** a family written twice is a scrape Prometheus rejects: refused where it would be added */
  override registerMetric<T extends string>(metric: Metric<T>): void {
    // every prom-client metric has its name (the typings do not say so)
    const { name } = metric as unknown as { name: string };
    if (CONTAINER_FAMILY_NAMES.includes(name)) throw new Error(`${name} is written by containerFamilies`);
    super.registerMetric(metric);
  }

  override async metrics(): Promise<string> {
    const containers = await this.#containers();
    // prom-client's text ends with a line feed; a blank line between families, as it writes them
    return `${await super.metrics()}\n${containers}\n`;
  }
}
