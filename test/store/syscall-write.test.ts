import t from 'tap';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { StoreError } from '../../src/store/store-error.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import type { FlushBatch, SyscallDelta } from '../../src/types/flush-batch.js';
import { SECCOMP_ACTIONS } from '../../src/types/seccomp-record.js';
import { IS_NEW_FALSE, IS_NEW_TRUE, IS_NEW_UNSET, SyscallColumnsBuilder } from '../../src/types/syscall-columns.js';
import { AUDIT_ARCH_I386, AUDIT_ARCH_X86_64, batch, containerKey, syscall, workload } from './batches.js';
import { tempDir } from './scratch-mounts.js';

/**
 * The syscall rows' write against a plain model of what it must store: a sequence of batches
 * through the store, and the same rows applied one by one to Maps, compared after each batch
 * (the syscalls table whole, and every workload's summary).
 */

interface ModelRow { count: number; firstSeen: number; lastSeen: number; comm: string | null; exe: string | null }
interface ModelWorkload {
  rows: Map<string, ModelRow>;
  syscalls: number;
  records: number;
  violations: number;
  lastNewSyscallAt: number | null;
  recordsAtLastNew: number;
}

class Model {
  readonly workloads = new Map<string, ModelWorkload>();

  /** `rows` in the order the store takes them: the batch's objects, then its columns. */
  apply(described: readonly string[], rows: readonly SyscallDelta[]): void {
    for (const key of described) {
      if (!this.workloads.has(key)) this.workloads.set(key, { rows: new Map(), syscalls: 0, records: 0, violations: 0, lastNewSyscallAt: null, recordsAtLastNew: 0 });
    }
    const newCalls = new Map<string, { calls: number; newest: number }>();
    for (const r of rows) {
      const w = this.workloads.get(r.workload)!;
      const key = `${r.auditArch}/${r.syscallNr}/${r.action}`;
      const stored = w.rows.get(key);
      if (stored !== undefined) {
        stored.count += r.count;
        stored.firstSeen = Math.min(stored.firstSeen, r.firstSeen);
        stored.lastSeen = Math.max(stored.lastSeen, r.lastSeen);
        if (stored.comm === null && stored.exe === null) {
          stored.comm = r.comm;
          stored.exe = r.exe;
        }
      } else {
        const call = `${r.auditArch}/${r.syscallNr}/`;
        if (![...w.rows.keys()].some((k) => k.startsWith(call))) {
          const n = newCalls.get(r.workload) ?? { calls: 0, newest: 0 };
          n.calls++;
          n.newest = Math.max(n.newest, r.firstSeen);
          newCalls.set(r.workload, n);
        }
        w.rows.set(key, { count: r.count, firstSeen: r.firstSeen, lastSeen: r.lastSeen, comm: r.comm, exe: r.exe });
      }
      w.records += r.count;
      if (r.action !== 'log') w.violations += r.count;
    }
    for (const [key, n] of newCalls) {
      const w = this.workloads.get(key)!;
      w.syscalls += n.calls;
      w.lastNewSyscallAt = Math.max(w.lastNewSyscallAt ?? 0, n.newest);
      w.recordsAtLastNew = w.records;
    }
  }

  forget(keys: readonly string[]): void {
    for (const k of keys) this.workloads.delete(k);
  }

  syscalls(): unknown[] {
    const out: unknown[] = [];
    for (const [workload, w] of this.workloads) {
      for (const [key, r] of w.rows) {
        const [arch, nr, action] = key.split('/');
        out.push([workload, Number(arch), Number(nr), action, r.count, r.firstSeen, r.lastSeen, r.comm, r.exe]);
      }
    }
    return out.sort(byJson);
  }

  summaries(): unknown[] {
    return [...this.workloads].map(([key, w]) => [key, w.syscalls, w.records, w.violations, w.lastNewSyscallAt, w.recordsAtLastNew]).sort(byJson);
  }
}

const byJson = (a: unknown, b: unknown): number => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1);

function stored(path: string): { syscalls: unknown[]; summaries: unknown[] } {
  const db = new Database(path, { readonly: true });
  try {
    return {
      syscalls: (db.prepare(`SELECT w.key, s.audit_arch, s.syscall_nr, s.action, s.count, s.first_seen, s.last_seen, s.comm, s.exe
        FROM syscalls s JOIN workloads w ON w.id = s.workload_id`).raw().all()).sort(byJson),
      summaries: (db.prepare(`SELECT w.key, m.syscalls, m.records, m.violations, m.last_new_syscall_at, m.records_at_last_new
        FROM workload_summaries m JOIN workloads w ON w.id = m.workload_id`).raw().all()).sort(byJson),
    };
  } finally {
    db.close();
  }
}

