import { rowsOf } from '../../src/types/syscall-columns.js';
import t from 'tap';
import { EVICT_IDLE_MS, FORGET_IDLE_MS, SyscallAggregate } from '../../src/aggregate/syscall-aggregate.js';
import type { Workload } from '../../src/attribute/workload.js';
import { SeccompLineParser } from '../../src/parse/seccomp-line-parser.js';
import type { SeccompRecordView } from '../../src/types/seccomp-record.js';

const web: Workload = {
  key: `container:${'a'.repeat(64)}`, kind: 'container', containerId: 'a'.repeat(64), podUid: 'u-1', qos: 'burstable', runtime: 'containerd',
  unit: null, namespace: 'shop', pod: 'web-1', container: 'nginx', namesTriedAt: 0,
};

/** Feeds real parsed records (each line's record is handed to `each`). */
function feed(lines: string[], each: (rec: SeccompRecordView) => void): void {
  const parser = new SeccompLineParser({ handler: { onRecord: each, onLostSignal() {}, onMalformed(_l, r) { throw new Error(r); } } });
  lines.forEach((l, i) => parser.parseLine(Buffer.from(l), 0, l.length, i + 1));
}
const line = (sec: number, nr: number, o: { code?: string; exe?: string; comm?: string } = {}) =>
  `audit: type=1326 audit(${sec}.000:${sec}): auid=0 uid=0 gid=0 ses=1 pid=7 comm="${o.comm ?? 'nginx'}" exe="${o.exe ?? '/usr/sbin/nginx'}" sig=0 arch=c000003e syscall=${nr} compat=0 ip=0x1 code=${o.code ?? '0x7ffc0000'}`;

t.test('deltas per key, one row per changed key, counting afresh after each batch', async (t) => {
  const fresh: string[] = [];
  const agg = new SyscallAggregate({ nodeName: 'node-1', onNewKey: (w, k) => fresh.push(`${w.pod}:${k.syscallNr}:${k.action}`) });
  t.equal(agg.takeBatch([]), null, 'nothing to flush');
  feed([line(10, 0), line(11, 0), line(12, 1), line(9, 0), line(13, 0, { code: '0x50000' })], (rec) => agg.add(web, rec, 'cache', 0));
  t.same(fresh, ['web-1:0:log', 'web-1:1:log', 'web-1:0:errno'], 'a new key is reported once; an action makes its own key');
  const b1 = agg.takeBatch([{ source: 'kmsg', position: 'boot:42' }])!;
  t.same(b1.positions, [{ source: 'kmsg', position: 'boot:42' }]);
  t.match(b1.workloads, [{ key: web.key, namespace: 'shop', pod: 'web-1', container: 'nginx', node: 'node-1', firstSeen: 9000, lastSeen: 13000 }]);
  t.same(rowsOf(b1.columns!).map((s) => [s.syscallNr, s.action, s.count, s.firstSeen, s.lastSeen, s.comm]), [
    [0, 'log', 3, 9000, 11000, 'nginx'], [1, 'log', 1, 12000, 12000, 'nginx'], [0, 'errno', 1, 13000, 13000, 'nginx'],
  ]);
  feed([line(20, 1)], (rec) => agg.add(web, rec, 'cache', 0));
  const b2 = agg.takeBatch([])!;
  t.same(rowsOf(b2.columns!).map((s) => [s.syscallNr, s.count, s.comm]), [[1, 1, null]], 'only the changed key, its delta, the sample only once');
  t.equal(agg.keys, 3);
});

