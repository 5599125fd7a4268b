/**
 * Counters across a daemon restart, as Prometheus stores them: the database's totals (per
 * container, lost, unattributed) carry on from where they were, never lower; the per-source
 * counters start again from zero with the process, which Prometheus' resets() sees as one reset
 * and rate()/increase() handle; nothing else goes down.
 */
import t from 'tap';
import { recordLine } from '../ingest/fake-node.js';
import { DOCUMENTED_SERIES } from './documented-series.js';
import { DB, FedDaemon, WEB } from './fed-daemon.js';
import { PrometheusServer } from './prometheus-server.js';

/** the families whose values are the database's totals */
const FROM_DATABASE = [
  'seccomp_auditor_container_syscall_records_total', 'seccomp_auditor_violations_total', 'seccomp_auditor_records_lost_total',
  'seccomp_auditor_unattributed_records_total', 'seccomp_auditor_unattributed_process_records_total',
];

t.test('a restart: database totals never go down, per-source counters reset once, as rate() expects', async (t) => {
  const daemon = new FedDaemon();
  await daemon.start();
  t.teardown(() => daemon.stop());
  const prom = await PrometheusServer.start([{ job: 'seccomp-auditor', target: daemon.target, labels: { node: 'node-a' } }]);
  t.teardown(() => prom.stop());
  const source = `source="${daemon.source}"`;
  await prom.until(`seccomp_auditor_records_read_total{${source}}`, (r) => r[0]?.value[1] === '8');
  await prom.scrapes('seccomp-auditor', 2);

  await daemon.stop();
  // down for a few scrapes: Prometheus marks the target down and stores nothing for it
  await prom.until('up{job="seccomp-auditor"}', (r) => r[0]?.value[1] === '0');
  await daemon.start();
  // fewer records after the restart than before it, so the drop is visible to Prometheus (a
  // counter that came back higher than it was could not be told from one that never restarted)
  daemon.append(recordLine(WEB.pid, 0) + recordLine(DB.pid, 0) + recordLine(WEB.pid, 3));
  await prom.until(`seccomp_auditor_records_read_total{${source}}`, (r) => r[0]?.value[1] === '3');
  await prom.scrapes('seccomp-auditor', 2);

  const window = '[5m]';
  for (const family of FROM_DATABASE) {
    const resets = await prom.query(`resets(${family}${window})`);
    t.ok(resets.length > 0, `${family} has series`);
    t.same(resets.filter((r) => r.value[1] !== '0').map((r) => r.metric), [], `${family}: no reset, the totals carried on`);
  }
  const webRead = `seccomp_auditor_container_syscall_records_total{pod="${WEB.pod}",syscall="read",action="log"}`;
  t.equal((await prom.query(webRead))[0]?.value[1], '3', 'two records before, one after: 3');
  t.equal((await prom.query(`seccomp_auditor_container_syscalls{pod="${WEB.pod}"}`))[0]?.value[1], '4', 'close (3) is new');

  t.equal((await prom.query(`resets(seccomp_auditor_records_read_total{${source}}${window})`))[0]?.value[1], '1', 'records read: one reset');
  // increase() counts from zero after a reset: the 3 records read since; the 8 before were all in
  // the series' first sample already, which increase() takes as its starting point
  const increase = Number((await prom.query(`increase(seccomp_auditor_records_read_total{${source}}${window})`))[0]!.value[1]);
  t.ok(increase >= 3 && increase < 8, `increase() across the restart counts the run after it, not a negative: ${increase}`);
  // every counter family, whatever its source: one reset at most, the restart's
  for (const family of Object.keys(DOCUMENTED_SERIES).filter((n) => n.endsWith('_total'))) {
    const more = await prom.query(`resets(${family}${window}) > 1`);
    t.same(more.map((r) => r.metric), [], `${family}: at most one reset`);
  }
});
