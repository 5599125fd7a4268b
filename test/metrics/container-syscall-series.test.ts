import t, { type Test } from 'tap';
import { join } from 'node:path';
import { containerSyscallSeries } from '../../src/metrics/container-syscall-series.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { AUDIT_ARCH_I386, batch, containerKey, syscall, workload } from '../store/batches.js';

const A = containerKey(1), B = containerKey(2), C = containerKey(3), A_AGAIN = containerKey(4), HOST = 'unit:kubelet.service';

/** pods a (two arches, seen first), b (two violations), c; a's container restarted last; a host unit */
function filled(t: Test): SyscallStore {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-series-'), 's.db') });
  t.teardown(() => store.close());
  store.commitBatch(batch({
    workloads: [
      workload(A, { namespace: 'ns', pod: 'a', container: 'app', lastSeen: 1000 }), workload(B, { namespace: 'ns', pod: 'b', container: 'app', lastSeen: 2000 }),
      workload(C, { namespace: 'ns', pod: 'c', container: 'app', lastSeen: 3000 }), workload(HOST, { lastSeen: 9000 }),
    ],
    syscalls: [
      syscall(A, 0, { count: 2 }), syscall(A, 1, { count: 1 }), syscall(A, 3, { count: 5, auditArch: AUDIT_ARCH_I386 }), // i386 3 = read
      syscall(B, 59, { count: 1, action: 'errno' }), syscall(B, 101, { count: 2, action: 'kill_process' }), syscall(B, 0, { count: 4 }),
      syscall(C, 999_999, { count: 3 }),
      syscall(HOST, 0, { count: 100 }),
    ],
  }));
  // seen last: the same names as a
  store.commitBatch(batch({ workloads: [workload(A_AGAIN, { namespace: 'ns', pod: 'a', container: 'app', lastSeen: 4000 })], syscalls: [syscall(A_AGAIN, 0, { count: 10 }), syscall(A_AGAIN, 2, { count: 1 })] }));
  return store;
}

const flat = (r: ReturnType<typeof containerSyscallSeries>): string[] => r.series.map((s) => `${s.labels.pod}/${s.labels.syscall}/${s.labels.action}=${s.value}`);
const series = (store: SyscallStore, max: number, options: { violations?: boolean; since?: number } = {}) =>
  containerSyscallSeries(store, store.recentPodWorkloads(options.since ?? 0), max, options);

t.test('uncapped: newest container first; rows of one name add up across arches and container instances; host units are no pods', (t) => {
  const store = filled(t);
  const all = series(store, 1000);
  t.same(flat(all), ['a/read/log=17', 'a/open/log=1', 'c/999999/log=3', 'b/read/log=4', 'b/execve/errno=1', 'b/ptrace/kill_process=2', 'a/write/log=1']);
  t.equal(all.droppedRecords, 0);
  t.same(flat(series(store, 1000, { violations: true })), ['b/execve/errno=1', 'b/ptrace/kill_process=2']);
  t.end();
});

t.test('capped: the newest containers\' series; older instances of their containers still count; the rest is counted as dropped, not read', (t) => {
  const store = filled(t);
  const two = series(store, 2);
  t.same(flat(two), ['a/read/log=17', 'a/open/log=1'], 'the restarted a is newest; its older instance\'s reads (both arches) merge');
  t.equal(two.droppedRecords, 1 + 3 + 4 + 1 + 2, 'the old a\'s write, c\'s and b\'s');
  const three = series(store, 3);
  t.same(flat(three), ['a/read/log=17', 'a/open/log=1', 'c/999999/log=3']);
  t.equal(three.droppedRecords, 1 + 4 + 1 + 2);
  const violations = series(store, 1, { violations: true });
  t.same(flat(violations), ['b/execve/errno=1'], 'violations have a cap of their own');
  t.equal(violations.droppedRecords, 2);
  const none = series(store, 0);
  t.same(none.series, []);
  t.equal(none.droppedRecords, 17 + 1 + 4 + 1 + 2 + 3 + 1, 'every pod record, no host unit\'s');
  t.end();
});

t.test('only containers seen within the window have series, and only their records count as dropped', (t) => {
  const store = filled(t);
  const recent = series(store, 1000, { since: 2500 });
  t.same(flat(recent), ['a/read/log=10', 'a/open/log=1', 'c/999999/log=3'], 'the restarted a and c; b and the old a are older');
  t.equal(series(store, 1, { since: 2500 }).droppedRecords, 1 + 3);
  t.end();
});
