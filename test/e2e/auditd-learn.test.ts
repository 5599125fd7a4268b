/**
 * Scenario 4: the learning run with auditd on the node. The kernel then sends seccomp records
 * to auditd instead of printk; the daemon follows auditd's log file (`--source file:...`,
 * Debian's ENRICHED format) and must attribute just as well.
 */
import t from 'tap';
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

t.test('learn with auditd running: the daemon reads its log file', async (t) => {
  if (!requireEndToEnd(t, ['runc'])) return;
  const missing = auditdUnavailable();
  if (missing !== null) {
    if (process.env['SECCOMP_AUDITOR_REQUIRE_KERNEL'] === '1') t.fail(`auditd scenario cannot run: ${missing}`);
    else t.plan(0, missing);
    return;
  }
  const runtime = new OciRuntime('runc');
  t.teardown(() => runtime.cleanup());
  const node = new KubeletNode(makeTempDir('sa-e2e-logs-'));
  t.teardown(() => node.cleanup());
  const auditd = await AuditdProcess.start(makeTempDir('sa-e2e-auditd-'));
  t.teardown(() => auditd.stop());
  const db = join(makeTempDir('sa-e2e-db-'), 'node.db');
  const daemon = await DaemonProcess.start(['--source', `file:${auditd.logFile}`, '--log-dir', node.logRoot, '--db', db]);
  t.teardown(() => daemon.kill());

  const learned = await learnWithoutLoss({
    runtime, node, daemon, namespace: 'audited', learningProfile: LOG_ALL, record: (fn) => auditd.record(fn),
  }, 3, (s) => t.comment(s));
  t.equal(learned.truthLost, 0, 'the kernel lost no audit record on the way to auditd');
  t.equal(learned.daemonLost, 0, 'the daemon reports no loss');
  await checkLearned(t, daemon, learned);
  const status = (await daemon.get<{ positions: { source: string; position: string }[] }>('/api/v1/status')).body;
  t.match(status.positions, [{ source: `file:${auditd.logFile}`, position: /^\d+:\d+$/ }], 'the file position is committed with the data');
  t.equal(status.positions.length, 1, 'and no other');
  t.equal(await daemon.stop(), 0, 'the daemon stops cleanly');
});
