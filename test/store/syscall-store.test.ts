import t, { type Test } from 'tap';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/store/store-error.js';
import { SyscallStore, type StoredUnattributed } from '../../src/store/syscall-store.js';
import type { FlushBatch } from '../../src/types/flush-batch.js';
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, batch, containerKey, syscall, workload } from './batches.js';
import { mountsUnavailable, tempDir, tinyTmpfs } from './scratch-mounts.js';

const WEB = containerKey(1);
const JOB = containerKey(2);
const SSHD = 'unit:sshd.service';

function open(t: Test, options: { clock?: () => number } = {}): SyscallStore {
  const store = SyscallStore.open({ path: join(tempDir(t), 'auditor.db'), ...options });
  t.teardown(() => store.close());
  return store;
}

/** What commitBatch threw, for the cases that must throw. */
function failure(f: () => void): StoreError {
  try {
    f();
  } catch (err) {
    if (err instanceof StoreError) return err;
    throw err;
  }
  throw new Error('expected a StoreError, nothing was thrown');
}

/** Every unattributed group, without the id the pages carry. */
function unattributed(store: SyscallStore): Omit<StoredUnattributed, 'id'>[] {
  return store.unattributedPage({ limit: 10_000 }).items.map(({ id: _id, ...u }) => u);
}

t.test('count deltas add up across batches; first seen is the minimum, last seen the maximum', (t) => {
  const store = open(t);
  store.commitBatch(batch({
    workloads: [workload(WEB, { firstSeen: 2000, lastSeen: 2500 })],
    syscalls: [syscall(WEB, 0, { count: 5, firstSeen: 2000, lastSeen: 2500 }), syscall(WEB, 1, { count: 1, firstSeen: 2100, lastSeen: 2100 })],
  }));
  store.commitBatch(batch({
    // a later flush, and one that carries an earlier record (an ingest of an older rotated file)
    workloads: [workload(WEB, { firstSeen: 1500, lastSeen: 3000 })],
    syscalls: [syscall(WEB, 0, { count: 7, firstSeen: 1500, lastSeen: 3000 }), syscall(WEB, 1, { count: 2, firstSeen: 2200, lastSeen: 2300 })],
  }));
  // the same key twice in one batch adds up too
  store.commitBatch(batch({
    workloads: [workload(WEB, { firstSeen: 2600, lastSeen: 2600 })],
    syscalls: [syscall(WEB, 1, { count: 10, firstSeen: 2600, lastSeen: 2600 }), syscall(WEB, 1, { count: 100, firstSeen: 2050, lastSeen: 2050 })],
  }));
  t.match(store.syscallsOf([WEB]), [
    { workload: WEB, auditArch: AUDIT_ARCH_X86_64, syscallNr: 0, action: 'log', count: 12, firstSeen: 1500, lastSeen: 3000 },
    { workload: WEB, auditArch: AUDIT_ARCH_X86_64, syscallNr: 1, action: 'log', count: 113, firstSeen: 2050, lastSeen: 2600 },
  ]);
  t.match(store.listWorkloads(), [{ key: WEB, firstSeen: 1500, lastSeen: 3000, syscalls: 2, records: 125 }]);
  t.end();
});

t.test('arch, number and action each make a separate row; x32 numbers keep their bit', (t) => {
  const store = open(t);
  const X32_READ = 0x40000000;
  store.commitBatch(batch({
    workloads: [workload(WEB)],
    syscalls: [
      syscall(WEB, 1), syscall(WEB, 1, { action: 'errno' }), syscall(WEB, 1, { auditArch: AUDIT_ARCH_I386 }),
      syscall(WEB, X32_READ), syscall(WEB, 2),
    ],
  }));
  const rows = store.syscallsOf([WEB]).map((s) => [s.auditArch, s.syscallNr, s.action]);
  t.same(rows, [
    [AUDIT_ARCH_I386, 1, 'log'],
    [AUDIT_ARCH_X86_64, 1, 'errno'], [AUDIT_ARCH_X86_64, 1, 'log'], [AUDIT_ARCH_X86_64, 2, 'log'], [AUDIT_ARCH_X86_64, X32_READ, 'log'],
  ]);
  t.match(store.listWorkloads()[0], { syscalls: 4, records: 5 }, 'write under two actions is one syscall');
  t.end();
});

