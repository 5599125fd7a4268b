/**
 * Scenario 7 (issue 12, item 3): violations you can see. The kernel logs a filter's errno action
 * only when the filter was loaded with SECCOMP_FILTER_FLAG_LOG, so an enforcing profile exported
 * as-is leaves a denied call out of /api/v1/violations; `logDenied=true` adds the flag. What each
 * runtime does with it is measured here: a batch job learns under crun, its profile is exported
 * with and without the flag, the job's FIFO-making variant runs under both, and the kernel's own
 * records (read beside the daemon) say what was logged; runc gets the same profile and refuses it.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { OciProfile } from '../../src/profile/oci-profile.js';
import { syscallName } from '../../src/syscalls/syscall-table.js';
import { recordAudit } from '../helpers/audit-recorder.js';
import { makeTempDir, withStockPrintkRatelimit } from '../helpers/real-kernel.js';
import { requireEndToEnd } from './harness/e2e-guard.js';
import { kernelRecords, podTruth } from './harness/kernel-truth.js';
import { KubeletNode } from './harness/kubelet-node.js';
import { recordsOf } from './harness/learn-run.js';
import { OciRuntime } from './harness/oci-runtime.js';
import { newId, type PodsAnswer } from './harness/scenario.js';
import { startStockDaemon } from './harness/stock-daemon.js';
import { batchJob, batchJobVariant } from './harness/workloads.js';
import { crunAndRunc } from './harness/crun-and-runc.js';

// Real runtimes and a daemon: a minute or two on a loaded 2-core machine, more than the suite's
// 120 s per file (package.json); a hang still ends here.
t.setTimeout(300_000);

const X86_64 = 0xc000003e;
/** the action field of an errno action's record (the errno value itself is not logged) */
const ERRNO_CODE = '0x50000';

interface Violation { namespace: string | null; pod: string | null; container: string | null; syscall: string | null; action: string; count: number }

