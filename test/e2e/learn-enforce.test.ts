/**
 * End to end on the real kernel with runc (issue #6, scenarios 1-3): two pods learn under a
 * log-everything profile while the daemon watches as a stock node runs it (its default source,
 * the audit multicast group; the DaemonSet's capabilities as a non-root uid; printk's rate limit
 * as the kernel ships it); the learned profiles then run the same workloads under runc, block
 * what they never did (EPERM), and in complain mode report exactly the new syscalls.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { syscallName } from '../../src/syscalls/syscall-table.js';
import type { OciProfile } from '../../src/profile/oci-profile.js';
import { recordAudit } from '../helpers/audit-recorder.js';
import { makeTempDir, withStockPrintkRatelimit } from '../helpers/real-kernel.js';
import { chosenSource, startStockDaemon } from './harness/stock-daemon.js';
import { requireEndToEnd } from './harness/e2e-guard.js';
import { kernelRecords, podTruth } from './harness/kernel-truth.js';
import { KubeletNode, type PodContainer } from './harness/kubelet-node.js';
import { OciRuntime } from './harness/oci-runtime.js';
import { batchJobVariant } from './harness/workloads.js';
import { learnWithoutLoss, type LearnedPod } from './harness/learn-run.js';
import { checkLearned } from './harness/learn-checks.js';
import { newId } from './harness/scenario.js';

// Real runtimes, several learning runs and daemons: minutes on a loaded 2-core machine, more than
// the suite's 120 s per file (package.json); a hang still ends here.
t.setTimeout(420_000);

const X86_64 = 0xc000003e;

t.test('learn with runc, then enforce and complain with the learned profiles', async (t) => {
  if (!requireEndToEnd(t, ['runc'])) return;
  const runtime = new OciRuntime('runc');
  t.teardown(() => runtime.cleanup());
  const node = new KubeletNode(makeTempDir('sa-e2e-logs-'));
  t.teardown(() => node.cleanup());
  const db = join(makeTempDir('sa-e2e-db-'), 'node.db');

  await withStockPrintkRatelimit(async () => {
    // the kubelet's seccomp dir, where the daemon installs the profile pods learn under
    const seccompDir = makeTempDir('sa-e2e-kubelet-seccomp-');
    const daemon = await startStockDaemon({ logRoot: node.logRoot, db, seccompDir });
    t.teardown(() => daemon.kill());
    t.equal(chosenSource(daemon), 'audit', 'the daemon chose the audit group by itself');
    const logAll = JSON.parse(readFileSync(join(seccompDir, 'seccomp-auditor', 'log-all.json'), 'utf8')) as OciProfile;
    t.equal(logAll.defaultAction, 'SCMP_ACT_LOG', 'the daemon installed seccomp-auditor/log-all.json for learning');

    // ---- 1. learn ----
    const learned = await learnWithoutLoss({
      runtime, node, daemon, namespace: 'shop', learningProfile: logAll, record: recordAudit,
      // wget polls in ~9% of requests: 60 make a learning run without it rare (~0.4%)
      webRequests: 60,
    }, 3, (s) => t.comment(s));
    t.equal(learned.truthLost, 0, 'the test\'s own kernel reader lost nothing (its ground truth is complete)');
    t.equal(learned.daemonLost, 0, 'the daemon lost no kernel record');
    const [batchRun, webRun] = learned.pods as [LearnedPod, LearnedPod];
    await checkLearned(t, daemon, learned);
    const batchPod = batchRun.container, batch = batchRun.workload;
    const webPod = webRun.container, web = webRun.workload;

    // ---- 2. enforce ----
    const profiles = new Map<PodContainer, OciProfile>();
    for (const c of [batchPod, webPod]) {
      const r = await daemon.get<OciProfile>(`/api/v1/namespaces/shop/pods/${c.pod}/profile`);
      t.equal(r.status, 200, `${c.pod}: a learned profile`);
      t.equal(r.body.defaultAction, 'SCMP_ACT_ERRNO', 'that blocks by default');
      t.same(r.body.architectures, ['SCMP_ARCH_X86_64'], 'only the architecture that was seen');
      profiles.set(c, r.body);
    }
    const batchAgain = await runtime.run({ id: newId('enforce-batch'), cgroupsPath: batchPod.cgroupsPath, args: batch.args, busybox: batch.busybox, seccomp: profiles.get(batchPod)! });
    t.equal(batchAgain.code, 0, `the batch job runs under its learned profile (${batchAgain.stderr.trim()})`);
    t.match(batchAgain.stdout, batch.expectOutput, 'with the same output');
    const webAgain = await runtime.run({ id: newId('enforce-web'), cgroupsPath: webPod.cgroupsPath, args: web.args, busybox: web.busybox, seccomp: profiles.get(webPod)! });
    t.equal(webAgain.code, 0, `the web pod runs under its learned profile (${webAgain.stderr.trim()})`);
    t.match(webAgain.stdout, web.expectOutput, 'with the same output');

    const variant = batchJobVariant(3);
    t.notOk(syscallsAllowed(profiles.get(batchPod)!).has('mknodat'), 'the batch job never made a FIFO');
    const denied = await runtime.run({ id: newId('enforce-variant'), cgroupsPath: batchPod.cgroupsPath, args: variant.args, busybox: variant.busybox, seccomp: profiles.get(batchPod)! });
    t.equal(denied.code, 1, 'the variant fails under the learned profile');
    t.match(denied.stderr, /mkfifo: .*Operation not permitted/, 'the new syscall is denied with EPERM');
    t.match(denied.stdout, /^batch done 3\n$/, 'what the job did before still works');

    // ---- 3. complain mode ----
    const complainProfile = (await daemon.get<OciProfile>(`/api/v1/namespaces/shop/pods/${batchPod.pod}/profile?defaultAction=log`)).body;
    t.equal(complainProfile.defaultAction, 'SCMP_ACT_LOG', 'the complain-mode variant logs what it does not allow');
    const canary = node.addContainer({ namespace: 'shop', pod: 'nightly-report-canary', container: 'report', driver: 'cgroupfs' });
    const complained = await recordAudit(async () => {
      const r = await runtime.run({ id: newId('complain'), cgroupsPath: canary.cgroupsPath, args: variant.args, busybox: variant.busybox, seccomp: complainProfile });
      t.equal(r.code, 0, `the variant runs in complain mode (${r.stderr.trim()})`);
      t.match(r.stdout, variant.expectOutput, 'and does everything, the new call included');
    });
    const newTruth = podTruth(kernelRecords(complained.records), variant);
    const enforced = syscallsAllowed(profiles.get(batchPod)!);
    const expected = [...newTruth.syscalls].map((nr) => syscallName(X86_64, nr)!).filter((n) => !enforced.has(n)).sort();
    t.ok(expected.includes('mknodat'), `the kernel logged the new syscalls: ${expected.join(' ')}`);
    // complain mode keeps process creation and exec logged (for attribution); all else it logs is new
    t.same([...newTruth.syscalls].map((nr) => syscallName(X86_64, nr)!).filter((n) => enforced.has(n) && !['clone', 'clone3', 'fork', 'vfork', 'execve', 'execveat'].includes(n)), [], 'and nothing else the profile allows');
    // what the daemon reports for the canary pod, against the profile it would enforce
    let diff: { wouldBlock: { name: string }[] } = { wouldBlock: [] };
    for (let i = 0; i < 100 && diff.wouldBlock.length < expected.length; i++) {
      await new Promise((r) => setTimeout(r, 150));
      const res = await fetch(`${daemon.url}/api/v1/namespaces/shop/pods/${canary.pod}/profile/diff`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(profiles.get(batchPod)),
      });
      if (res.status === 200) diff = await res.json() as typeof diff;
    }
    t.same(diff.wouldBlock.map((w) => w.name).sort(), expected, `the daemon reports exactly the new syscalls for that pod`);

    t.equal(await daemon.stop(), 0, 'the daemon stops cleanly');
  });
});

function syscallsAllowed(p: OciProfile): Set<string> {
  return new Set(p.syscalls.flatMap((s) => s.names));
}