t.test('names that arrive later fill nulls; known names are never overwritten with null', (t) => {
  const store = open(t);
  store.commitBatch(batch({ workloads: [workload(WEB, { podUid: 'uid-1', qos: 'burstable' })] }));
  t.match(store.listWorkloads()[0], { namespace: null, pod: null, container: null, podUid: 'uid-1', qos: 'burstable' });
  store.commitBatch(batch({ workloads: [workload(WEB, { namespace: 'shop', pod: 'web-1', container: 'nginx', lastSeen: 2000 })] }));
  store.commitBatch(batch({ workloads: [workload(WEB, { lastSeen: 3000 })] }));
  t.same(store.listWorkloads(), [{
    key: WEB, kind: 'container', containerId: WEB.slice(10), podUid: 'uid-1', namespace: 'shop', pod: 'web-1', container: 'nginx',
    runtime: 'containerd', qos: 'burstable', unit: null, ownerKind: null, ownerName: null, node: 'node-1', firstSeen: 1000, lastSeen: 3000, syscalls: 0, records: 0,
    violations: 0, lastNewSyscallAt: null, recordsSinceNewSyscall: 0, executables: 0, executableOverflow: 0,
  }]);
  t.end();
});

t.test('the sample comm and exe are kept from the first record, as a pair', (t) => {
  const store = open(t);
  store.commitBatch(batch({
    workloads: [workload(WEB)],
    syscalls: [syscall(WEB, 0, { comm: 'nginx', exe: '/usr/sbin/nginx' }), syscall(WEB, 1, { comm: null, exe: null })],
  }));
  store.commitBatch(batch({
    workloads: [workload(WEB)],
    syscalls: [syscall(WEB, 0, { comm: 'sh', exe: '/bin/sh' }), syscall(WEB, 1, { comm: 'curl', exe: '/usr/bin/curl' })],
  }));
  t.match(store.syscallsOf([WEB]), [
    { syscallNr: 0, comm: 'nginx', exe: '/usr/sbin/nginx', count: 2 },
    { syscallNr: 1, comm: 'curl', exe: '/usr/bin/curl', count: 2 },
  ], 'kept, and filled where the first had none');
  t.end();
});

t.test('executables, unattributed (NULL comm or exe groups too), lost records and positions', (t) => {
  let now = 5000;
  const store = open(t, { clock: () => now });
  const once: FlushBatch = batch({
    workloads: [workload(WEB)],
    executables: [{ workload: WEB, exe: '/usr/sbin/nginx', count: 3, firstSeen: 1000, lastSeen: 1200 }],
    unattributed: [
      { comm: 'runc', exe: '/usr/bin/runc', reason: 'exited', count: 2, firstSeen: 1000, lastSeen: 1100 },
      { comm: null, exe: null, reason: 'no-pid', count: 1, firstSeen: 1000, lastSeen: 1000 },
      { comm: 'runc', exe: null, reason: 'exited', count: 1, firstSeen: 900, lastSeen: 900 },
    ],
    lost: [{ source: 'kmsg', reason: 'overwritten', count: 40 }, { source: 'kmsg', reason: 'printk_suppressed', count: 3 }],
    positions: [{ source: 'kmsg', position: 'boot-1:100' }, { source: 'file:/var/log/audit/audit.log', position: '42:1000' }],
  });
  store.commitBatch(once);
  now = 6000;
  store.commitBatch({ ...once, positions: [{ source: 'kmsg', position: 'boot-1:250' }] });
  t.same(store.executablesOf([WEB, JOB]), [{ workload: WEB, exe: '/usr/sbin/nginx', count: 6, firstSeen: 1000, lastSeen: 1200 }]);
  t.same(unattributed(store), [
    { comm: 'runc', exe: '/usr/bin/runc', reason: 'exited', count: 4, firstSeen: 1000, lastSeen: 1100 },
    { comm: null, exe: null, reason: 'no-pid', count: 2, firstSeen: 1000, lastSeen: 1000 },
    { comm: 'runc', exe: null, reason: 'exited', count: 2, firstSeen: 900, lastSeen: 900 },
  ], 'in the order first stored');
  t.same(store.unattributedTotals(), { exited: 6, 'no-pid': 2 });
  t.same(store.lost(), [{ source: 'kmsg', reason: 'overwritten', count: 80 }, { source: 'kmsg', reason: 'printk_suppressed', count: 6 }]);
  t.equal(store.position('kmsg'), 'boot-1:250');
  t.equal(store.position('journal'), null);
  t.same(store.positions(), [
    { source: 'file:/var/log/audit/audit.log', position: '42:1000', updatedAt: 5000 },
    { source: 'kmsg', position: 'boot-1:250', updatedAt: 6000 },
  ]);
  t.end();
});

