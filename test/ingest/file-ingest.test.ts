import t from 'tap';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { columnBuffers, columnsOf, rowsOf } from '../../src/types/syscall-columns.js';
import { startFileIngest } from '../../src/ingest/file-ingest.js';
import { RecordPipeline } from '../../src/ingest/record-pipeline.js';
import type { FlushBatch } from '../../src/types/flush-batch.js';
import Database from 'better-sqlite3';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';

t.test('syscall rows cross threads in columns and come back row for row', async (t) => {
  const batch: FlushBatch = {
    workloads: [], executables: [], unattributed: [], lost: [{ source: 'ingest', reason: 'x', count: 1 }], positions: [{ source: 'file:a', position: '1:2', recordTime: 5 }],
    syscalls: [
      { workload: 'container:a', auditArch: 0xc000003e, syscallNr: 0, action: 'log', count: 3, firstSeen: 1_700_000_000_123, lastSeen: 1_700_000_000_999, comm: 'nginx', exe: '/usr/sbin/nginx', isNew: true },
      { workload: 'container:a', auditArch: 0xc000003e, syscallNr: 0x40000001, action: 'errno', count: 1, firstSeen: 1, lastSeen: 2, comm: null, exe: null, isNew: false },
      { workload: 'container:b', auditArch: 0x40000003, syscallNr: 5, action: 'kill_process', count: 2, firstSeen: 3, lastSeen: 4, comm: 'nginx', exe: null },
      { workload: 'container:a', auditArch: 0xc000003e, syscallNr: 1, action: 'unknown', count: 9, firstSeen: 5, lastSeen: 6, comm: 'a "quoted"\n comm', exe: '/usr/sbin/nginx' },
    ],
  };
  const columns = columnsOf(batch.syscalls);
  t.same(columns.workloadKeys, ['container:a', 'container:b', 'container:a'], 'a workload key travels once per run of its rows');
  t.same(columns.strings, ['nginx', '/usr/sbin/nginx', 'a "quoted"\n comm'], 'a sample string travels once');
  const transfer = columnBuffers(columns);
  t.equal(transfer.length, 8);
  const crossed = structuredClone({ ...batch, syscalls: [], columns }, { transfer });
  t.equal(columns.workload.byteLength, 0, 'the buffers were moved, not copied');
  t.same(rowsOf(crossed.columns), batch.syscalls);
  t.throws(() => columnsOf([{ ...batch.syscalls[0]!, action: 'nope' as 'log' }]), /unknown seccomp action "nope"/);
});

t.test('the reading thread hands over bounded batches whose sum is exactly what one thread makes', async (t) => {
  const dir = makeTempDir('sa-file-ingest-');
  const lines: string[] = [];
  // 40 processes (no proc root: unattributed by comm) and 60 containers' worth of keys in a proc root
  const proc = join(dir, 'proc');
  for (let c = 0; c < 60; c++) {
    const pid = 1000 + c;
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'cgroup'), `0::/system.slice/docker-${String(c).padStart(64, '0')}.scope\n`);
    writeFileSync(join(proc, String(pid), 'stat'), `${pid} (app) S 1 ${'0 '.repeat(17)}777 0 0\n`);
  }
  let serial = 0;
  for (let i = 0; i < 20_000; i++) {
    const pid = 1000 + (i % 70);
    const nr = (i * 7) % 90;
    serial++;
    lines.push(`type=SECCOMP msg=audit(${1_700_000_000 + Math.floor(i / 100)}.${String(i % 1000).padStart(3, '0')}:${serial}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${pid} comm="app${pid % 3}" exe="/app" sig=0 arch=c000003e syscall=${nr} compat=0 ip=0x7f0000001000 code=${i % 50 === 0 ? '0x50000' : '0x7ffc0000'}`);
  }
  const file = join(dir, 'audit.log');
  writeFileSync(file, lines.join('\n') + '\n');

  const summary = await startFileIngest({ files: [file], procRoot: proc, logDir: null, nodeName: 'n', trust: {}, maxErrors: 5, batchEveryMs: 60_000, maxPendingRows: 500, maxBatchesInFlight: 1 }, join(dir, 'threaded.db'), process.stdin).run({
    onMalformed: () => t.fail('no malformed line'),
    onProgress: () => {},
    onInputError: (_f, m) => t.fail(m),
  });
  t.equal(summary.stats.records, 20_000);
  t.ok(summary.batches > 3, `several batches (${summary.batches})`);
  // the bound is checked per chunk read, so a batch may pass it by what one chunk adds
  t.ok(summary.largestBatch > 0 && summary.largestBatch < 500 + 5400, `each batch bounded (${summary.largestBatch} rows at most)`);

  const threaded = SyscallStore.open({ path: join(dir, 'threaded.db') });
  const single = SyscallStore.open({ path: join(dir, 'single.db') });
  t.teardown(() => { threaded.close(); single.close(); });
  const pipeline = new RecordPipeline({ source: 'ingest', procRoot: proc, logDir: null, nodeName: 'n', events: { onNewSyscall() {}, onLostSignal() {}, onMalformed() {} } });
  pipeline.start({ watch: false });
  pipeline.push(Buffer.from(lines.join('\n') + '\n'));
  pipeline.end();
  single.commitBatch(pipeline.takeBatch([])!);
  const rows = (s: SyscallStore) => s.syscallsOf(s.listWorkloads().map((w) => w.key)).map((r) => [r.auditArch, r.syscallNr, r.action, r.count, r.firstSeen, r.lastSeen]).sort();
  t.same(rows(threaded), rows(single), 'the same rows, counts and times');
  t.same(threaded.unattributedPage({ limit: 100 }).items.map((u) => [u.comm, u.count]).sort(), single.unattributedPage({ limit: 100 }).items.map((u) => [u.comm, u.count]).sort());
  t.equal(summary.counts.proc + summary.counts.cache, pipeline.attributor.counts.proc + pipeline.attributor.counts.cache);
});

