import { rowsOf, SyscallColumnsBuilder } from '../../src/types/syscall-columns.js';
import t from 'tap';
import { EVICT_IDLE_MS, FORGET_IDLE_MS, SyscallAggregate } from '../../src/aggregate/syscall-aggregate.js';
import { KeyArena, WorkloadKeys } from '../../src/aggregate/workload-keys.js';
import type { Workload } from '../../src/attribute/workload.js';
import { SeccompLineParser } from '../../src/parse/seccomp-line-parser.js';
import { ABSENT, SECCOMP_ACTIONS, type SeccompAction, type SeccompRecordView } from '../../src/types/seccomp-record.js';

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
  feed([line(10, 0), line(11, 0), line(12, 1), line(9, 0), line(13, 0, { code: '0x50000' })], (rec) => agg.add(web, rec, 'cache'));
  t.same(fresh, ['web-1:0:log', 'web-1:1:log', 'web-1:0:errno'], 'a new key is reported once; an action makes its own key');
  const b1 = agg.takeBatch([{ source: 'kmsg', position: 'boot:42' }])!;
  t.same(b1.positions, [{ source: 'kmsg', position: 'boot:42' }]);
  t.match(b1.workloads, [{ key: web.key, namespace: 'shop', pod: 'web-1', container: 'nginx', node: 'node-1', firstSeen: 9000, lastSeen: 13000 }]);
  t.same(rowsOf(b1.columns!).map((s) => [s.syscallNr, s.action, s.count, s.firstSeen, s.lastSeen, s.comm]), [
    [0, 'log', 3, 9000, 11000, 'nginx'], [1, 'log', 1, 12000, 12000, 'nginx'], [0, 'errno', 1, 13000, 13000, 'nginx'],
  ]);
  feed([line(20, 1)], (rec) => agg.add(web, rec, 'cache'));
  const b2 = agg.takeBatch([])!;
  t.same(rowsOf(b2.columns!).map((s) => [s.syscallNr, s.count, s.comm]), [[1, 1, null]], 'only the changed key, its delta, the sample only once');
  t.equal(agg.keys, 3);
});