t.test('a batch is all or nothing: a failure mid-way leaves counts and positions as they were', async (t) => {
  const store = open(t);
  store.commitBatch(batch({
    workloads: [workload(WEB)],
    syscalls: [syscall(WEB, 0, { count: 5 })],
    lost: [{ source: 'kmsg', reason: 'overwritten', count: 1 }],
    positions: [{ source: 'kmsg', position: 'boot-1:100' }],
  }));
  const snapshot = () => ({
    workloads: store.listWorkloads(), syscalls: store.syscallsOf([WEB, JOB]), executables: store.executablesOf([WEB, JOB]),
    unattributed: unattributed(store), lost: store.lost(), positions: store.positions(),
  });
  const before = snapshot();
  // each bad batch is good up to its last syscall delta, so rows were written before the failure
  const good = (): FlushBatch => batch({
    workloads: [workload(WEB, { lastSeen: 9000, namespace: 'shop' }), workload(JOB)],
    syscalls: [syscall(WEB, 0, { count: 50 }), syscall(JOB, 7)],
    executables: [{ workload: JOB, exe: '/bin/job', count: 1, firstSeen: 1, lastSeen: 1 }],
    unattributed: [{ comm: 'x', exe: null, reason: 'exited', count: 1, firstSeen: 1, lastSeen: 1 }],
    lost: [{ source: 'kmsg', reason: 'overwritten', count: 9 }],
    positions: [{ source: 'kmsg', position: 'boot-1:999' }],
  });
  const cases: Array<[string, FlushBatch, RegExp]> = [
    ['a CHECK constraint (a negative count)', { ...good(), syscalls: [...good().syscalls, syscall(WEB, 3, { count: -1 })] }, /CHECK constraint failed/],
    ['a delta for a workload nobody described', { ...good(), syscalls: [...good().syscalls, syscall(containerKey(99), 3)] }, new RegExp(`a delta for workload ${containerKey(99)}, which neither the batch nor the database describes`)],
    // the rows go to the store in typed-array columns, where a count that is not a number is NaN,
    // which SQLite stores as NULL
    ['a count that is not a number', { ...good(), syscalls: [...good().syscalls, syscall(WEB, 3, { count: {} as number })] }, /NOT NULL constraint failed: syscalls\.count/],
  ];
  for (const [name, bad, message] of cases) {
    const err = failure(() => store.commitBatch(bad));
    t.equal(err.code, 'SA_BATCH_INVALID', name);
    t.match(err.message, message);
    t.match(err.message, /nothing of the batch was committed$/);
    t.same(snapshot(), before, `${name}: nothing changed, position included`);
  }
  store.commitBatch(good());
  t.equal(store.position('kmsg'), 'boot-1:999', 'the store takes the next good batch');
  t.match(store.syscallsOf([WEB]), [{ count: 55 }]);
  t.end();
});

