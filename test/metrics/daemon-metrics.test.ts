import t from 'tap';
import { join } from 'node:path';
import { buildMetrics } from '../../src/metrics/daemon-metrics.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { containerKey, syscall, workload } from '../store/batches.js';

t.test('metrics read the database and the sources at scrape time', async (t) => {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-metrics-'), 'm.db') });
  t.teardown(() => store.close());
  const web = containerKey(1);
  store.commitBatch({
    workloads: [workload(web, { namespace: 'shop', pod: 'web-1', container: 'nginx' })],
    syscalls: [syscall(web, 0, { count: 4 }), syscall(web, 1, { count: 2 })],
    executables: [],
    unattributed: [{ comm: 'ls', exe: '/bin/ls', reason: 'exited', count: 3, firstSeen: 1, lastSeen: 2 }],
    lost: [{ source: 'kmsg', reason: 'overwritten', count: 7 }],
    positions: [],
  });
  let records = 10;
  const metrics = buildMetrics({ store: () => store, sources: () => [{ name: 'kmsg', records, ok: true }], clock: () => 60_000 });
  const registry = metrics.registry;
  metrics.observeCommit(0.003);
  const first = await registry.metrics();
  t.match(first, /seccomp_auditor_records_read_total\{source="kmsg"\} 10\n/);
  t.match(first, /seccomp_auditor_records_lost_total\{source="kmsg",reason="overwritten"\} 7\n/);
  t.match(first, /seccomp_auditor_unattributed_records_total\{reason="exited"\} 3\n/);
  t.match(first, /seccomp_auditor_container_syscalls\{namespace="shop",workload="web",pod="web-1",container="nginx"\} 2\n/);
  t.match(first, /seccomp_auditor_database_commit_seconds_bucket\{le="0.005"\} 1\n/);
  t.match(first, /seccomp_auditor_database_commit_seconds_count 1\n/);
  records = 25;
  store.deletePod('shop', 'web-1');
  const second = await registry.metrics();
  t.match(second, /seccomp_auditor_records_read_total\{source="kmsg"\} 25\n/, 'counters follow the source, not added twice');
  t.notMatch(second, /pod="web-1"/, 'a forgotten pod\'s series are gone');
});

t.test('per-container families: containers seen within the window, the newest first, every family under the cap, convergence', async (t) => {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-metrics-'), 'w.db') });
  t.teardown(() => store.close());
  const HOUR = 3_600_000, now = 100 * HOUR;
  // c1 oldest (outside the window), c2..c4 inside, c4 the newest
  for (const [n, lastSeen] of [[1, now - 5 * HOUR], [2, now - 30 * 60_000], [3, now - 20 * 60_000], [4, now - 60_000]] as const) {
    const key = containerKey(n);
    store.commitBatch({
      workloads: [workload(key, { namespace: 'shop', pod: `p${n}`, container: 'app', lastSeen })],
      syscalls: [syscall(key, 0, { count: 10, firstSeen: 7_000 }), syscall(key, 1, { count: 1, firstSeen: 9_000 })],
      executables: [], unattributed: [], lost: [], positions: [],
    });
    store.commitBatch({ workloads: [], syscalls: [syscall(key, 0, { count: n })], executables: [], unattributed: [], lost: [], positions: [] });
  }
  const text = await buildMetrics({ store: () => store, sources: () => [], maxSeries: 2, clock: () => now }).registry.metrics();
  const pods = (family: string): string[] => [...text.matchAll(new RegExp(`^${family}\\{[^}]*pod="(p\\d)"`, 'gm'))].map((m) => m[1]!);
  t.same(pods('seccomp_auditor_container_syscalls'), ['p4', 'p3'], 'the newest two; the cap holds for this family too');
  t.same(pods('seccomp_auditor_container_syscall_records_total'), ['p4', 'p4'], 'two series: the newest container\'s');
  t.same(pods('seccomp_auditor_container_records_since_new_syscall'), ['p4', 'p3']);
  t.match(text, /seccomp_auditor_container_last_new_syscall_timestamp_seconds\{namespace="shop",workload="p4",pod="p4",container="app"\} 9\n/);
  t.match(text, /seccomp_auditor_container_records_since_new_syscall\{namespace="shop",workload="p4",pod="p4",container="app"\} 4\n/);
  // p3's and p2's records (p1 is outside the window and not counted anywhere)
  t.match(text, /seccomp_auditor_container_syscall_records_over_cap 27\n/);
  t.notMatch(text, /pod="p1"/, 'a container not seen within the window has no series');
  t.match(text, /seccomp_auditor_key_overflow_records_total\{table="unattributed"\} 0\n/);
});