t.test('executables per new process, unattributed by comm/exe/reason, lost records', async (t) => {
  const agg = new SyscallAggregate({ nodeName: 'n' });
  feed([line(1, 0, { exe: '/bin/sh' }), line(2, 0, { exe: '/bin/sh' }), line(3, 0, { exe: '/bin/ls' })], (rec) => agg.add(web, rec, rec.time === 2000 ? 'cache' : 'proc'));
  feed([line(4, 0, { comm: 'ls', exe: '/bin/ls' }), line(5, 0, { comm: 'ls', exe: '/bin/ls' })], (rec) => agg.addUnattributed(rec, 'exited'));
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

t.test('a record without a time of its own is counted at the clock of advance()', async (t) => {
  const agg = new SyscallAggregate({ nodeName: 'n' });
  agg.advance(5_000);
  agg.add(web, view(ABSENT, 0xc000003e, 1, 'log', 'nginx'), 'cache');
  agg.advance(7_000);
  agg.add(web, view(ABSENT, 0xc000003e, 1, 'log', 'nginx'), 'cache');
  agg.add(web, view(6_000, 0xc000003e, 1, 'log', 'nginx'), 'cache');
  agg.addUnattributed(view(ABSENT, 0xc000003e, 2, 'log', 'ls'), 'exited');
  const b = agg.takeBatch([])!;
  t.same(rowsOf(b.columns!).map((s) => [s.syscallNr, s.count, s.firstSeen, s.lastSeen]), [[1, 3, 5_000, 7_000]], 'the clock when it was counted; a record\'s own time beside it');
  t.same(b.unattributed.map((u) => [u.count, u.firstSeen, u.lastSeen]), [[1, 7_000, 7_000]]);
});

t.test('an idle workload gives up its counters, keeps its keys, and is forgotten after a day', async (t) => {
  const fresh: string[] = [];
  const agg = new SyscallAggregate({ nodeName: 'n', onNewKey: (w, k) => fresh.push(`${w.pod}:${k.syscallNr}`) });
  feed([line(100, 0), line(101, 1)], (rec) => agg.add(web, rec, 'cache'));
  feed([line(100, 0)], (rec) => agg.add(other, rec, 'cache'));
  agg.takeBatch([]);
  t.equal(agg.activeWorkloads, 2);
  // record time, not the wall clock, says what is idle: an old log is replayed in seconds
  feed([line(101 + EVICT_IDLE_MS / 1000, 0)], (rec) => agg.add(other, rec, 'cache'));
  agg.takeBatch([]);
  t.equal(agg.activeWorkloads, 1, 'web idle for the eviction window: counters gone');
  t.equal(agg.workloads, 2);
  t.equal(agg.keys, 3, 'its keys still count');
  feed([line(101 + EVICT_IDLE_MS / 1000 + 1, 1), line(101 + EVICT_IDLE_MS / 1000 + 2, 2)], (rec) => agg.add(web, rec, 'cache'));
  const b = agg.takeBatch([])!;
  t.same(fresh, ['web-1:0', 'web-1:1', 'job-1:0', 'web-1:2'], 'a key seen before eviction is not new again');
  t.same(rowsOf(b.columns!).map((s) => [s.workload === web.key, s.syscallNr, s.count, s.comm]), [[true, 1, 1, null], [true, 2, 1, 'nginx']],
    'a revived key counts from zero and sends no second sample');
  t.equal(agg.keys, 4);
  feed([line(100 + FORGET_IDLE_MS / 1000 + 1000, 0)], (rec) => agg.add(other, rec, 'cache'));
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
  feed(lines, (rec) => agg.add(web, rec, 'cache'));
  t.same(fresh, [1, 0x40000001, 0x0f0002]);
  t.same(rowsOf(agg.takeBatch([])!.columns!).map((s) => [s.syscallNr, s.count]), [[1, 1], [0x40000001, 2], [0x0f0002, 1]]);
});

/** A record view without a parser: what add() reads. */
function view(time: number, auditArch: number, syscallNr: number, action: SeccompAction, comm: string): SeccompRecordView {
  return { time, auditArch, syscallNr, action, comm: () => comm, exe: () => `/bin/${comm}` } as unknown as SeccompRecordView;
}

t.test('batches agree with a plain model through growth, many tables, eviction, revival and forgetting', async (t) => {
  // mulberry32: the same stream every run
  let seed = 11;
  const random = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) % n;
  };
  const arches = [0xc000003e, 0x40000003, 0xc00000b7];
  const workloads = Array.from({ length: 120 }, (_, i): Workload => ({ ...web, key: `container:${i}`, containerId: String(i), pod: `p-${i}` }));
  const agg = new SyscallAggregate({ nodeName: 'n' });
  interface Delta { count: number; first: number; last: number; isNew: boolean; comm: string | null }
  // a row's first and last time are its key's since the workload last held counters for it
  // (not since the last batch): `held`, emptied when the workload is evicted
  const model = new Map<string, { known: Set<string>; held: Map<string, { first: number; last: number }>; pending: Map<string, Delta>; lastSeen: number }>();
  let time = 1_000_000, clock = -1, newest = -1, batches = 0;
  const mismatches: string[] = [];
  const take = (): void => {
    const b = agg.takeBatch([]);
    const got = new Map<string, Delta>();
    for (const r of b === null || b.columns === undefined ? [] : rowsOf(b.columns)) {
      got.set(`${r.workload}|${r.auditArch}:${r.syscallNr}:${r.action}`, { count: r.count, first: r.firstSeen, last: r.lastSeen, isNew: r.isNew === true, comm: r.comm });
    }
    const want = new Map<string, Delta>();
    for (const [w, m] of model) {
      for (const [k, d] of m.pending) {
        const h = m.held.get(k)!;
        want.set(`${w}|${k}`, { ...d, first: h.first, last: h.last });
      }
      m.pending = new Map();
    }
    if (newest > clock) clock = newest;
    newest = -1;
    for (const [w, m] of model) {
      if (clock - m.lastSeen >= FORGET_IDLE_MS) model.delete(w);
      else if (clock - m.lastSeen >= EVICT_IDLE_MS) m.held.clear();
    }
    batches++;
    for (const [k, d] of want) if (JSON.stringify(got.get(k)) !== JSON.stringify(d)) mismatches.push(`batch ${batches} ${k}: want ${JSON.stringify(d)} got ${JSON.stringify(got.get(k))}`);
    for (const k of got.keys()) if (!want.has(k)) mismatches.push(`batch ${batches} ${k}: not expected`);
    let keys = 0;
    for (const m of model.values()) keys += m.known.size;
    if (agg.keys !== keys) mismatches.push(`batch ${batches}: ${agg.keys} keys, want ${keys}`);
  };
  for (let i = 0; i < 60_000; i++) {
    // mostly small steps; now and then past the eviction window, twice past a day
    const jump = random(4000);
    time += jump === 0 ? EVICT_IDLE_MS + 1000 : jump === 1 && i > 20_000 && i < 40_000 && random(4) === 0 ? FORGET_IDLE_MS : random(50);
    // a few busy workloads and a long tail, so some idle while others run
    const wi = random(3) === 0 ? random(workloads.length) : random(12);
    const workload = workloads[wi]!;
    const arch = arches[(wi + (random(5) === 0 ? 1 : 0)) % arches.length]!;
    const r = random(100);
    const nr = r < 2 ? 0x40000000 + random(20) : r < 3 ? 0x0f0000 + random(8) : r < 4 ? -1 : random(wi % 3 === 0 ? 900 : 150);
    const action = SECCOMP_ACTIONS[random(10) === 0 ? random(SECCOMP_ACTIONS.length) : 0]!;
    const comm = `c${random(3)}`;
    agg.add(workload, view(time, arch, nr, action, comm), 'cache');
    if (time > newest) newest = time;
    let m = model.get(workload.key);
    if (m === undefined) model.set(workload.key, m = { known: new Set(), held: new Map(), pending: new Map(), lastSeen: time });
    if (time > m.lastSeen) m.lastSeen = time;
    const k = `${arch}:${nr}:${action}`;
    const h = m.held.get(k);
    if (h === undefined) m.held.set(k, { first: time, last: time });
    else {
      if (time < h.first) h.first = time;
      if (time > h.last) h.last = time;
    }
    let d = m.pending.get(k);
    if (d === undefined) {
      const isNew = !m.known.has(k);
      m.pending.set(k, d = { count: 0, first: time, last: time, isNew, comm: isNew ? comm : null });
      m.known.add(k);
    }
    d.count++;
    if (random(400) === 0) take();
  }
  take();
  t.same(mismatches.slice(0, 10), [], `${batches} batches, ${agg.keys} keys held`);
  t.ok(batches > 100);
  t.ok(agg.newKeys > 10_000, `${agg.newKeys} new keys`);
});

