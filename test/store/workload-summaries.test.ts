import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openDatabase } from '../../src/store/open-database.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { batch, containerKey, syscall, workload } from './batches.js';
import { tempDir } from './scratch-mounts.js';

const WEB = containerKey(1), JOB = containerKey(2);

/** The summaries as a GROUP BY over every row would give them (what the commit must keep equal). */
function recomputed(path: string): unknown[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(`
      SELECT w.key,
        (SELECT count(DISTINCT (audit_arch << 32) | (syscall_nr & 4294967295)) FROM syscalls s WHERE s.workload_id = w.id) AS syscalls,
        (SELECT ifnull(sum(count), 0) FROM syscalls s WHERE s.workload_id = w.id) AS records,
        (SELECT ifnull(sum(count), 0) FROM syscalls s WHERE s.workload_id = w.id AND action <> 'log') AS violations,
        (SELECT count(*) FROM executables e WHERE e.workload_id = w.id) AS executables
      FROM workloads w ORDER BY w.key`).all();
  } finally {
    db.close();
  }
}

function summaries(store: SyscallStore): unknown[] {
  return store.listWorkloads().sort((a, b) => (a.key < b.key ? -1 : 1))
    .map((w) => ({ key: w.key, syscalls: w.syscalls, records: w.records, violations: w.violations, executables: w.executables }));
}

t.test('records since the newest syscall count from the record that brought it, not from the end of its batch', (t) => {
  const store = SyscallStore.open({ path: join(tempDir(t), 'since.db') });
  t.teardown(() => store.close());
  // a batch of a whole day: the newest call came, then 40 records of known calls
  store.commitBatch(batch({ workloads: [{ ...workload(WEB), recordsSinceNewKey: 40 }], syscalls: [syscall(WEB, 0, { count: 45, firstSeen: 1000 }), syscall(WEB, 1, { count: 5, firstSeen: 1500 })] }));
  t.match(store.workload(WEB), { records: 50, lastNewSyscallAt: 1500, recordsSinceNewSyscall: 40 });
  store.commitBatch(batch({ workloads: [{ ...workload(WEB), recordsSinceNewKey: 7 }], syscalls: [syscall(WEB, 0, { count: 10, firstSeen: 2000 })] }));
  t.match(store.workload(WEB), { records: 60, recordsSinceNewSyscall: 50 }, 'a batch without a new call adds all its records');
  store.commitBatch(batch({ workloads: [{ ...workload(WEB), recordsSinceNewKey: 2 }], syscalls: [syscall(WEB, 2, { count: 3, firstSeen: 3000 })] }));
  t.match(store.workload(WEB), { syscalls: 3, records: 63, lastNewSyscallAt: 3000, recordsSinceNewSyscall: 2 });
  // a count the batch cannot hold (a row made elsewhere) is bounded by the batch's records
  store.commitBatch(batch({ workloads: [{ ...workload(WEB), recordsSinceNewKey: 1_000 }], syscalls: [syscall(WEB, 3, { count: 4, firstSeen: 4000 })] }));
  t.match(store.workload(WEB), { records: 67, recordsSinceNewSyscall: 4 });
  t.end();
});

t.test('the commit keeps each workload\'s summary: distinct calls, records, violations, convergence', (t) => {
  const store = SyscallStore.open({ path: join(tempDir(t), 'a.db') });
  t.teardown(() => store.close());
  store.commitBatch(batch({ workloads: [workload(WEB)], syscalls: [syscall(WEB, 0, { count: 5, firstSeen: 1000 }), syscall(WEB, 1, { count: 2, firstSeen: 1500 })] }));
  t.match(store.workload(WEB), { syscalls: 2, records: 7, violations: 0, lastNewSyscallAt: 1500, recordsSinceNewSyscall: 0 });
  // only known calls: the container converges, records since the last new call grow
  store.commitBatch(batch({ syscalls: [syscall(WEB, 0, { count: 30, firstSeen: 2000 })] }));
  store.commitBatch(batch({ syscalls: [syscall(WEB, 1, { count: 10, firstSeen: 3000 })] }));
  t.match(store.workload(WEB), { syscalls: 2, records: 47, lastNewSyscallAt: 1500, recordsSinceNewSyscall: 40 });
  // a known call under another action is a violation, not a new call
  store.commitBatch(batch({ syscalls: [syscall(WEB, 1, { count: 3, action: 'errno', firstSeen: 4000 })] }));
  t.match(store.workload(WEB), { syscalls: 2, records: 50, violations: 3, lastNewSyscallAt: 1500, recordsSinceNewSyscall: 43 });
  // a new call starts the count again (from the commit that brought it)
  store.commitBatch(batch({ syscalls: [syscall(WEB, 59, { count: 1, firstSeen: 5000 }), syscall(WEB, 0, { count: 4 })] }));
  t.match(store.workload(WEB), { syscalls: 3, records: 55, lastNewSyscallAt: 5000, recordsSinceNewSyscall: 0 });
  // a late record of an older new call does not move the time back
  store.commitBatch(batch({ syscalls: [syscall(WEB, 60, { count: 1, firstSeen: 4500 })] }));
  t.match(store.workload(WEB), { syscalls: 4, lastNewSyscallAt: 5000 });
  t.same(summaries(store), recomputed(store.path));
  t.end();
});