t.test('a full disk during commitBatch rolls the batch back; the store reads on and commits once space is free', { skip: mountsUnavailable() ?? false }, (t) => {
  const dir = tinyTmpfs(t, 3 << 20);
  const filler = join(dir, 'filler');
  writeFileSync(filler, Buffer.alloc(3 << 19));
  const store = SyscallStore.open({ path: join(dir, 'auditor.db') });
  t.teardown(() => store.close());
  const key = (i: number) => `unit:service-${i}-${'x'.repeat(100)}.service`;
  const flush = (i: number): FlushBatch => batch({
    workloads: [workload(key(i))],
    syscalls: Array.from({ length: 500 }, (_, n) => syscall(key(i), n, { comm: `comm-${i}`, exe: `/opt/${'y'.repeat(150)}/${i}` })),
    positions: [{ source: 'kmsg', position: `boot-1:${i}` }],
  });
  let committed = 0;
  let full: StoreError | undefined;
  for (let i = 1; i < 1000 && full === undefined; i++) {
    try {
      store.commitBatch(flush(i));
      committed = i;
    } catch (err) {
      if (!(err instanceof StoreError)) throw err;
      full = err;
    }
  }
  t.ok(committed > 0, `${committed} batches fit`);
  t.equal(full?.code, 'SA_DB_FULL');
  t.equal(full?.message, `cannot write ${store.path}: the disk is full (SQLITE_FULL): free space on its volume or choose --db; the batch was rolled back`);
  t.equal(store.position('kmsg'), `boot-1:${committed}`, 'position of the last committed batch');
  t.equal(store.listWorkloads().length, committed, 'no workload of the failed batch');
  t.equal(store.listWorkloads().reduce((n, w) => n + w.records, 0), committed * 500);
  rmSync(filler);
  store.commitBatch(flush(committed + 1));
  t.equal(store.position('kmsg'), `boot-1:${committed + 1}`, 'the same batch commits once space is free');
  const raw = new Database(store.path, { readonly: true });
  t.equal(raw.pragma('integrity_check', { simple: true }), 'ok');
  raw.close();
  t.end();
});

t.test('a write lock held past the busy timeout is SA_DB_BUSY, and the batch is not half-applied', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  const store = SyscallStore.open({ path, busyTimeoutMs: 100 });
  t.teardown(() => store.close());
  const other = new Database(path);
  t.teardown(() => other.close());
  other.exec('BEGIN IMMEDIATE');
  const started = Date.now();
  const err = failure(() => store.commitBatch(batch({ workloads: [workload(WEB)], positions: [{ source: 'kmsg', position: 'b:1' }] })));
  t.equal(err.code, 'SA_DB_BUSY');
  t.equal(err.message, `${path} is locked by another writer (SQLITE_BUSY): stop the other process using it or choose another --db; the batch was rolled back`);
  t.ok(Date.now() - started >= 90, 'waited for the busy timeout first');
  other.exec('ROLLBACK');
  store.commitBatch(batch({ workloads: [workload(WEB)], positions: [{ source: 'kmsg', position: 'b:1' }] }));
  t.equal(store.position('kmsg'), 'b:1');
  t.end();
});

t.test('prune forgets workloads not seen since the cutoff, with their syscalls and executables, and nothing else', (t) => {
  const store = open(t);
  const DAY = 86_400_000;
  const now = 100 * DAY;
  store.commitBatch(batch({
    workloads: [workload(WEB, { lastSeen: now - 40 * DAY }), workload(JOB, { lastSeen: now - 29 * DAY }), workload(SSHD, { lastSeen: now - 31 * DAY })],
    syscalls: [syscall(WEB, 0), syscall(WEB, 1), syscall(JOB, 0), syscall(SSHD, 0)],
    executables: [{ workload: WEB, exe: '/usr/sbin/nginx', count: 1, firstSeen: 1, lastSeen: 1 }],
    unattributed: [
      { comm: 'old', exe: null, reason: 'exited', count: 1, firstSeen: 1, lastSeen: 1 },
      { comm: 'new', exe: null, reason: 'exited', count: 1, firstSeen: 1, lastSeen: now - DAY },
    ],
    lost: [{ source: 'kmsg', reason: 'overwritten', count: 1 }],
    positions: [{ source: 'kmsg', position: 'b:1' }],
  }));
  t.same(store.prune({ notSeenSinceMs: 30 * DAY, now }), { workloads: 2, unattributed: 1 });
  t.same(store.listWorkloads().map((w) => w.key), [JOB]);
  t.same(store.syscallsOf([WEB, JOB, SSHD]).map((s) => s.workload), [JOB]);
  t.same(store.executablesOf([WEB]), []);
  const raw = new Database(store.path, { readonly: true });
  t.equal(raw.prepare('SELECT count(*) FROM syscalls').pluck().get(), 1, 'no orphan syscall rows');
  t.equal(raw.prepare('SELECT count(*) FROM executables').pluck().get(), 0, 'no orphan executable rows');
  raw.close();
  t.same(unattributed(store).map((u) => u.comm), ['new'], 'unattributed groups not seen within the retention go too');
  t.same(store.unattributedTotals(), { exited: 2 }, 'the total of records stays');
  t.equal(store.lost().length, 1, 'lost counts are kept');
  t.equal(store.position('kmsg'), 'b:1', 'positions are kept');
  t.same(store.prune({ notSeenSinceMs: 30 * DAY, now }), { workloads: 0, unattributed: 0 });
  t.throws(() => store.prune({ notSeenSinceMs: Number.NaN }), RangeError);
  t.end();
});

