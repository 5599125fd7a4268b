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
  t.match(first, /seccomp_auditor_container_syscalls\{namespace="shop",pod="web-1",container="nginx"\} 2\n/);
  t.match(first, /seccomp_auditor_db_commit_seconds_bucket\{le="0.005"\} 1\n/);
  t.match(first, /seccomp_auditor_db_commit_seconds_count 1\n/);
  records = 25;
  store.deletePod('shop', 'web-1');
  const second = await registry.metrics();
  t.match(second, /seccomp_auditor_records_read_total\{source="kmsg"\} 25\n/, 'counters follow the source, not added twice');
  t.notMatch(second, /pod="web-1"/, 'a forgotten pod\'s series are gone');
});
