/**
 * The per-container families are written as exposition text by our own code, not prom-client's:
 * names that reach the database unchecked (an imported database, a future source that does not
 * validate as the kubelet log index does) must still give a scrape that Prometheus takes whole.
 * A real SQLite file, the daemon's registry behind fastify on a real socket, and promtool as the
 * strict reader.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { buildApp } from '../../src/http/app.js';
import { buildMetrics } from '../../src/metrics/daemon-metrics.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { batch, containerKey, syscall, workload } from '../store/batches.js';
import { PROMTOOL } from '../prometheus/prometheus-server.js';
import { parseExposition, select, value, type Exposition } from './exposition.js';

const NOW = 50_000_000;
const QUOTED = 'we"b\\1';
/** two pods that differ only in what sanitising replaces: one series to Prometheus */
const NEWLINE = 'evil\npod', CARRIAGE = 'evil\rpod';
const LONG = `${'x'.repeat(200)}-0`;

function hostileStore(t: Test): SyscallStore {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-hostile-'), 'h.db') });
  t.teardown(() => store.close());
  const pods: [number, string, string, string][] = [
    [1, 'ns"\\', QUOTED, 'c"}\n#'], [2, 'shop', NEWLINE, 'app'], [3, 'shop', CARRIAGE, 'app'], [4, 'shop', LONG, 'app\u0000'],
  ];
  for (const [n, namespace, pod, container] of pods) {
    const key = containerKey(n);
    store.commitBatch(batch({
      workloads: [workload(key, { namespace, pod, container, lastSeen: NOW - n * 1000 })],
      syscalls: [syscall(key, 0, { count: 10 * n }), syscall(key, 59, { count: n, action: 'errno' })],
    }));
  }
  return store;
}

async function scrape(t: Test, store: SyscallStore, maxSeries?: number): Promise<{ text: string; contentType: string; e: Exposition }> {
  const metrics = buildMetrics({ store: () => store, sources: () => [], clock: () => NOW, ...(maxSeries !== undefined ? { maxSeries } : {}) });
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store, metrics: metrics.registry });
  t.teardown(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const res = await fetch(`${base}/metrics`);
  t.equal(res.status, 200);
  const text = await res.text();
  return { text, contentType: res.headers.get('content-type') ?? '', e: parseExposition(text) };
}

function promtool(t: Test, text: string): void {
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.equal(r.error, undefined, 'promtool runs');
  t.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
  t.equal(`${r.stdout}${r.stderr}`.trim(), '', 'not one warning');
}

/** every family's samples have distinct label sets (a repeated one makes Prometheus drop the scrape) */
function noDuplicates(t: Test, e: Exposition): void {
  for (const [name, samples] of e.samples) {
    const keys = samples.map((s) => JSON.stringify(Object.entries(s.labels).sort()));
    t.equal(new Set(keys).size, keys.length, `${name}: no label set twice`);
  }
}

t.test('quotes, backslashes, line feeds and control characters in names: valid text, values read back as sanitised', async (t) => {
  const { text, contentType, e } = await scrape(t, hostileStore(t));
  t.match(contentType, /^text\/plain; version=0\.0\.4/);
  t.ok(text.endsWith('\n') && !text.endsWith('\n\n'), 'one line feed at the end');
  promtool(t, text);
  noDuplicates(t, e);

  const quoted = { namespace: 'ns"\\', pod: QUOTED, container: 'c"}?#' };
  t.equal(value(e, 'seccomp_auditor_container_syscall_records_total', { ...quoted, syscall: 'read', action: 'log' }), 10, 'quotes and backslashes escaped and read back');
  t.equal(value(e, 'seccomp_auditor_violations_total', { ...quoted, syscall: 'execve', action: 'errno' }), 1);
  t.equal(value(e, 'seccomp_auditor_container_syscalls', quoted), 2);
  t.equal(select(e, 'seccomp_auditor_container_syscalls', { workload: 'we"b\\1' }).length, 1, 'the workload label too');

  const evil = { namespace: 'shop', pod: 'evil?pod', container: 'app' };
  t.equal(value(e, 'seccomp_auditor_container_syscall_records_total', { ...evil, syscall: 'read', action: 'log' }), 20 + 30, 'line feed and carriage return become ?, and the two pods one series');
  t.equal(value(e, 'seccomp_auditor_violations_total', { ...evil, syscall: 'execve', action: 'errno' }), 2 + 3);
  t.equal(value(e, 'seccomp_auditor_container_records_since_new_syscall', evil), 0, 'one gauge sample: the newest pod\'s');

  const long = select(e, 'seccomp_auditor_container_syscalls', { namespace: 'shop', container: 'app?' });
  t.equal(long.length, 1);
  t.equal(long[0]!.labels['pod']!.length, 128, 'a long name is cut');
  t.ok(long[0]!.labels['pod']!.endsWith('…'));
  t.notMatch(text, /[\r\u0000]/, 'no raw control character anywhere');
  t.equal(value(e, 'seccomp_auditor_container_syscall_records_over_cap'), 0);
});

t.test('the cap counts exported series: names that sanitise alike do not use it up twice; the newest go first', async (t) => {
  // newest first: QUOTED (2 series), then the two evil pods (2 series between them), then LONG
  const { text, e } = await scrape(t, hostileStore(t), 4);
  promtool(t, text);
  noDuplicates(t, e);
  const records = select(e, 'seccomp_auditor_container_syscall_records_total');
  t.same(records.map((s) => `${s.labels['pod']}/${s.labels['syscall']}=${s.value}`), [`${QUOTED}/read=10`, `${QUOTED}/execve=1`, 'evil?pod/read=50', 'evil?pod/execve=5']);
  t.equal(value(e, 'seccomp_auditor_container_syscall_records_over_cap'), 40 + 4, 'the long-named pod\'s records');
  t.same(select(e, 'seccomp_auditor_container_syscalls').map((s) => s.labels['pod']), [QUOTED, 'evil?pod', LONG.slice(0, 127) + '…'], 'three containers under a cap of four');
  t.same(select(e, 'seccomp_auditor_violations_total').map((s) => `${s.labels['pod']}=${s.value}`), [`${QUOTED}=1`, 'evil?pod=5', `${LONG.slice(0, 127)}…=4`],
    'violations walked on their own above the cap: all three fit');

  const none = await scrape(t, hostileStore(t), 0);
  t.equal(select(none.e, 'seccomp_auditor_container_syscall_records_total').length, 0);
  t.equal(select(none.e, 'seccomp_auditor_container_syscalls').length, 0);
  t.equal(value(none.e, 'seccomp_auditor_container_syscall_records_over_cap'), 10 + 20 + 30 + 40 + 1 + 2 + 3 + 4);
  t.match(none.text, /# HELP seccomp_auditor_violations_total .+\n# TYPE seccomp_auditor_violations_total counter\n/, 'a family without samples keeps its HELP and TYPE');
});
