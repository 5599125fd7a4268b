import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { openDatabase } from '../../src/store/open-database.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { batch, containerKey, syscall, workload } from './batches.js';
import { tempDir } from './scratch-mounts.js';

const WEB = containerKey(1);
const MIN = 60_000;
/** a minute boundary, so the buckets below are predictable */
const T0 = 1_700_000_040_000;

t.test('losses are committed with the batch, placed in time, and bucketed per source, reason and minute', (t) => {
  const store = SyscallStore.open({ path: join(tempDir(t), 'a.db') });
  t.teardown(() => store.close());
  store.commitBatch(batch({
    lost: [{ source: 'kmsg', reason: 'overwritten', count: 5 }],
    losses: [{ source: 'kmsg', reason: 'overwritten', count: 5, from: T0 + 1000, to: T0 + 2000 }],
  }));
  // same minute of the end: one row, the interval widened, counts added
  store.commitBatch(batch({
    lost: [{ source: 'kmsg', reason: 'overwritten', count: 3 }],
    losses: [{ source: 'kmsg', reason: 'overwritten', count: 3, from: T0 + 30_000, to: T0 + 31_000 }],
  }));
  // another minute, another reason: rows of their own
  store.commitBatch(batch({
    lost: [{ source: 'kmsg', reason: 'printk_suppressed', count: 100 }, { source: 'kmsg', reason: 'overwritten', count: 1 }],
    losses: [
      { source: 'kmsg', reason: 'printk_suppressed', count: 100, from: T0 + 10_000, to: T0 + 5 * MIN },
      { source: 'kmsg', reason: 'overwritten', count: 1, from: T0 + 2 * MIN, to: T0 + 2 * MIN + 1 },
    ],
  }));
  t.same(store.lossesBetween(0, Number.MAX_SAFE_INTEGER), [
    { source: 'kmsg', reason: 'overwritten', count: 8, from: T0 + 1000, to: T0 + 31_000 },
    { source: 'kmsg', reason: 'printk_suppressed', count: 100, from: T0 + 10_000, to: T0 + 5 * MIN },
    { source: 'kmsg', reason: 'overwritten', count: 1, from: T0 + 2 * MIN, to: T0 + 2 * MIN + 1 },
  ]);
  t.same(store.lost(), [{ source: 'kmsg', reason: 'overwritten', count: 9 }, { source: 'kmsg', reason: 'printk_suppressed', count: 100 }],
    'the cumulative counts answer as before');
  // overlap is inclusive at both ends
  t.same(store.lossesBetween(T0 + 31_000, T0 + 31_000).map((l) => l.count), [8, 100]);
  t.same(store.lossesBetween(T0 + 6 * MIN, T0 + 7 * MIN), [], 'nothing after the last loss');
  t.same(store.lossesBetween(0, T0), [], 'nothing before the first');
  t.end();
});

t.test('a loss of unknown start begins at the newest record the source committed before', (t) => {
  const store = SyscallStore.open({ path: join(tempDir(t), 'b.db'), clock: () => T0 + 9 * MIN });
  t.teardown(() => store.close());
  // no position yet: the loss may be of any time before its end
  store.commitBatch(batch({ losses: [{ source: 'audit', reason: 'daemon_down', count: 2, from: null, to: T0 }] }));
  store.commitBatch(batch({ positions: [{ source: 'audit', position: 'boot:10', recordTime: T0 + MIN }] }));
  // a batch with a position but no record time keeps the time known
  store.commitBatch(batch({ positions: [{ source: 'audit', position: 'boot:11' }] }));
  store.commitBatch(batch({
    losses: [{ source: 'audit', reason: 'daemon_down', count: 40, from: null, to: T0 + 8 * MIN }],
    // the same batch moves the position on: the loss still starts at the one before
    positions: [{ source: 'audit', position: 'boot:90', recordTime: T0 + 8 * MIN }],
  }));
  t.same(store.lossesBetween(0, Number.MAX_SAFE_INTEGER), [
    { source: 'audit', reason: 'daemon_down', count: 2, from: 0, to: T0 },
    { source: 'audit', reason: 'daemon_down', count: 40, from: T0 + MIN, to: T0 + 8 * MIN },
  ]);
  t.end();
});

t.test('losses are pruned with the retention, by their end', (t) => {
  const store = SyscallStore.open({ path: join(tempDir(t), 'c.db') });
  t.teardown(() => store.close());
  store.commitBatch(batch({
    losses: [
      { source: 'kmsg', reason: 'overwritten', count: 1, from: T0, to: T0 + 1000 },
      { source: 'kmsg', reason: 'overwritten', count: 1, from: T0, to: T0 + 10 * MIN },
    ],
  }));
  store.prune({ notSeenSinceMs: MIN, now: T0 + 6 * MIN });
  t.same(store.lossesBetween(0, Number.MAX_SAFE_INTEGER).map((l) => l.to), [T0 + 10 * MIN], 'the loss that ended before the cutoff went');
  t.end();
});

t.test('a database of schema version 3 migrates in place: its untimed losses cover everything learned before the upgrade', (t) => {
  const path = join(tempDir(t), 'v3.db');
  const old = openDatabase({ path, migrations: MIGRATIONS.slice(0, 3) });
  t.equal(old.pragma('user_version', { simple: true }), 3);
  old.prepare(`INSERT INTO workloads (key, kind, container_id, namespace, pod, container, node, first_seen, last_seen)
    VALUES (?, 'container', ?, 'shop', 'web', 'nginx', 'node-1', ?, ?)`).run(WEB, WEB.slice(10), T0, T0 + MIN);
  old.prepare("INSERT INTO lost_records (source, reason, count) VALUES ('kmsg', 'printk_suppressed', 12688), ('kmsg', 'overwritten', 0)").run();
  old.prepare("INSERT INTO source_positions (source, position, updated_at) VALUES ('kmsg', 'boot:41', ?)").run(T0 + MIN);
  old.close();

  const before = Date.now();
  const store = SyscallStore.open({ path });
  t.teardown(() => store.close());
  const check = new Database(path, { readonly: true });
  t.teardown(() => check.close());
  t.equal(check.pragma('user_version', { simple: true }), MIGRATIONS.length, 'brought to the current version');
  t.same(check.pragma('integrity_check', { simple: true }), 'ok');
  const losses = store.lossesBetween(0, Number.MAX_SAFE_INTEGER);
  t.equal(losses.length, 1, 'one event per nonzero count');
  t.match(losses[0], { source: 'kmsg', reason: 'printk_suppressed', count: 12688, from: T0 });
  // whole seconds: the migration's clock is SQLite's
  t.ok(losses[0]!.to >= before - 1000 && losses[0]!.to <= Date.now(), 'ends when the migration ran');
  t.same(store.lost(), [{ source: 'kmsg', reason: 'overwritten', count: 0 }, { source: 'kmsg', reason: 'printk_suppressed', count: 12688 }]);

  // the old position has no record time: the next loss of unknown start begins at its commit time
  store.commitBatch(batch({ losses: [{ source: 'kmsg', reason: 'overwritten', count: 3, from: null, to: T0 + 3 * MIN }] }));
  t.match(store.lossesBetween(T0 + 2 * MIN, T0 + 3 * MIN).filter((l) => l.reason === 'overwritten'), [{ count: 3, from: T0 + MIN, to: T0 + 3 * MIN }]);
  // and the store keeps counting on the old rows
  store.commitBatch(batch({ workloads: [workload(WEB)], syscalls: [syscall(WEB, 0, { count: 2 })] }));
  t.equal(store.workload(WEB)!.records, 2);
  t.end();
});