t.test('a batch the store refuses ends the ingest: nothing after it is committed, the error is the store\'s', async (t) => {
  const dir = makeTempDir('sa-file-ingest-fail-');
  const proc = join(dir, 'proc');
  for (let pid = 100; pid < 150; pid++) {
    mkdirSync(join(proc, String(pid)), { recursive: true });
    writeFileSync(join(proc, String(pid), 'cgroup'), `0::/system.slice/docker-${String(pid).padStart(64, '0')}.scope\n`);
    writeFileSync(join(proc, String(pid), 'stat'), `${pid} (app) S 1 ${'0 '.repeat(17)}777 0 0\n`);
  }
  const lines: string[] = [];
  for (let i = 0; i < 5_000; i++) {
    lines.push(`type=SECCOMP msg=audit(1700000000.${String(i % 1000).padStart(3, '0')}:${i + 1}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${100 + (i % 50)} comm="c${i % 50}" exe="/x" sig=0 arch=c000003e syscall=${i % 300} compat=0 ip=0x7f0000001000 code=0x7ffc0000`);
  }
  const file = join(dir, 'audit.log');
  writeFileSync(file, lines.join('\n') + '\n');
  // a real refusal from SQLite: the first batch adds the 50 workloads, the next ones (the same
  // file again) update them, which the database refuses
  const path = join(dir, 'full.db');
  SyscallStore.open({ path }).close();
  const db = new Database(path);
  db.exec("CREATE TRIGGER full BEFORE UPDATE ON workloads BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
  db.close();
  const run = startFileIngest({ files: [file, file, file], procRoot: proc, logDir: null, nodeName: 'n', trust: {}, maxErrors: 5, batchEveryMs: 60_000, maxPendingRows: 1, maxBatchesInFlight: 4 }, path, process.stdin).run({
    onMalformed: () => {},
    onProgress: () => {},
    onInputError: () => {},
  });
  await t.rejects(run, /database or disk is full/);
  const after = new Database(path, { readonly: true });
  t.teardown(() => after.close());
  const records = after.prepare('SELECT ifnull(sum(count), 0) FROM syscalls').pluck().get() as number;
  t.equal(after.prepare('SELECT count(*) FROM workloads').pluck().get(), 50, 'the first batch is committed');
  t.ok(records > 0 && records <= 5_000, `only the first batch's records, from the first file (${records}); the failed batch was rolled back, none after it committed`);
});

t.test('a store that cannot be opened fails the ingest with its own message', async (t) => {
  const dir = makeTempDir('sa-file-ingest-open-');
  const file = join(dir, 'audit.log');
  writeFileSync(file, 'type=SECCOMP msg=audit(1700000000.001:1): pid=7 comm="a" exe="/a" sig=0 arch=c000003e syscall=1 compat=0 ip=0x1 code=0x7ffc0000\n');
  writeFileSync(join(dir, 'not-a.db'), 'this is not a database, and it is longer than a header would be '.repeat(20));
  const run = startFileIngest({ files: [file], procRoot: null, logDir: null, nodeName: 'n', trust: {}, maxErrors: 5, batchEveryMs: 60_000, maxPendingRows: 10, maxBatchesInFlight: 2 }, join(dir, 'not-a.db'), process.stdin)
    .run({ onMalformed: () => {}, onProgress: () => {}, onInputError: () => {} });
  const err = await run.then(() => null, (e: Error) => e);
  t.match(err?.message, /not-a\.db/, `the store's error, naming the file: ${err?.message}`);
  t.notMatch(err?.message, /ended before/, 'not a thread that died');
});

t.test('what the threads say before run() is kept for it: an ingest started early loses nothing', async (t) => {
  const dir = makeTempDir('sa-file-ingest-');
  const line = (i: number, bad: boolean): string => bad
    ? 'type=SECCOMP msg=audit(garbage'
    : `type=SECCOMP msg=audit(1700000000.${String(i % 1000).padStart(3, '0')}:${i}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=7 comm="a" exe="/a" sig=0 arch=c000003e syscall=${i % 40} compat=0 ip=0x1 code=0x7ffc0000`;
  writeFileSync(join(dir, 'a.log'), Array.from({ length: 300 }, (_, i) => line(i, i % 100 === 50)).join('\n') + '\n');
  const path = join(dir, 'early.db');
  const ingest = startFileIngest({ files: [join(dir, 'a.log')], procRoot: null, logDir: null, nodeName: 'n', trust: {}, maxErrors: 5, batchEveryMs: 60_000, maxPendingRows: 10, maxBatchesInFlight: 8 }, path, process.stdin);
  // long enough for the threads to have read it all, committed and said they are done
  await new Promise((resolve) => setTimeout(resolve, 1500));
  const malformed: number[] = [];
  const summary = await ingest.run({
    onMalformed: (_f, lineNo) => malformed.push(lineNo),
    onProgress: () => {},
    onInputError: (_f, m) => t.fail(m),
  });
  t.equal(summary.stats.records, 297);
  t.same(malformed, [51, 151, 251], 'the malformed lines, reported before run() was called');
  const store = SyscallStore.open({ path });
  t.teardown(() => store.close());
  // no proc root: every record is in the unattributed bucket
  const counted = store.unattributedPage({ limit: 100 }).items.reduce((sum, u) => sum + u.count, 0);
  t.equal(counted, 297, `every record committed (${summary.batches} batches)`);
});