t.test('executables per new process, unattributed by comm/exe/reason, lost records', async (t) => {
  const agg = new SyscallAggregate({ nodeName: 'n' });
  feed([line(1, 0, { exe: '/bin/sh' }), line(2, 0, { exe: '/bin/sh' }), line(3, 0, { exe: '/bin/ls' })], (rec) => agg.add(web, rec, rec.time === 2000 ? 'cache' : 'proc', 0));
  feed([line(4, 0, { comm: 'ls', exe: '/bin/ls' }), line(5, 0, { comm: 'ls', exe: '/bin/ls' })], (rec) => agg.addUnattributed(rec, 'exited', 0));
  agg.addLost('kmsg', 'overwritten', 5, 1000, 2000);
  agg.addLost('kmsg', 'overwritten', 2, null, 3000);
  const b = agg.takeBatch([])!;
  t.same(b.executables.map((e) => [e.exe, e.count]), [['/bin/sh', 1], ['/bin/ls', 1]]);
  t.same(b.unattributed, [{ comm: 'ls', exe: '/bin/ls', reason: 'exited', count: 2, firstSeen: 4000, lastSeen: 5000 }]);
  t.same(b.lost, [{ source: 'kmsg', reason: 'overwritten', count: 7 }]);
  // and each loss with the interval it is charged to, for the store's timeline
  t.same(b.losses, [{ source: 'kmsg', reason: 'overwritten', count: 5, from: 1000, to: 2000 }, { source: 'kmsg', reason: 'overwritten', count: 2, from: null, to: 3000 }]);
  t.equal(agg.takeBatch([]), null, 'all handed over');
});

const other: Workload = { ...web, key: `container:${'b'.repeat(64)}`, containerId: 'b'.repeat(64), pod: 'job-1' };

t.test('an idle workload gives up its counters, keeps its keys, and is forgotten after a day', async (t) => {
  const fresh: string[] = [];
  const agg = new SyscallAggregate({ nodeName: 'n', onNewKey: (w, k) => fresh.push(`${w.pod}:${k.syscallNr}`) });
  feed([line(100, 0), line(101, 1)], (rec) => agg.add(web, rec, 'cache', 0));
  feed([line(100, 0)], (rec) => agg.add(other, rec, 'cache', 0));
  agg.takeBatch([]);
  t.equal(agg.activeWorkloads, 2);
  // record time, not the wall clock, says what is idle: an old log is replayed in seconds
  feed([line(101 + EVICT_IDLE_MS / 1000, 0)], (rec) => agg.add(other, rec, 'cache', 0));
  agg.takeBatch([]);
  t.equal(agg.activeWorkloads, 1, 'web idle for the eviction window: counters gone');
  t.equal(agg.workloads, 2);
  t.equal(agg.keys, 3, 'its keys still count');
  feed([line(101 + EVICT_IDLE_MS / 1000 + 1, 1), line(101 + EVICT_IDLE_MS / 1000 + 2, 2)], (rec) => agg.add(web, rec, 'cache', 0));
  const b = agg.takeBatch([])!;
  t.same(fresh, ['web-1:0', 'web-1:1', 'job-1:0', 'web-1:2'], 'a key seen before eviction is not new again');
  t.same(rowsOf(b.columns!).map((s) => [s.workload === web.key, s.syscallNr, s.count, s.comm]), [[true, 1, 1, null], [true, 2, 1, 'nginx']],
    'a revived key counts from zero and sends no second sample');
  t.equal(agg.keys, 4);
  feed([line(100 + FORGET_IDLE_MS / 1000 + 1000, 0)], (rec) => agg.add(other, rec, 'cache', 0));
  agg.takeBatch([]);
  t.equal(agg.workloads, 1, 'web silent for a day is forgotten');
  t.equal(agg.newKeys, 4, 'what was ever new still counts');
  t.equal(agg.keys, 1);
});

t.test('x32 numbers and a missing number are keys of their own', async (t) => {
  const fresh: number[] = [];
  const agg = new SyscallAggregate({ nodeName: 'n', onNewKey: (_w, k) => fresh.push(k.syscallNr) });
  const x32 = (0x40000000 + 1).toString();
  const lines = [line(1, 1), line(2, Number(x32)), line(3, Number(x32)), line(4, 0x0f0002)];
  feed(lines, (rec) => agg.add(web, rec, 'cache', 0));
  t.same(fresh, [1, 0x40000001, 0x0f0002]);
  t.same(rowsOf(agg.takeBatch([])!.columns!).map((s) => [s.syscallNr, s.count]), [[1, 1], [0x40000001, 2], [0x0f0002, 1]]);
});
