import { readFileSync } from 'node:fs';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { SyscallStore } from '../store/syscall-store.js';

/** What the metrics read of the running daemon, at scrape time. */
export interface MetricsSources {
  store: () => SyscallStore | null;
  /** each source: records read so far and whether it works */
  sources: () => { name: string; records: number; ok: boolean }[];
}

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

/**
 * The daemon's Prometheus metrics on a private registry. Values that live in the database or
 * the sources are read when Prometheus scrapes (collect), so nothing is counted twice and a pod
 * that was forgotten or pruned disappears from the series.
 */
export interface DaemonMetrics {
  registry: Registry;
  /** one database commit took this long */
  observeCommit(seconds: number): void;
}

export function buildMetrics(from: MetricsSources): DaemonMetrics {
  const registry = new Registry();
  const commits = new Histogram({
    name: 'seccomp_auditor_db_commit_seconds', help: 'Time one batch commit to the database took, in seconds.',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers: [registry],
  });
  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'seccomp_auditor_build_info', help: 'Version of seccomp-auditor that runs, as a label; always 1.',
    labelNames: ['version'], registers: [registry],
  }).set({ version: VERSION }, 1);

  new Counter({
    name: 'seccomp_auditor_records_read_total', help: 'Seccomp records read, per source.',
    labelNames: ['source'], registers: [registry],
    collect() {
      this.reset();
      for (const s of from.sources()) this.inc({ source: s.name }, s.records);
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
      const byReason = new Map<string, number>();
      for (const u of from.store()?.unattributed() ?? []) byReason.set(u.reason, (byReason.get(u.reason) ?? 0) + u.count);
      for (const [reason, n] of byReason) this.inc({ reason }, n);
    },
  });
  new Gauge({
    name: 'seccomp_auditor_container_syscalls', help: 'Distinct syscalls observed per container.',
    labelNames: ['namespace', 'pod', 'container'], registers: [registry],
    collect() {
      this.reset();
      for (const w of from.store()?.listWorkloads() ?? []) {
        if (w.pod !== null) this.set({ namespace: w.namespace ?? '', pod: w.pod, container: w.container ?? '' }, w.syscalls);
      }
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
  return { registry, observeCommit: (seconds) => commits.observe(seconds) };
}
