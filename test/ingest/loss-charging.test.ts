import t from 'tap';
import { RecordPipeline } from '../../src/ingest/record-pipeline.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { makeNode, recordLine, type FakeContainer } from './fake-node.js';

/**
 * Each loss is charged to the interval its records were made in, not to when the pipeline
 * learned of it: what the profile routes compare learning windows with.
 */
const WEB: FakeContainer = { namespace: 'shop', pod: 'web-1', podUid: '00000000-0000-0000-0000-000000000001', container: 'nginx', id: 'a'.repeat(64), pid: 4101 };
const T0 = 1_700_000_000_000;

function pipeline() {
  const { procRoot, logDir } = makeNode(makeTempDir('sa-loss-'), [WEB]);
  const p = new RecordPipeline({ source: 'kmsg', procRoot, logDir, nodeName: 'node-a', events: { onNewSyscall() {}, onLostSignal() {}, onMalformed() {} } });
  p.start({ watch: false });
  t.teardown(() => p.stop());
  return p;
}

t.test('printk_suppressed: from the last record printed before the signal to the record printed with it, not the signal\'s arrival', (t) => {
  const p = pipeline();
  p.push(Buffer.from([
    recordLine(WEB.pid, 0, 'log', T0),
    recordLine(WEB.pid, 1, 'log', T0 + 400),
    // 27 s later the kernel prints its next record, and the count of what it suppressed before it
    'kauditd_printk_skb: 12688 callbacks suppressed\n',
    recordLine(WEB.pid, 2, 'log', T0 + 27_400),
  ].join('')));
  p.end();
  const b = p.takeBatch([{ source: 'kmsg', position: 'boot:3' }])!;
  t.same(b.losses, [{ source: 'kmsg', reason: 'printk_suppressed', count: 12688, from: T0 + 400, to: T0 + 27_400 }]);
  t.same(b.lost, [{ source: 'kmsg', reason: 'printk_suppressed', count: 12688 }], 'the cumulative count as before');
  t.equal(b.positions[0]!.recordTime, T0 + 27_400, 'the position carries the newest record it covers');
  t.end();
});

t.test('a signal with no record after it in the batch ends when the batch is taken; one before any record starts at the last commit', (t) => {
  const p = pipeline();
  p.push(Buffer.from('kauditd_printk_skb: 3 callbacks suppressed\n' + recordLine(WEB.pid, 0, 'log', T0) + 'kauditd_printk_skb: 5 callbacks suppressed\n'));
  p.end();
  const before = Date.now();
  const losses = p.takeBatch([])!.losses!;
  t.same(losses[0], { source: 'kmsg', reason: 'printk_suppressed', count: 3, from: null, to: T0 }, 'null: the store starts it at the newest record committed before');
  t.match(losses[1], { reason: 'printk_suppressed', count: 5, from: T0 });
  t.ok(losses[1]!.to >= before && losses[1]!.to <= Date.now(), 'open until the batch: the records were lost before it');
  t.end();
});

t.test('audit_lost lines: the growth since the previous line, charged from the record read then', (t) => {
  const p = pipeline();
  p.push(Buffer.from([
    recordLine(WEB.pid, 0, 'log', T0),
    'audit: audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64\n',
    recordLine(WEB.pid, 1, 'log', T0 + 1000),
    recordLine(WEB.pid, 2, 'log', T0 + 2000),
    'audit: audit_lost=8 audit_rate_limit=0 audit_backlog_limit=64\n',
    recordLine(WEB.pid, 3, 'log', T0 + 3000),
  ].join('')));
  p.end();
  t.same(p.takeBatch([])!.losses, [
    { source: 'kmsg', reason: 'audit_lost', count: 5, from: null, to: T0 + 1000 },
    { source: 'kmsg', reason: 'audit_lost', count: 3, from: T0, to: T0 + 3000 },
  ]);
  t.end();
});

t.test('a source\'s own losses: the interval it gives, or up to the next record', (t) => {
  const p = pipeline();
  p.addLost('socket_overrun', 4, { from: T0, to: T0 + 500 });
  p.addLost('overwritten', 2, { from: T0 + 100, to: null });
  p.addLost('overwritten', 0, { from: T0, to: T0 });
  p.push(Buffer.from(recordLine(WEB.pid, 0, 'log', T0 + 900)));
  p.end();
  t.same(p.takeBatch([])!.losses, [
    { source: 'kmsg', reason: 'socket_overrun', count: 4, from: T0, to: T0 + 500 },
    { source: 'kmsg', reason: 'overwritten', count: 2, from: T0 + 100, to: T0 + 900 },
  ], 'nothing for a zero count');
  t.end();
});
