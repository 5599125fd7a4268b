/**
 * Issue 13 item 6: while the database is away the daemon keeps batches in memory, bounded. Past
 * the bound the oldest go, and their records must not vanish silently: they are counted (the
 * stats behind the metric and /api/v1/status) and committed as a store_unavailable loss, placed in
 * time, so a profile's completeness check sees the gap. Committed to a real SQLite file.
 */
import t from 'tap';
import { join } from 'node:path';
import { PendingBatches, STORE_UNAVAILABLE } from '../../src/ingest/pending-batches.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { batch, containerKey, syscall, workload } from '../store/batches.js';
import { tempDir } from '../store/scratch-mounts.js';

const KEY = containerKey(1);
const records = (n: number, at: number) => batch({
  workloads: [workload(KEY, { namespace: 'shop', pod: 'web-0', container: 'nginx', firstSeen: at, lastSeen: at })],
  syscalls: [syscall(KEY, n, { count: 10 + n, firstSeen: at, lastSeen: at + 5 })],
  positions: [{ source: 'file:/var/log/syslog', position: `7:${n * 100}` }],
});

t.test('past the bound the oldest batch is dropped and its records are committed as a store_unavailable loss, placed in time', (t) => {
  const pending = new PendingBatches(2);
  t.equal(pending.push('file:/var/log/syslog', records(0, 1_000_000)), null);
  t.equal(pending.push('file:/var/log/syslog', records(1, 2_000_000)), null);
  const dropped = pending.push('file:/var/log/syslog', records(2, 3_000_000));
  t.equal(dropped?.syscalls[0]?.syscallNr, 0, 'the oldest goes');
  t.same(pending.stats(), { batches: 2, droppedBatches: 1, droppedRecords: 10 });

  const store = SyscallStore.open({ path: join(tempDir(t), 'auditor.db') });
  t.teardown(() => store.close());
  while (pending.length > 0) {
    store.commitBatch(pending.peek()!);
    pending.shift();
  }
  t.same(store.lost(), [{ source: 'file:/var/log/syslog', reason: STORE_UNAVAILABLE, count: 10 }], 'counted as lost');
  t.match(store.lossesBetween(0, 10_000_000), [{ source: 'file:/var/log/syslog', reason: STORE_UNAVAILABLE, count: 10, from: 1_000_000, to: 1_000_005 }], 'placed at the records\' own time');
  t.same(store.listWorkloads()[0]?.records, 11 + 12, 'the kept batches are committed in order');
  t.equal(store.position('file:/var/log/syslog'), '7:200', 'the newest position, committed with its data');
  t.end();
});

t.test('losses a dropped batch carried are kept too, and a bound below 1 is refused', (t) => {
  const pending = new PendingBatches(1);
  pending.push('kmsg', batch({ lost: [{ source: 'kmsg', reason: 'kmsg_overwritten', count: 4 }] }));
  pending.push('kmsg', batch());
  t.same(pending.peek()?.lost, [{ source: 'kmsg', reason: 'kmsg_overwritten', count: 4 }], 'no records in it: only its own loss carries over');
  t.same(pending.stats(), { batches: 1, droppedBatches: 1, droppedRecords: 0 });
  t.throws(() => new PendingBatches(0), /at least 1/);
  t.end();
});