/**
 * 300 workloads' keys in `arena`: 200 numbers under two actions each (two tables, and growth past
 * the first block); `after` runs after each key is added. Returns the workloads' keys and how
 * many keys a fresh table already held.
 */
function fillArena(arena: KeyArena, after: (keys: WorkloadKeys, action: number, nr: number) => void, timeBase = 1000): { held: WorkloadKeys[]; found: number } {
  const held: WorkloadKeys[] = [];
  let found = 0;
  for (let w = 0; w < 300; w++) {
    const keys = new WorkloadKeys(arena);
    for (let nr = 0; nr < 200; nr++) {
      for (const action of [0, 1]) {
        if (keys.slotOf(0, action, nr) !== -1) found++;
        keys.add(0xc000003e, action, nr, timeBase + nr, null, null, false);
        after(keys, action, nr);
      }
    }
    held.push(keys);
  }
  return { held, found };
}

t.test('the key arena: pages and counters released are used again, pages cleared', async (t) => {
  const arena = new KeyArena();
  let lost = 0;
  const first = fillArena(arena, (keys, action, nr) => {
    if (keys.slotOf(0, action, nr) !== 2 * nr + action) lost++;
  });
  t.equal(first.found, 0, 'new pages hold nothing');
  t.equal(lost, 0, 'each key found where it was put, the arena grown or not');
  t.same(arena.used, { pages: 600, blocks: 300 });
  const tables = arena.tables.length, nums = arena.nums.length;
  for (const keys of first.held) keys.release();
  t.same(arena.used, { pages: 0, blocks: 0 });
  const { held, found } = fillArena(arena, (keys, action, nr) => keys.count(keys.slotOf(0, action, nr)), 3000);
  t.equal(found, 0, 'reused pages hold nothing of their last workload');
  const rows = new SyscallColumnsBuilder();
  held[7]!.takeDeltas('w', rows, new Float64Array(SECCOMP_ACTIONS.length));
  const c = rows.finish();
  t.same([c.length, c.syscallNr[399], c.numbers[3 * 399], c.numbers[3 * 399 + 1], c.numbers[3 * 399 + 2]], [400, 199, 2, 3199, 3199], 'reused counters start afresh: the count and times of this workload\'s own records, not the last one\'s');
  t.equal(arena.tables.length, tables, 'no more tables than the first time');
  t.equal(arena.nums.length, nums, 'no more counters than the first time');
});

