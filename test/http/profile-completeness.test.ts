import t, { type Test } from 'tap';
import { join } from 'node:path';
import { buildApp } from '../../src/http/app.js';
import { RecordPipeline } from '../../src/ingest/record-pipeline.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { containerKey, syscall, workload } from '../store/batches.js';
import { makeNode, recordLine, type FakeContainer } from '../ingest/fake-node.js';

/**
 * The profile routes against a real SQLite file, filled by the real pipeline and commit: a
 * profile whose learning window overlaps a loss is refused by default, and says so everywhere
 * when taken anyway.
 */
const WEB: FakeContainer = { namespace: 'shop', pod: 'web-1', podUid: '00000000-0000-0000-0000-000000000001', container: 'nginx', id: 'a'.repeat(64), pid: 4101 };
const MIN = 60_000;
const T0 = 1_700_000_000_000;
const PROFILE = '/api/v1/namespaces/shop/pods/web-1/profile';

/** A line of another program (cron), whose pid this node has no process for: unattributed. */
function cronLine(timeMs: number): string {
  return recordLine(9999, 0, 'log', timeMs).replace('comm="app" exe="/usr/bin/app"', 'comm="cron" exe="/usr/sbin/cron"');
}

/** The daemon's path for one source: pipeline → batch → commit, one batch per call of `feed`. */
function learn(t: Test, young?: { minWindowMs: number; minRecords: number }) {
  const dir = makeTempDir('sa-complete-');
  const { procRoot, logDir } = makeNode(dir, [WEB]);
  const store = SyscallStore.open({ path: join(dir, 'a.db') });
  const pipeline = new RecordPipeline({ source: 'kmsg', procRoot, logDir, nodeName: 'node-a', events: { onNewSyscall() {}, onLostSignal() {}, onMalformed() {} } });
  pipeline.start({ watch: false });
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store, ...(young !== undefined ? { young } : {}) });
  t.teardown(async () => {
    await app.close();
    pipeline.stop();
    store.close();
  });
  let seq = 0;
  const feed = (lines: string[]): void => {
    pipeline.push(Buffer.from(lines.join('')));
    pipeline.end();
    const batch = pipeline.takeBatch([{ source: 'kmsg', position: `boot:${++seq}` }]);
    if (batch !== null) store.commitBatch(batch);
  };
  return { app, store, feed };
}

t.test('a printk_suppressed signal that arrives after the window\'s last record but covers it: 409 by default', async (t) => {
  const { app, feed } = learn(t);
  // the pod's records that got through the rate limit, committed on their own
  feed([recordLine(WEB.pid, 0, 'log', T0), recordLine(WEB.pid, 1, 'log', T0 + 300), recordLine(WEB.pid, 2, 'log', T0 + 400)]);
  const before = await app.inject({ url: PROFILE });
  t.equal(before.statusCode, 200, 'before the signal, nothing is known to be lost');
  t.equal(before.headers['x-learned-complete'], 'true');

  // 27 s later the kernel prints its next record (another program's), with the count of what it
  // suppressed after the last one it printed
  feed(['kauditd_printk_skb: 12688 callbacks suppressed\n', cronLine(T0 + 27_400)]);
  const refused = await app.inject({ url: PROFILE });
  t.equal(refused.statusCode, 409);
  const body = refused.json() as { code: string; message: string };
  t.equal(body.code, 'SA_PROFILE_INCOMPLETE');
  t.match(body.message, /pod shop\/web-1 is incomplete/);
  t.match(body.message, /12688 records lost by kmsg \(printk_suppressed\) between 2023-11-14T22:13:20\.400Z and 2023-11-14T22:13:47\.400Z/, 'what, how many and when');
  t.match(body.message, /CAP_AUDIT_READ and hostNetwork: true/, 'how to fix the cause');
  t.match(body.message, /learn again/);
  t.match(body.message, /\?allowIncomplete=true/, 'how to take it anyway');

  const taken = await app.inject({ url: `${PROFILE}?allowIncomplete=true&explain=true` });
  t.equal(taken.statusCode, 200);
  t.equal(taken.headers['x-learned-complete'], 'false', 'marked');
  t.equal(taken.headers['x-learned-lost'], 'kmsg/printk_suppressed=12688');
  t.equal(taken.headers['x-learned-records'], '3');
  t.equal(taken.headers['x-learned-from'], '2023-11-14T22:13:20.000Z');
  t.equal(taken.headers['x-learned-to'], '2023-11-14T22:13:20.400Z');
  t.match(taken.json(), {
    explain: { learned: { records: 3, complete: false, losses: [{ source: 'kmsg', reason: 'printk_suppressed', count: 12688, from: '2023-11-14T22:13:20.400Z', to: '2023-11-14T22:13:47.400Z' }] } },
  });
  // the workload route judges the same window the same way
  t.equal((await app.inject({ url: '/api/v1/namespaces/shop/workloads/web/profile' })).statusCode, 409);
});

t.test('a loss before the window (beyond the minute of margin) leaves the profile complete', async (t) => {
  const { app, feed } = learn(t);
  feed([cronLine(T0), 'kauditd_printk_skb: 40 callbacks suppressed\n', cronLine(T0 + 1000)]);
  feed([recordLine(WEB.pid, 0, 'log', T0 + 5 * MIN), recordLine(WEB.pid, 1, 'log', T0 + 6 * MIN)]);
  const res = await app.inject({ url: `${PROFILE}?explain=true` });
  t.equal(res.statusCode, 200);
  t.equal(res.headers['x-learned-complete'], 'true');
  t.equal(res.headers['x-learned-lost'], 'none');
  t.match(res.json(), { explain: { learned: { complete: true, losses: [] } } });

  // the same loss within a minute of the window's start counts: the pod's first calls may be in it
  const { app: near, feed: feedNear } = learn(t);
  feedNear([cronLine(T0), 'kauditd_printk_skb: 40 callbacks suppressed\n', cronLine(T0 + 1000)]);
  feedNear([recordLine(WEB.pid, 0, 'log', T0 + 50_000), recordLine(WEB.pid, 1, 'log', T0 + 6 * MIN)]);
  t.equal((await near.inject({ url: PROFILE })).statusCode, 409);
});

