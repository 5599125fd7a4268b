/**
 * Scenario 4: the learning run with auditd on the node. The kernel then sends seccomp records
 * to auditd instead of printk, and still to the audit multicast group. Without --source the
 * daemon reads the group (every record, no file lag); with `--source file:...` it follows
 * auditd's log (Debian's ENRICHED format). Both must attribute just as well; auditd's log is the
 * ground truth.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { makeTempDir } from '../helpers/real-kernel.js';
import { AuditdProcess, auditdUnavailable } from './harness/auditd-process.js';
import { DaemonProcess } from './harness/daemon-process.js';
import { requireEndToEnd } from './harness/e2e-guard.js';
import { checkLearned } from './harness/learn-checks.js';
import { learnWithoutLoss } from './harness/learn-run.js';
import { KubeletNode } from './harness/kubelet-node.js';
import { OciRuntime } from './harness/oci-runtime.js';
import { LOG_ALL } from './harness/scenario.js';
import { chosenSource, startStockDaemon } from './harness/stock-daemon.js';

// Real runtimes, several learning runs and daemons: minutes on a loaded 2-core machine, more than
// the suite's 120 s per file (package.json); a hang still ends here.
t.setTimeout(420_000);

t.test('learn with auditd running: the daemon reads its log file', async (t) => {
  const node = await auditdNode(t);
  if (node === null) return;
  const { runtime, kubelet, auditd } = node;
  const db = join(makeTempDir('sa-e2e-db-'), 'node.db');
  const daemon = await DaemonProcess.start(['--source', `file:${auditd.logFile}`, '--log-dir', kubelet.logRoot, '--db', db]);
  t.teardown(() => daemon.kill());

  const learned = await learnWithoutLoss({
    runtime, node: kubelet, daemon, namespace: 'audited', learningProfile: LOG_ALL, record: (fn) => auditd.record(fn),
  }, 3, (s) => t.comment(s));
  t.equal(learned.truthLost, 0, 'the kernel lost no audit record on the way to auditd');
  t.equal(learned.daemonLost, 0, 'the daemon reports no loss');
  await checkLearned(t, daemon, learned);
  const status = (await daemon.get<{ positions: { source: string; position: string }[] }>('/api/v1/status')).body;
  t.match(status.positions, [{ source: `file:${auditd.logFile}`, position: /^\d+:\d+$/ }], 'the file position is committed with the data');
  t.equal(status.positions.length, 1, 'and no other');
  t.equal(await daemon.stop(), 0, 'the daemon stops cleanly');
});

t.test('learn with auditd running: without --source the daemon reads the audit group', async (t) => {
  const node = await auditdNode(t);
  if (node === null) return;
  const { runtime, kubelet, auditd } = node;
  const daemon = await startStockDaemon({ logRoot: kubelet.logRoot, db: join(makeTempDir('sa-e2e-db-'), 'node.db') });
  t.teardown(() => daemon.kill());
  t.equal(chosenSource(daemon), 'audit', 'the audit group, auditd or not');
  t.match(String(daemon.lines.find((l) => l.event === 'source_chosen')?.['why']), /auditd runs too/, 'and the daemon says auditd\'s log is not needed');

  const learned = await learnWithoutLoss({
    runtime, node: kubelet, daemon, namespace: 'audited-group', learningProfile: LOG_ALL, record: (fn) => auditd.record(fn),
  }, 3, (s) => t.comment(s));
  t.equal(learned.truthLost, 0, 'the kernel lost no audit record on the way to auditd');
  t.equal(learned.daemonLost, 0, 'the daemon reports no loss');
  await checkLearned(t, daemon, learned);
  const status = (await daemon.get<{ positions: { source: string; position: string }[] }>('/api/v1/status')).body;
  t.match(status.positions, [{ source: 'audit', position: /^[0-9a-f-]+:\d+$/ }], 'the audit serial is committed with the data');
  t.equal(await daemon.stop(), 0, 'the daemon stops cleanly');
});

/** runc, a kubelet-style node and a real auditd, torn down with the test; null when this machine cannot (said why). */
async function auditdNode(t: Test): Promise<{ runtime: OciRuntime; kubelet: KubeletNode; auditd: AuditdProcess } | null> {
  if (!requireEndToEnd(t, ['runc'])) return null;
  const missing = auditdUnavailable();
  if (missing !== null) {
    if (process.env['SECCOMP_AUDITOR_REQUIRE_KERNEL'] === '1') t.fail(`auditd scenario cannot run: ${missing}`);
    else t.plan(0, missing);
    return null;
  }
  const runtime = new OciRuntime('runc');
  t.teardown(() => runtime.cleanup());
  const kubelet = new KubeletNode(makeTempDir('sa-e2e-logs-'));
  t.teardown(() => kubelet.cleanup());
  const auditd = await AuditdProcess.start(makeTempDir('sa-e2e-auditd-'));
  t.teardown(() => auditd.stop());
  return { runtime, kubelet, auditd };
}