const ACTION_INDEX = new Map<string, number>(SECCOMP_ACTIONS.map((a, i) => [a, i]));

/**
 * Rows in columns, a run per element, in the order given: one workload may have several runs
 * (the builder starts a new one at each workload() call).
 */
function columns(runs: SyscallDelta[][]): FlushBatch['columns'] {
  const b = new SyscallColumnsBuilder(16);
  for (const run of runs) {
    b.workload(run[0]!.workload);
    for (const r of run) {
      b.push(r.auditArch, r.syscallNr, ACTION_INDEX.get(r.action)!, r.count, r.firstSeen, r.lastSeen, r.comm, r.exe,
        r.isNew === undefined ? IS_NEW_UNSET : r.isNew ? IS_NEW_TRUE : IS_NEW_FALSE);
    }
  }
  return b.finish();
}

const A = containerKey(1), B = containerKey(2), C = containerKey(3), D = containerKey(4);
const pod = (key: string) => workload(key, { namespace: 'ns', pod: `pod-${key.slice(-1)}`, container: 'c' });
const X32 = 0x40000000;

t.test('syscall rows and summaries equal a row-by-row model, whatever path each row takes', (t) => {
  const store = SyscallStore.open({ path: join(tempDir(t), 'w.db') });
  t.teardown(() => store.close());
  const model = new Model();
  /** commits `objects` (FlushBatch.syscalls) and then `runs` (columns), checks against the model */
  const step = (name: string, described: string[], objects: SyscallDelta[], runs: SyscallDelta[][]): void => {
    store.commitBatch(batch({ workloads: described.map(pod), syscalls: objects, columns: runs.length > 0 ? columns(runs) : undefined }));
    model.apply(described, [...objects, ...runs.flat()]);
    const s = stored(store.path);
    t.same(s.syscalls, model.syscalls(), `${name}: syscalls`);
    t.same(s.summaries, model.summaries(), `${name}: summaries`);
  };

  // 150 rows of a workload new to the database: multi-row statements and a remainder; two
  // arches, an x32 number, a negative one, a call under two actions, a key twice in one run
  // (its second row neither new nor with a sample of its own... nor the first's)
  const first: SyscallDelta[] = Array.from({ length: 140 }, (_, n) => syscall(A, n, { count: 1 + (n % 3), firstSeen: 1000 + n, lastSeen: 2000 + n, isNew: true }));
  first.push(
    syscall(A, 5, { action: 'errno', count: 4, firstSeen: 900, isNew: true }),
    syscall(A, 7, { count: 2, firstSeen: 500, lastSeen: 3000, comm: 'other', exe: '/bin/other', isNew: false }),
    syscall(A, X32 + 1, { count: 2, isNew: true }),
    syscall(A, -1, { count: 1, isNew: true }),
    syscall(A, 3, { auditArch: AUDIT_ARCH_I386, count: 6, firstSeen: 5000, isNew: true }),
    syscall(A, 3, { auditArch: AUDIT_ARCH_I386, action: 'kill_process', count: 1, isNew: true }),
    syscall(A, 200, { count: 1, firstSeen: 1200, comm: null, exe: null, isNew: true }),
    syscall(A, 200, { count: 1, firstSeen: 1100, comm: 'late', exe: '/bin/late', isNew: true }),
  );
  // no hints at all: every row updated first, then inserted
  const unhinted = Array.from({ length: 70 }, (_, n) => syscall(B, n * 2, { count: 2, firstSeen: 3000 + n }));
  step('new workloads', [A, B], [], [first, unhinted]);

  // keys stored by the first batch sent again as new (a restarted daemon's aggregate), beside
  // new ones; a call stored under log arriving under errno; A in two runs of the columns and in
  // the batch's objects too, its later runs repeating keys its earlier ones inserted
  const again = Array.from({ length: 100 }, (_, n) => syscall(A, 100 + n, { count: 1, firstSeen: 6000 + n, lastSeen: 7000, comm: 'again', exe: '/bin/again', isNew: true }));
  again.push(syscall(A, 10, { action: 'errno', count: 3, firstSeen: 6500, isNew: true }), syscall(A, 11, { count: 5, isNew: false }));
  step('stored keys marked new, two runs of one workload', [A, B, C],
    [syscall(A, 250, { count: 1, firstSeen: 6100, isNew: true }), syscall(B, 1, { count: 1, firstSeen: 6200 })],
    [
      again,
      Array.from({ length: 66 }, (_, n) => syscall(C, n, { count: 1, firstSeen: 7000 + n, isNew: n % 2 === 0 })),
      [syscall(A, 250, { count: 2, firstSeen: 6050, isNew: true }), syscall(A, 251, { count: 1, firstSeen: 6300, isNew: true }), syscall(A, 10, { action: 'errno', count: 1, isNew: false })],
      [syscall(B, 0, { count: 1 }), syscall(B, 300, { count: 1, firstSeen: 6400, isNew: false })],
    ]);

  // B deleted, then described again: what its aggregate thinks stored is inserted anew and
  // counted as new calls; C's first run only updates, one of them a key it never stored (a
  // dropped batch), and its second run brings new keys, one of them that key under another action
  store.deletePod('ns', pod(B).pod!);
  model.forget([B]);
  step('a deleted workload back, an update-only run before a run with new keys', [B, C], [], [
    Array.from({ length: 80 }, (_, n) => syscall(B, n, { count: 1, firstSeen: 9000 + n, isNew: n < 40 })),
    [syscall(C, 0, { count: 1, isNew: false }), syscall(C, 1, { count: 1, isNew: false }), syscall(C, 999, { count: 1, firstSeen: 9500, isNew: false })],
    [syscall(C, 999, { action: 'errno', count: 1, firstSeen: 9600, isNew: true }), syscall(C, 1000, { count: 1, firstSeen: 9400, isNew: true }), syscall(C, 0, { count: 1, isNew: true })],
  ]);

  // at random: hints right and wrong, repeats, runs split, actions and arches mixed
  let seed = 11;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const keys = [A, B, C, D];
  for (let i = 0; i < 12; i++) {
    const runs: SyscallDelta[][] = [];
    for (let r = 0; r < 1 + rand(6); r++) {
      const key = keys[rand(4)]!;
      runs.push(Array.from({ length: 1 + rand(140) }, () => syscall(key, rand(60) - 2, {
        auditArch: rand(5) === 0 ? AUDIT_ARCH_I386 : AUDIT_ARCH_X86_64, action: rand(6) === 0 ? 'errno' : 'log', count: 1 + rand(4),
        firstSeen: 10_000 + rand(5000), lastSeen: 20_000 + rand(5000), comm: rand(3) === 0 ? null : `c${rand(3)}`, exe: rand(3) === 0 ? null : `/e${rand(3)}`,
        isNew: [true, false, undefined][rand(3)],
      })));
    }
    step(`random batch ${i}`, keys, [], runs);
    if (i === 5) {
      store.deletePod('ns', pod(D).pod!);
      model.forget([D]);
    }
  }
  t.end();
});