t.test('summaries equal a recount after many batches, a prune and a delete', (t) => {
  const store = SyscallStore.open({ path: join(tempDir(t), 'b.db') });
  t.teardown(() => store.close());
  let seed = 7;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  for (let i = 0; i < 40; i++) {
    const keys = [containerKey(rand(12) + 1), containerKey(rand(12) + 1)];
    store.commitBatch(batch({
      workloads: keys.map((k, j) => workload(k, { namespace: 'ns', pod: `p-${k.slice(-2)}`, container: 'c', lastSeen: i * 1000 + j })),
      // isNew at random: the hint is wrong both ways half the time (a key stored by an earlier
      // run marked new, a key never stored not marked), and the summaries must not care
      syscalls: keys.flatMap((k) => [
        syscall(k, rand(20), { count: rand(5) + 1, action: rand(4) === 0 ? 'errno' : 'log', isNew: rand(2) === 0 }),
        syscall(k, rand(20), { isNew: rand(2) === 0 }),
      ]),
      executables: keys.map((k) => ({ workload: k, exe: `/bin/x${rand(5)}`, count: 1, firstSeen: 1, lastSeen: 1 })),
    }));
  }
  t.same(summaries(store), recomputed(store.path));
  store.prune({ notSeenSinceMs: 0, now: 20_000 });
  store.deletePod('ns', store.listWorkloads()[0]!.pod!);
  t.same(summaries(store), recomputed(store.path), 'still equal after rows went');
  t.ok(store.listWorkloads().length > 0, 'something left to compare');
  t.end();
});

t.test('the isNew hint only picks the first statement: a wrong hint neither counts a call twice nor loses one', (t) => {
  const store = SyscallStore.open({ path: join(tempDir(t), 'hint.db') });
  t.teardown(() => store.close());
  store.commitBatch(batch({ workloads: [workload(WEB)], syscalls: [syscall(WEB, 0, { count: 5, firstSeen: 1000, isNew: true })] }));
  // a restarted daemon's aggregate calls every key new: the stored row is added to, its sample kept
  store.commitBatch(batch({ syscalls: [syscall(WEB, 0, { count: 2, firstSeen: 900, lastSeen: 2000, comm: 'other', exe: '/bin/other', isNew: true })] }));
  // a key the aggregate thinks stored (its first batch dropped): inserted all the same, counted as a call
  store.commitBatch(batch({ syscalls: [syscall(WEB, 1, { count: 3, firstSeen: 3000, isNew: false })] }));
  // new under another action: a row of its own, not a new call
  store.commitBatch(batch({ syscalls: [syscall(WEB, 1, { count: 1, action: 'errno', firstSeen: 4000, isNew: true })] }));
  t.same(store.syscallsOf([WEB]).map((s) => [s.syscallNr, s.action, s.count, s.firstSeen, s.lastSeen, s.comm]), [
    [0, 'log', 7, 900, 2000, 'nginx'], [1, 'errno', 1, 4000, 1000, 'nginx'], [1, 'log', 3, 3000, 1000, 'nginx'],
  ]);
  t.match(store.workload(WEB), { syscalls: 2, records: 11, violations: 1, lastNewSyscallAt: 3000, recordsSinceNewSyscall: 1 });
  t.same(summaries(store), recomputed(store.path));
  t.end();
});

