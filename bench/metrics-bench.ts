import { rmSync } from 'node:fs';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { copyOfApiDb, startDaemon, TARGETS } from './api-bench.js';

/**
 * GET /metrics on the 30-day database (issue 14 item 3), on its own and with enough scrapes for
 * a p99 that is not just the slowest of a few: the built daemon over loopback HTTP, the series
 * window on the log's last hour (as bench/api-bench.ts sets it), `n` sequential scrapes after 3
 * not counted. The exposition is checked by promtool when it is installed (.ci/run installs it).
 *
 * `npx tsx bench/metrics-bench.ts [n]` (npm run build first: it runs dist/cli.js).
 */
export interface MetricsBenchResult { n: number; p50: number; p99: number; max: number; bytes: number; samples: number; promtool: string; loadavg: number[] }

export async function metricsBench(n = 300): Promise<MetricsBenchResult> {
  const { dir, db, window } = copyOfApiDb('sa-metrics-bench-');
  let daemon: ChildProcess | null = null;
  try {
    const started = await startDaemon(db, window);
    daemon = started.child;
    const url = `${started.base}/metrics`;
    const scrape = async (): Promise<{ ms: number; text: string }> => {
      const start = performance.now();
      const res = await fetch(url);
      const text = await res.text();
      if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
      return { ms: performance.now() - start, text };
    };
    for (let i = 0; i < 3; i++) await scrape();
    const ms: number[] = [];
    let text = '';
    for (let i = 0; i < n; i++) ({ ms: ms[i]!, text } = await scrape());
    ms.sort((a, b) => a - b);
    const at = (q: number): number => ms[Math.min(n - 1, Math.ceil(q * n) - 1)]!;
    const check = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    const promtool = check.error !== undefined ? 'not installed' : check.status === 0 && `${check.stdout}${check.stderr}`.trim() === '' ? 'ok' : `FAILED: ${`${check.stdout}${check.stderr}`.slice(0, 500)}`;
    return {
      n, p50: at(0.5), p99: at(0.99), max: ms[n - 1]!, bytes: Buffer.byteLength(text),
      samples: text.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length, promtool, loadavg: loadavg(),
    };
  } finally {
    if (daemon !== null && daemon.exitCode === null) {
      const exited = new Promise((r) => daemon!.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const r = await metricsBench(process.argv[2] !== undefined ? Number(process.argv[2]) : undefined);
  console.log(`/metrics on the 30-day database (window: the log's last hour): p50 ${r.p50.toFixed(1)} ms, p99 ${r.p99.toFixed(1)} ms, max ${r.max.toFixed(1)} ms ` +
    `(n ${r.n}), ${(r.bytes / 1024).toFixed(0)} KiB, ${r.samples.toLocaleString('en')} samples, promtool ${r.promtool}; load average ${r.loadavg.map((l) => l.toFixed(2)).join(' ')} - ` +
    `target p99 <= ${TARGETS.metricsMs} ms: ${r.p99 <= TARGETS.metricsMs ? 'met' : 'NOT met'}`);
}