t.test('logDenied: crun loads the log flag and the denied call reaches /api/v1/violations; runc 1.1 refuses the profile', async (t) => {
  if (!requireEndToEnd(t, ['crun', 'runc'])) return;
  const { crun, runc, node } = crunAndRunc(t);
  t.comment(`${firstLine(crun.bin)}; ${firstLine(runc.bin)}`);

  await withStockPrintkRatelimit(async () => {
    const seccompDir = makeTempDir('sa-e2e-kubelet-seccomp-');
    const daemon = await startStockDaemon({ logRoot: node.logRoot, db: join(makeTempDir('sa-e2e-db-'), 'node.db'), seccompDir });
    t.teardown(() => daemon.kill());
    const logAll = JSON.parse(readFileSync(join(seccompDir, 'seccomp-auditor', 'log-all.json'), 'utf8')) as OciProfile;
    const pod = node.addContainer({ namespace: 'verify', pod: `nightly-report-29112300-${newId('').slice(4, 9)}`, container: 'report', driver: 'cgroupfs' });
    const profileUrl = `/api/v1/namespaces/verify/pods/${pod.pod}/profile`;

    // ---- learn under crun, as a node running crun would ----
    const batch = batchJob(10);
    const learning = await recordAudit(async () => {
      const r = await crun.run({ id: newId('learn'), cgroupsPath: pod.cgroupsPath, args: batch.args, busybox: batch.busybox, seccomp: logAll });
      t.equal(r.code, 0, `the batch job ran under crun and the logging profile (${r.stderr.trim()})`);
      t.match(r.stdout, batch.expectOutput);
    });
    const truth = podTruth(kernelRecords(learning.records), batch);
    t.ok(truth.total > 0, `the kernel logged ${truth.total} records of the job`);
    // the daemon commits twice a second: done when it holds what the kernel gave, or stops gaining
    await settle(async () => recordsOf((await daemon.get<PodsAnswer>('/api/v1/pods?namespace=verify')).body, pod), truth.total);

    const plain = (await daemon.get<OciProfile>(`${profileUrl}?baseline=crun`)).body;
    const logged = await daemon.get<OciProfile>(`${profileUrl}?baseline=crun&logDenied=true`);
    t.equal(logged.status, 200);
    t.same(logged.body.flags, ['SECCOMP_FILTER_FLAG_LOG'], 'logDenied=true exports the log flag');
    t.same(allowed(logged.body), allowed(plain), 'the same names');
    // the learned process-making calls run logged: a denying child is attributed through its
    // parent's fork and its own exec (without them, a run here counted the denial as unattributed)
    t.same(logged.body.syscalls.find((r) => r.action === 'SCMP_ACT_LOG')?.names, [...allowed(plain)].filter((n) => ['clone', 'clone3', 'execve', 'execveat', 'fork', 'vfork'].includes(n)).sort(),
      'the learned clone/execve calls are logged, not silently allowed');
    t.notOk(allowed(plain).has('mknodat'), 'the job never made a FIFO: its profile denies mknodat');

    // ---- the job itself still runs under the flagged profile (crun loads it) ----
    const enforced = await crun.run({ id: newId('enforce'), cgroupsPath: pod.cgroupsPath, args: batch.args, busybox: batch.busybox, seccomp: logged.body });
    t.equal(enforced.code, 0, `crun runs the job under the profile with the log flag (${enforced.stderr.trim()})`);

    // ---- the variant without the flag: denied, and the kernel logs nothing of it ----
    const variant = batchJobVariant(2);
    const unlogged = await recordAudit(async () => {
      const r = await crun.run({ id: newId('variant-plain'), cgroupsPath: pod.cgroupsPath, args: variant.args, busybox: variant.busybox, seccomp: plain });
      t.equal(r.code, 1, 'the variant fails under the plain profile');
      t.match(r.stderr, /mkfifo: .*Operation not permitted/, 'mknodat is denied with EPERM');
    });
    const unloggedDenials = kernelRecords(unlogged.records).filter((r) => r.exe === variant.busybox && r.action === ERRNO_CODE);
    t.equal(unloggedDenials.length, 0, 'without the flag the kernel logged no errno record: nothing could reach /api/v1/violations');

    // ---- the variant with the flag: denied, logged by the kernel, shown by the daemon ----
    const violationsBefore = await podViolations(daemon.url, pod.pod, 'mknodat');
    const flagged = await recordAudit(async () => {
      const r = await crun.run({ id: newId('variant-logged'), cgroupsPath: pod.cgroupsPath, args: variant.args, busybox: variant.busybox, seccomp: logged.body });
      t.equal(r.code, 1, 'the variant fails under the profile with the log flag too');
      t.match(r.stderr, /mkfifo: .*Operation not permitted/, 'mknodat is denied with EPERM');
      t.match(r.stdout, /^batch done 2\n$/, 'what the job did before still works');
    });
    const denials = kernelRecords(flagged.records).filter((r) => r.exe === variant.busybox && r.action === ERRNO_CODE);
    const deniedNames = [...new Set(denials.map((r) => syscallName(X86_64, r.syscallNr)))];
    t.same(deniedNames, ['mknodat'], `with the flag the kernel logged the denial (code=${ERRNO_CODE}): ${denials.length} record(s) of ${deniedNames.join(', ')}`);
    const seen = await waitFor(async () => {
      const v = await podViolations(daemon.url, pod.pod, 'mknodat');
      return v !== null && v.count > (violationsBefore?.count ?? 0) ? v : null;
    }, 15_000);
    if (seen === null) {
      const [violations, unattributed] = await Promise.all([daemon.get('/api/v1/violations'), daemon.get('/api/v1/unattributed')]);
      t.fail(`the denial never showed in /api/v1/violations for ${pod.pod}; violations: ${JSON.stringify(violations.body).slice(0, 1500)}; unattributed: ${JSON.stringify(unattributed.body).slice(0, 1500)}`);
    } else {
      t.match(seen, { namespace: 'verify', pod: pod.pod, container: 'report', syscall: 'mknodat', action: 'errno' }, 'the daemon shows the denied mknodat for the pod, with the errno action');
    }

    // ---- runc 1.1: the same kind of profile is refused before the container starts ----
    const forRunc = (await daemon.get<OciProfile>(`${profileUrl}?baseline=runc&logDenied=true`)).body;
    const refused = await runc.run({ id: newId('runc-flag'), cgroupsPath: pod.cgroupsPath, args: variant.args, busybox: variant.busybox, seccomp: forRunc });
    const refusal = refused.stderr.trim().split('\n').pop() ?? '';
    t.comment(`runc's answer: exit ${refused.code}, ${refusal}`);
    t.equal(refused.code, 1, 'runc exits 1');
    t.match(refused.stderr, /seccomp flags are not yet supported by runc/, 'and says it does not support seccomp flags');
    t.equal(refused.stdout, '', 'the workload never ran');
    const withoutFlag = await runc.run({ id: newId('runc-plain'), cgroupsPath: pod.cgroupsPath, args: batch.args, busybox: batch.busybox, seccomp: { ...forRunc, flags: undefined } as OciProfile });
    t.equal(withoutFlag.code, 0, `the same profile without the flag runs under runc (${withoutFlag.stderr.trim()}): the flag alone is refused`);

    t.equal(await daemon.stop(), 0, 'the daemon stops cleanly');
  });
});

function allowed(p: OciProfile): Set<string> {
  return new Set(p.syscalls.flatMap((s) => s.names));
}

function firstLine(bin: string): string {
  return spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? bin;
}

async function podViolations(base: string, pod: string, syscall: string): Promise<Violation | null> {
  const body = await (await fetch(`${base}/api/v1/violations?limit=5000`)).json() as { items: Violation[] };
  return body.items.find((v) => v.pod === pod && v.syscall === syscall) ?? null;
}

async function waitFor<T>(probe: () => Promise<T | null>, timeoutMs: number): Promise<T | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await probe();
    if (v !== null || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 150));
  }
}

/** Polls a count until it reaches target or has not grown for 1.5 s (bounded at 30 s). */
async function settle(count: () => Promise<number>, target: number): Promise<number> {
  let last = -1;
  for (let i = 0, still = 0; i < 120 && still < 6; i++) {
    const n = await count();
    if (n >= target) return n;
    still = n === last ? still + 1 : 0;
    last = n;
    await new Promise((r) => setTimeout(r, 250));
  }
  return last;
}