t.test('caps: distinct unattributed and executable keys beyond them go to a counted overflow', (t) => {
  const store = SyscallStore.open({ path: join(tempDir(t), 'c.db'), caps: { maxUnattributedKeys: 2, maxExecutablesPerWorkload: 1 } });
  t.teardown(() => store.close());
  const u = (comm: string, reason = 'exited', count = 1) => ({ comm, exe: null, reason, count, firstSeen: 1, lastSeen: 1 });
  store.commitBatch(batch({ unattributed: [u('a'), u('b'), u('c', 'exited', 5)] }));
  store.commitBatch(batch({ unattributed: [u('a', 'exited', 2), u('d', 'no-pid', 3)] }));
  t.same(store.unattributedPage({ limit: 10 }).items.map((x) => [x.comm, x.count]), [['a', 3], ['b', 1]], 'known keys still count');
  t.same(store.overflow().unattributed, { exited: 5, 'no-pid': 3 });
  t.same(store.unattributedTotals(), { exited: 9, 'no-pid': 3 }, 'the totals count every record');
  const e = (workloadKey: string, exe: string) => ({ workload: workloadKey, exe, count: 2, firstSeen: 1, lastSeen: 1 });
  store.commitBatch(batch({ workloads: [workload(WEB), workload(JOB)], executables: [e(WEB, '/bin/a'), e(WEB, '/bin/b'), e(JOB, '/bin/c')] }));
  store.commitBatch(batch({ executables: [e(WEB, '/bin/a'), e(WEB, '/bin/z')] }));
  t.same(store.executablesOf([WEB, JOB]).map((x) => [x.exe, x.count]), [['/bin/a', 4], ['/bin/c', 2]]);
  t.match(store.workload(WEB), { executables: 1, executableOverflow: 4 });
  t.equal(store.overflow().executables, 4);
  // pruning frees room under the unattributed cap
  store.prune({ notSeenSinceMs: 0, now: 2 });
  store.commitBatch(batch({ unattributed: [u('e', 'exited', 1)] }));
  t.same(store.unattributedPage({ limit: 10 }).items.map((x) => x.comm), ['e']);
  t.throws(() => SyscallStore.open({ path: join(tempDir(t), 'd.db'), caps: { maxUnattributedKeys: -1 } }), /maxUnattributedKeys must be a whole number/);
  t.end();
});

t.test('a database of schema version 2 migrates in place: summaries and counters back-filled from its rows', (t) => {
  const path = join(tempDir(t), 'old.db');
  const old = openDatabase({ path, migrations: MIGRATIONS.slice(0, 2) });
  old.prepare(`INSERT INTO workloads (key, kind, container_id, pod_uid, namespace, pod, container, node, first_seen, last_seen)
    VALUES (?, 'container', 'x', 'uid-1', 'shop', 'web-1', 'nginx', 'n', 1000, 9000)`).run(WEB);
  const row = old.prepare(`INSERT INTO syscalls (workload_id, audit_arch, syscall_nr, action, count, first_seen, last_seen)
    VALUES ((SELECT id FROM workloads WHERE key = ?), 3221225534, ?, ?, ?, ?, 9000)`);
  row.run(WEB, 0, 'log', 10, 1000);
  row.run(WEB, 1, 'log', 5, 3000);
  row.run(WEB, 1, 'errno', 2, 2000);
  old.prepare(`INSERT INTO executables (workload_id, exe, count, first_seen, last_seen) VALUES ((SELECT id FROM workloads WHERE key = ?), '/bin/sh', 1, 1, 1)`).run(WEB);
  old.prepare(`INSERT INTO unattributed (comm, exe, reason, count, first_seen, last_seen) VALUES ('ls', NULL, 'exited', 4, 1, 1), ('cat', NULL, 'exited', 1, 1, 1)`).run();
  old.close();

  const store = SyscallStore.open({ path });
  t.teardown(() => store.close());
  t.match(store.workload(WEB), { syscalls: 2, records: 17, violations: 2, executables: 1, lastNewSyscallAt: 2000, recordsSinceNewSyscall: 0 });
  t.same(store.unattributedTotals(), { exited: 5 });
  t.same(store.podPage({ limit: 10 }).items.map((p) => p.key), [{ namespace: 'shop', pod: 'web-1', podUid: 'uid-1' }]);
  store.commitBatch(batch({ workloads: [workload(WEB)], syscalls: [syscall(WEB, 0, { count: 3 })] }));
  t.match(store.workload(WEB), { syscalls: 2, records: 20, recordsSinceNewSyscall: 3 }, 'counts go on from the back-filled summary');
  t.end();
});