t.test('young: a short window or few records is marked, still returned; thresholds are the daemon\'s', async (t) => {
  const { app, feed } = learn(t);
  feed([recordLine(WEB.pid, 0, 'log', T0), recordLine(WEB.pid, 1, 'log', T0 + 2 * MIN)]);
  const res = await app.inject({ url: `${PROFILE}?explain=true` });
  t.equal(res.statusCode, 200, 'young is not refused');
  t.equal(res.headers['x-learned-young'], 'true');
  t.match(res.json(), { explain: { learned: { young: true, thresholds: { minWindowMinutes: 10, minRecords: 1000 } } } });

  const { app: lenient, feed: feedLenient } = learn(t, { minWindowMs: MIN, minRecords: 2 });
  feedLenient([recordLine(WEB.pid, 0, 'log', T0), recordLine(WEB.pid, 1, 'log', T0 + 2 * MIN)]);
  const grown = await lenient.inject({ url: PROFILE });
  t.equal(grown.headers['x-learned-young'], 'false', '2 records over 2 minutes is enough under these thresholds');
});

t.test('the SPO object carries what it was learned from in its annotations', async (t) => {
  const { app, feed } = learn(t);
  feed([recordLine(WEB.pid, 0, 'log', T0), recordLine(WEB.pid, 1, 'log', T0 + 300)]);
  feed(['kauditd_printk_skb: 7 callbacks suppressed\n', cronLine(T0 + 9000)]);
  const res = await app.inject({ url: `${PROFILE}?format=spo&allowIncomplete=true` });
  t.equal(res.statusCode, 200);
  const yaml = res.body;
  t.match(yaml, /\n {2}annotations:\n/);
  t.match(yaml, /\n {4}seccomp-auditor\.io\/complete: "false"\n/);
  t.match(yaml, /\n {4}seccomp-auditor\.io\/lost: "kmsg\/printk_suppressed=7"\n/);
  t.match(yaml, /\n {4}seccomp-auditor\.io\/young: "true"\n/);
  t.match(yaml, /\n {4}seccomp-auditor\.io\/learned-records: "2"\n/);
  t.ok(yaml.indexOf('annotations:') < yaml.indexOf('spec:'), 'under metadata');
  t.equal((await app.inject({ url: `${PROFILE}?format=spo` })).statusCode, 409, 'and refused without allowIncomplete');
});

t.test('unattributed records of the pod\'s executables within the window are reported', async (t) => {
  const { app, feed } = learn(t);
  // pid 9998 is gone: its record (same comm and exe as the pod's) cannot be attributed
  feed([recordLine(WEB.pid, 0, 'log', T0), recordLine(9998, 3, 'log', T0 + 100), recordLine(9998, 4, 'log', T0 + 150), recordLine(WEB.pid, 1, 'log', T0 + 300)]);
  const res = await app.inject({ url: `${PROFILE}?explain=true` });
  t.equal(res.statusCode, 200, 'reported, not refused: the store cannot tell a host\'s copy of a program from the pod\'s');
  t.equal(res.headers['x-learned-unattributed'], '2');
  t.match(res.json(), { explain: { learned: { complete: true, unattributed: [{ comm: 'app', exe: '/usr/bin/app', count: 2 }] } } });
});

t.test('the units route refuses an incomplete profile the same way', async (t) => {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-unit-'), 'u.db') });
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store });
  t.teardown(async () => { await app.close(); store.close(); });
  const unit = 'unit:nginx.service';
  store.commitBatch({
    workloads: [workload(unit, { firstSeen: T0, lastSeen: T0 + MIN })],
    syscalls: [syscall(unit, 0, { count: 5, firstSeen: T0, lastSeen: T0 + MIN })],
    executables: [], unattributed: [],
    lost: [{ source: 'audit', reason: 'socket_overrun', count: 3 }],
    losses: [{ source: 'audit', reason: 'socket_overrun', count: 3, from: T0 + 10_000, to: T0 + 10_500 }],
    positions: [],
  });
  const refused = await app.inject({ url: '/api/v1/units/nginx.service/profile' });
  t.equal(refused.statusCode, 409);
  t.match(refused.json(), { code: 'SA_PROFILE_INCOMPLETE', message: /host unit nginx\.service is incomplete.*3 records lost by audit \(socket_overrun\).*net\.core\.rmem_max/ });
  const dropIn = await app.inject({ url: '/api/v1/units/nginx.service/profile?format=systemd&allowIncomplete=true' });
  t.equal(dropIn.statusCode, 200);
  t.equal(dropIn.headers['x-learned-lost'], 'audit/socket_overrun=3');
  // a container's profile on the same node, learned at another time, is not affected
  const other = containerKey(7);
  store.commitBatch({
    workloads: [workload(other, { namespace: 'shop', pod: 'db-0', container: 'pg', firstSeen: T0 + 30 * MIN, lastSeen: T0 + 31 * MIN })],
    syscalls: [syscall(other, 0, { firstSeen: T0 + 30 * MIN, lastSeen: T0 + 31 * MIN })],
    executables: [], unattributed: [], lost: [], positions: [],
  });
  t.equal((await app.inject({ url: '/api/v1/namespaces/shop/pods/db-0/profile' })).headers['x-learned-complete'], 'true');
});
