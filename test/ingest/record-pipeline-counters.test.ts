import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { RecordPipeline } from '../../src/ingest/record-pipeline.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { makeNode, MALFORMED_LINE, recordLine, type FakeContainer } from './fake-node.js';

const WEB: FakeContainer = { namespace: 'shop', pod: 'web-1', podUid: '00000000-0000-0000-0000-000000000001', container: 'nginx', id: 'a'.repeat(64), pid: 4101 };

function pipeline() {
  const { procRoot, logDir } = makeNode(makeTempDir('sa-pipeline-'), [WEB]);
  const p = new RecordPipeline({ source: 'test', procRoot, logDir, nodeName: 'node-a', events: { onNewSyscall() {}, onLostSignal() {}, onMalformed() {} } });
  p.start({ watch: false });
  t.teardown(() => p.stop());
  return p;
}

t.test('counters: records per action, malformed lines, attribution per method', (t) => {
  const p = pipeline();
  p.push(Buffer.from([
    recordLine(WEB.pid, 0), recordLine(WEB.pid, 0), recordLine(WEB.pid, 1, 'errno'), recordLine(WEB.pid, 59, 'kill_process'),
    // a pid this node has no process for: unattributed, but read and counted by action
    recordLine(9999, 2, 'errno'),
    MALFORMED_LINE,
  ].join('')));
  p.end();
  const c = p.counters();
  t.equal(c.records, 5);
  t.equal(c.malformed, 1);
  t.same(c.actions, { log: 2, errno: 2, kill_process: 1 }, 'attributed and unattributed records alike; actions not seen are absent');
  t.same(c.attributed, { proc: 1, cache: 3, lineage: 0, label: 0 }, 'the first record of a pid reads /proc, the rest hit the cache');
  t.equal(Object.values(c.actions).reduce((a, b) => a + b, 0), c.records, 'every record has one action');
  t.equal(c.lagSeconds, null, 'no batch taken yet');
  t.end();
});

t.test('lag: from the newest record of the batch to when the batch is taken', async (t) => {
  const p = pipeline();
  const now = Date.now();
  p.push(Buffer.from(recordLine(WEB.pid, 0, 'log', now - 60_000) + recordLine(WEB.pid, 1, 'log', now - 5_000) + recordLine(9999, 3, 'log', now - 30_000)));
  p.end();
  t.ok(p.takeBatch([]) !== null);
  const lag = p.counters().lagSeconds!;
  t.ok(lag >= 5 && lag < 5 + 10, `the newest record was 5 s old when taken: ${lag}`);
  // a batch without records leaves the last lag as it was
  p.takeBatch([{ source: 'test', position: 'x' }]);
  t.equal(p.counters().lagSeconds, lag);
  // a record from the future (a clock set back) is no negative lag
  p.push(Buffer.from(recordLine(WEB.pid, 2, 'log', now + 3_600_000)));
  p.end();
  p.takeBatch([]);
  t.equal(p.counters().lagSeconds, 0);
  // and it does not hold the lag at 0 for the batches after it
  p.push(Buffer.from(recordLine(WEB.pid, 2, 'log', now - 2_000)));
  p.end();
  p.takeBatch([]);
  t.ok(p.counters().lagSeconds! >= 2, `back to the record's own age: ${p.counters().lagSeconds}`);
});

t.test('lost records: audit_lost is the kernel\'s total since boot, so only its growth counts', (t) => {
  const p = pipeline();
  p.push(Buffer.from([
    'audit: audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64\n',
    'audit: audit_lost=8 audit_rate_limit=0 audit_backlog_limit=64\n',
    'audit: audit_lost=8 audit_rate_limit=0 audit_backlog_limit=64\n',
    'kauditd_printk_skb: 7 callbacks suppressed\n',
    'kauditd_printk_skb: 2 callbacks suppressed\n',
  ].join('')));
  p.end();
  p.addLost('overwritten', 3, { from: 1000, to: 2000 });
  const lost = p.takeBatch([])!.lost;
  t.same(lost.sort((a, b) => a.reason.localeCompare(b.reason)), [
    { source: 'test', reason: 'audit_lost', count: 8 },
    { source: 'test', reason: 'overwritten', count: 3 },
    { source: 'test', reason: 'printk_suppressed', count: 9 },
  ]);
  // a smaller total means the kernel started counting again (a new boot): it counts whole
  p.push(Buffer.from('audit: audit_lost=2 audit_rate_limit=0 audit_backlog_limit=64\naudit: audit_lost=6 audit_rate_limit=0 audit_backlog_limit=64\n'));
  p.end();
  t.same(p.takeBatch([])!.lost, [{ source: 'test', reason: 'audit_lost', count: 6 }]);
  // the kernel prints the reason beside the total it raised: the loss is counted once, from the total
  p.push(Buffer.from('audit: backlog limit exceeded\naudit: audit_lost=9 audit_rate_limit=0 audit_backlog_limit=64\naudit: rate limit exceeded\n'));
  p.end();
  t.same(p.takeBatch([])!.lost, [{ source: 'test', reason: 'audit_lost', count: 3 }], 'backlog and rate-limit lines add nothing to audit_lost\'s growth');
  t.end();
});

t.test('a batch after a pause meets the clock of its arrival: a pid reused meanwhile is read again', async (t) => {
  const dir = makeTempDir('sa-pipeline-');
  const { procRoot, logDir } = makeNode(dir, [WEB]);
  const p = new RecordPipeline({ source: 'test', procRoot, logDir, nodeName: 'node-a', events: { onNewSyscall() {}, onLostSignal() {}, onMalformed() {} } });
  p.start({ watch: false });
  t.teardown(() => p.stop());
  // a source's batch: its records, then its end (the daemon's sources call onBatchEnd after)
  p.push(Buffer.from(recordLine(WEB.pid, 0)));
  p.end();
  p.onBatchEnd();
  // quiet for more than the attributor's check period (1 s); meanwhile the pid went to a new
  // process in another container
  await new Promise((resolve) => setTimeout(resolve, 1300));
  const other = 'b'.repeat(64);
  writeFileSync(join(procRoot, String(WEB.pid), 'stat'), `${WEB.pid} (other) S 1 ${'0 '.repeat(17)}999999 0 0\n`);
  writeFileSync(join(procRoot, String(WEB.pid), 'cgroup'), `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod11111111_2222_3333_4444_555555555555.slice/cri-containerd-${other}.scope\n`);
  p.push(Buffer.from(recordLine(WEB.pid, 1)));
  p.end();
  const b = p.takeBatch([])!;
  t.same(b.workloads.map((w) => w.containerId).sort(), ['a'.repeat(64), other], 'the second batch\'s record is the new process\'s (before: the clock of the first batch\'s end, so the pid was not checked)');
});