t.test('a bad row among queued ones still fails the whole batch', (t) => {
  const store = SyscallStore.open({ path: join(tempDir(t), 'bad.db') });
  t.teardown(() => store.close());
  store.commitBatch(batch({ workloads: [pod(A)], syscalls: [syscall(A, 0, { count: 5, isNew: true })] }));
  const before = stored(store.path);
  const rows = (bad: number, fields: Partial<SyscallDelta>) => Array.from({ length: 100 }, (_, n) => syscall(A, n, { isNew: true, ...(n === bad ? fields : {}) }));
  const cases: Array<[string, FlushBatch, RegExp]> = [
    ['a count that is not a number, in a multi-row statement', batch({ workloads: [pod(A)], columns: columns([rows(10, { count: Number.NaN })]) }), /NOT NULL constraint failed: syscalls\.count/],
    ['a count that is not a number, in the remainder', batch({ workloads: [pod(A)], columns: columns([rows(90, { count: Number.NaN })]) }), /NOT NULL constraint failed: syscalls\.count/],
    ['a count that is not a number, on a key stored before', batch({ workloads: [pod(A)], columns: columns([rows(0, { count: Number.NaN })]) }), /NOT NULL constraint failed: syscalls\.count/],
    ['a negative count', batch({ workloads: [pod(A)], columns: columns([rows(3, { count: -1 })]) }), /CHECK constraint failed/],
    ['new keys of a workload nobody described', batch({ workloads: [pod(A)], columns: columns([rows(-1, {}), Array.from({ length: 70 }, (_, n) => syscall(D, n, { isNew: true }))]) }),
      new RegExp(`a delta for workload ${D}, which neither the batch nor the database describes`)],
  ];
  for (const [name, bad, message] of cases) {
    let err: unknown;
    try {
      store.commitBatch(bad);
    } catch (e) {
      err = e;
    }
    t.ok(err instanceof StoreError && err.code === 'SA_BATCH_INVALID', name);
    t.match((err as Error).message, message, name);
    t.same(stored(store.path), before, `${name}: nothing changed`);
  }
  // and the store goes on: nothing queued from a failed batch comes out with the next one
  store.commitBatch(batch({ workloads: [pod(A)], columns: columns([[syscall(A, 1, { count: 2, isNew: true })]]) }));
  t.same(stored(store.path).syscalls.map((r) => (r as unknown[]).slice(2, 5)), [[0, 'log', 5], [1, 'log', 2]]);
  t.end();
});