t.test('the per-container families read elsewhere (the read thread): its text is used; a busy queue reads them here; a damaged read leaves their samples out', async (t) => {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-metrics-'), 'o.db') });
  t.teardown(() => store.close());
  const web = containerKey(1);
  store.commitBatch({
    workloads: [workload(web, { namespace: 'shop', pod: 'web-1', container: 'nginx' })],
    syscalls: [syscall(web, 0, { count: 4 })], executables: [], unattributed: [], lost: [], positions: [],
  });
  const { ApiError } = await import('../../src/http/api-errors.js');
  const { StoreError } = await import('../../src/store/store-error.js');
  const { containerFamiliesText } = await import('../../src/http/reads/metrics-reads.js');
  let answer: (args: { sinceMs: number; maxSeries: number }) => Promise<string> = async (args) => containerFamiliesText(store, args);
  const seen: unknown[] = [];
  const registry = buildMetrics({ store: () => store, sources: () => [], clock: () => 60_000, onStoreError: (e) => seen.push(e), containerFamiliesOffThread: () => answer }).registry;
  const sample = /seccomp_auditor_container_syscalls\{namespace="shop",workload="web",pod="web-1",container="nginx"\} 1\n/;
  t.match(await registry.metrics(), sample, 'from the read thread\'s text');
  let asked = 0;
  answer = async () => {
    asked++;
    throw new ApiError('SA_BUSY', 'the daemon is busy serving reads');
  };
  t.match(await registry.metrics(), sample, 'a full read queue does not fail the scrape nor drop the series');
  t.equal(asked, 1);
  answer = async () => {
    throw new StoreError('SA_DB_CORRUPT', store.path, 'database disk image is malformed');
  };
  const damaged = await registry.metrics();
  t.notMatch(damaged, /^seccomp_auditor_container_syscalls\{/m, 'a failed read: no samples of the families');
  t.match(damaged, /# TYPE seccomp_auditor_container_syscalls gauge/, 'their HELP and TYPE stay');
  t.notMatch(damaged, /^seccomp_auditor_container_syscall_records_over_cap /m, 'not even a 0 over the cap');
  t.match(damaged, /seccomp_auditor_database_up 0\n/, 'the failed read shows in database_up');
  t.equal(seen.length, 1, 'and the daemon is told');
});

t.test('per-container learning gauges say what each container\'s profile answer says: complete unless a loss overlaps its window, young by the thresholds', async (t) => {
  const { podProfile } = await import('../../src/http/reads/profile-reads.js');
  const store = SyscallStore.open({ path: join(makeTempDir('sa-metrics-'), 'l.db') });
  t.teardown(() => store.close());
  const MIN = 60_000, now = 1000 * MIN;
  // name, window (first, last record), records; the loss below lasts [now - 30 min, now - 29 min]
  const containers = [
    ['settled', now - 120 * MIN, now - 60 * MIN + 1, 2000], // ends 29 min before the loss: 1 min of margin is not enough to reach it
    ['over-loss', now - 40 * MIN, now - MIN, 2000], // the loss inside its window
    ['after-loss', now - 28 * MIN, now - 2 * MIN, 2000], // starts a minute after the loss ends: within the margin (inclusive)
    ['clear-after', now - 28 * MIN + 1, now - 2 * MIN, 2000], // a millisecond later: beyond it
    // by this test's thresholds (8 minutes, 1 500 records; the defaults would say otherwise of each)
    ['few-records', now - 120 * MIN, now - 60 * MIN + 2, 1200],
    ['short', now - 9 * MIN, now - 2 * MIN, 5000], // 7 minutes
    ['long-enough', now - 11 * MIN, now - 2 * MIN, 5000], // 9 minutes
  ] as const;
  let n = 0;
  for (const [pod, firstSeen, lastSeen, records] of containers) {
    const key = containerKey(++n);
    store.commitBatch({
      workloads: [workload(key, { namespace: 'shop', pod, container: 'app', firstSeen, lastSeen })],
      syscalls: [syscall(key, 0, { count: records - 1, firstSeen, lastSeen: firstSeen }), syscall(key, 1, { count: 1, firstSeen: lastSeen, lastSeen })],
      executables: [], unattributed: [], lost: [], positions: [],
    });
  }
  store.commitBatch({
    workloads: [], syscalls: [], executables: [], unattributed: [], positions: [],
    lost: [{ source: 'kmsg', reason: 'printk_suppressed', count: 40 }],
    losses: [{ source: 'kmsg', reason: 'printk_suppressed', count: 40, from: now - 30 * MIN, to: now - 29 * MIN }],
  });
  const young = { minWindowMs: 8 * MIN, minRecords: 1500 };
  const text = await buildMetrics({ store: () => store, sources: () => [], clock: () => now, seriesWindowMs: 24 * 60 * MIN, young }).registry.metrics();
  const gauge = (family: string, pod: string): string | undefined => new RegExp(`^${family}\\{namespace="shop",workload="${pod}",pod="${pod}",container="app"\\} (\\d+)$`, 'm').exec(text)?.[1];
  const query = { format: 'oci', defaultAction: 'errno', baseline: 'runc', logDenied: false, allowIncomplete: true } as const;
  const expected: Record<string, [complete: string, young: string]> = {
    settled: ['1', '0'], 'over-loss': ['0', '0'], 'after-loss': ['0', '0'], 'clear-after': ['1', '0'], 'few-records': ['1', '1'], short: ['1', '1'], 'long-enough': ['1', '0'],
  };
  for (const [pod] of containers) {
    const learned = podProfile(store, { namespace: 'shop', pod, query, young }).learned;
    t.same([gauge('seccomp_auditor_container_learning_complete', pod), gauge('seccomp_auditor_container_learning_young', pod)], expected[pod], pod);
    t.same([learned.complete ? '1' : '0', learned.young ? '1' : '0'], expected[pod], `${pod}: the profile answer says the same`);
  }
});

t.test('a restarted container\'s counters are its newest instance\'s: they start again at the restart and do not fall when the old instance leaves the window', async (t) => {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-metrics-'), 'r.db') });
  t.teardown(() => store.close());
  const MIN = 60_000, start = 1000 * MIN;
  // web-1's container ran until start + 10 min, then restarted (a new container id, the same names)
  const old = containerKey(1), again = containerKey(2);
  store.commitBatch({
    workloads: [workload(old, { namespace: 'shop', pod: 'web-1', container: 'nginx', firstSeen: start, lastSeen: start + 10 * MIN })],
    syscalls: [syscall(old, 0, { count: 40, firstSeen: start, lastSeen: start + 10 * MIN }), syscall(old, 59, { action: 'errno', count: 5, firstSeen: start, lastSeen: start + 10 * MIN })],
    executables: [], unattributed: [], lost: [], positions: [],
  });
  store.commitBatch({
    workloads: [workload(again, { namespace: 'shop', pod: 'web-1', container: 'nginx', firstSeen: start + 11 * MIN, lastSeen: start + 12 * MIN })],
    syscalls: [syscall(again, 0, { count: 3, firstSeen: start + 11 * MIN, lastSeen: start + 12 * MIN }), syscall(again, 59, { action: 'errno', count: 2, firstSeen: start + 11 * MIN, lastSeen: start + 12 * MIN })],
    executables: [], unattributed: [], lost: [], positions: [],
  });
  const web = 'namespace="shop",workload="web",pod="web-1",container="nginx"';
  const scrape = (now: number): Promise<string> => buildMetrics({ store: () => store, sources: () => [], clock: () => now }).registry.metrics();
  // both instances within the hour's window, then only the new one
  for (const now of [start + 20 * MIN, start + 65 * MIN]) {
    const text = await scrape(now);
    t.match(text, new RegExp(`^seccomp_auditor_container_syscall_records_total\\{${web},syscall="read",action="log"\\} 3$`, 'm'), `read: the new instance's 3 at +${(now - start) / MIN} min`);
    t.match(text, new RegExp(`^seccomp_auditor_violations_total\\{${web},syscall="execve",action="errno"\\} 2$`, 'm'), 'execve blocked: its 2');
    t.match(text, /^seccomp_auditor_container_syscall_records_over_cap 0$/m, 'nothing over the cap: the old instance is not counted');
  }
});