t.test('a held batch keeps back the workloads still running, and the batches add up to one', async (t) => {
  const minute = 60_000;
  const hold = { idleMs: 10 * minute, maxRows: 100 };
  const make = () => new SyscallAggregate({ nodeName: 'n' });
  const held = make(), whole = make();
  // the job ran at the start; the web server runs throughout
  const records: [Workload, string][] = [
    [other, line(0, 0)], [other, line(60, 1)], [web, line(60, 0)], [web, line(120, 1)],
    [web, line(30 * 60, 2)],
  ];
  const feedInto = (agg: SyscallAggregate, from: number, to: number) => {
    for (const [w, l] of records.slice(from, to)) feed([l], (rec) => agg.add(w, rec, 'cache'));
  };
  feedInto(held, 0, 4);
  feedInto(whole, 0, 5);
  // 2 minutes into the log both ran within the last ten minutes: nothing is taken
  const first = held.takeBatch([], hold)!;
  t.same(first.workloads, [], 'both still running');
  t.equal(held.pendingRows, 4, 'their rows stay pending');
  feedInto(held, 4, 5);
  // at 30 minutes the job has been idle for 29: it goes, the web server (a record now) stays
  const second = held.takeBatch([], hold)!;
  t.same(second.workloads.map((w) => w.pod), ['job-1']);
  t.same(rowsOf(second.columns!).map((r) => [r.syscallNr, r.count]), [[0, 1], [1, 1]]);
  const last = held.takeBatch([])!;
  t.same(last.workloads.map((w) => w.pod), ['web-1'], 'the last batch takes everything');
  const rows = (cols: NonNullable<typeof last.columns>[]) => cols.flatMap((c) => rowsOf(c)).map((r) => [r.workload, r.syscallNr, r.count, r.firstSeen, r.lastSeen, r.comm]).sort();
  t.same(rows([second.columns!, last.columns!]), rows([whole.takeBatch([])!.columns!]), 'the same rows as one batch, each key once');
  t.same([...held.actionCounts()], [...whole.actionCounts()]);

  const crowded = make();
  feedInto(crowded, 0, 4);
  t.equal(crowded.takeBatch([], { idleMs: 10 * minute, maxRows: 3 })!.workloads.length, 2, 'more held rows than maxRows: everything is taken');
  t.throws(() => crowded.takeBatch([{ source: 'kmsg', position: '1' }], hold), /held back only when no position/);
});

t.test('a workload row counts its records after the newest new key', async (t) => {
  const agg = new SyscallAggregate({ nodeName: 'n' });
  feed([line(1, 0), line(2, 0), line(3, 1), line(4, 0), line(5, 1), line(6, 0)], (rec) => agg.add(web, rec, 'cache'));
  t.equal(agg.takeBatch([])!.workloads[0]!.recordsSinceNewKey, 3, 'three records after the one that brought syscall 1');
  feed([line(7, 0), line(8, 2)], (rec) => agg.add(web, rec, 'cache'));
  t.equal(agg.takeBatch([])!.workloads[0]!.recordsSinceNewKey, 0, 'the newest key came last');
});