t.test('read side: by namespace, by pod, deletePod, several keys at once, size', (t) => {
  const store = open(t);
  const API = containerKey(3);
  store.commitBatch(batch({
    workloads: [
      workload(WEB, { namespace: 'shop', pod: 'web-1', container: 'nginx' }),
      workload(API, { namespace: 'shop', pod: 'web-1', container: 'sidecar' }),
      workload(JOB, { namespace: 'batch', pod: 'report-x', container: 'worker' }),
      workload(SSHD),
    ],
    syscalls: [syscall(WEB, 0, { count: 3 }), syscall(API, 0), syscall(API, 1), syscall(JOB, 59), syscall(SSHD, 42)],
  }));
  t.same(store.listWorkloads().map((w) => w.key), [SSHD, JOB, WEB, API], 'host units (no namespace) first, then by namespace, pod, container');
  t.match(store.listWorkloads({ namespace: 'shop' }), [{ key: WEB, syscalls: 1, records: 3 }, { key: API, syscalls: 2, records: 2 }]);
  t.same(store.listWorkloads({ namespace: 'nowhere' }), []);
  t.same(store.workloadsOfPod('shop', 'web-1').map((w) => w.container), ['nginx', 'sidecar']);
  t.same(store.syscallsOf([API, SSHD, 'unit:unknown']).map((s) => `${s.workload} ${s.syscallNr}`), [`${API} 0`, `${API} 1`, `${SSHD} 42`]);
  t.same(store.syscallsOf([]), []);
  t.ok(store.sizeBytes() > 4096, `${store.sizeBytes()} bytes`);
  t.equal(store.deletePod('shop', 'web-1'), 2);
  t.equal(store.deletePod('shop', 'web-1'), 0);
  t.same(store.listWorkloads().map((w) => w.key), [SSHD, JOB]);
  t.same(store.syscallsOf([WEB, API]), []);
  t.end();
});

t.test('readSnapshot: several reads see one commit, not two', (t) => {
  const store = open(t);
  const path = store.path;
  store.commitBatch(batch({ workloads: [workload(WEB)], syscalls: [syscall(WEB, 0)], positions: [{ source: 'kmsg', position: '1' }] }));
  const writer = SyscallStore.open({ path });
  t.teardown(() => writer.close());
  const seen = store.readSnapshot(() => {
    const position = store.position('kmsg');
    // another connection commits between the two reads
    writer.commitBatch(batch({ workloads: [workload(WEB)], syscalls: [syscall(WEB, 0)], positions: [{ source: 'kmsg', position: '2' }] }));
    return { position, count: store.syscallsOf([WEB])[0]!.count };
  });
  t.same(seen, { position: '1', count: 1 });
  t.same({ position: store.position('kmsg'), count: store.syscallsOf([WEB])[0]!.count }, { position: '2', count: 2 });
  t.end();
});

t.test('the store survives its own close twice and reopens', (t) => {
  const path = join(tempDir(t), 'auditor.db');
  const store = SyscallStore.open({ path });
  store.close();
  store.close();
  t.throws(() => store.listWorkloads(), /not open/);
  SyscallStore.open({ path }).close();
  t.end();
});
