/**
 * Scenario 5: the daemon is SIGKILLed in the middle of a learning run and started again on the
 * same database; its counts must equal those of a daemon that ran through. Both read /dev/kmsg
 * at once (each open of the device has its own position), so they see the same records. The
 * pod's main process lives through the run: what is compared is exactly-once delivery across a
 * crash, not attribution of processes that exited while no daemon ran.
 */
import t, { type Test } from 'tap';
import { join } from 'node:path';
import { makeTempDir, withPrintkRatelimitOff } from '../helpers/real-kernel.js';
import { DaemonProcess } from './harness/daemon-process.js';
import { requireEndToEnd } from './harness/e2e-guard.js';
import { kernelRecords } from './harness/kernel-truth.js';
import { recordKmsg } from './harness/kmsg-recorder.js';
import { KubeletNode } from './harness/kubelet-node.js';
import { OciRuntime } from './harness/oci-runtime.js';
import { LOG_ALL, newId } from './harness/scenario.js';

interface SyscallsAnswer { containers: { containerId: string; syscalls: { name: string | null; nr: number; action: string; count: number }[] }[] }

/**
 * A server-like loop of shell builtins only (no forks), paced by `read -t` on an idle FIFO to
 * ~400 records/s: what the kernel logs while no daemon reads (a restart takes about a second)
 * must fit in its ring buffer (~560 records here), or the restarted daemon rightly reports it lost.
 */
const LOOP = `mkfifo /tmp/idle
exec 3<>/tmp/idle
i=0
while [ $i -lt 200 ]; do
  read -t 0.03 line <&3
  echo "$i" > /tmp/count
  i=$((i + 1))
done
echo "looped $i"`;

t.test('SIGKILL in the middle of a learning run: after a restart, the counts equal an uninterrupted run', async (t) => {
  if (!requireEndToEnd(t, ['runc'])) return;
  const runtime = new OciRuntime('runc');
  t.teardown(() => runtime.cleanup());
  const node = new KubeletNode(makeTempDir('sa-e2e-logs-'));
  t.teardown(() => node.cleanup());

  await withPrintkRatelimitOff(async () => {
    // a run where the kernel overwrote records while no daemon read (a slow restart on a loaded
    // machine) is repeated: the daemon rightly reports such records lost, and an exact comparison
    // means nothing then
    let run!: CrashRun;
    for (let attempt = 1; attempt <= 3; attempt++) {
      run = await crashRun(t, runtime, node);
      if (run.killedLost === 0 && run.recorderLost === 0) break;
      t.comment(`run ${attempt}: the kernel overwrote records (restarted daemon lost ${run.killedLost}, test reader ${run.recorderLost}); running again`);
    }
    t.equal(run.recorderLost, 0, 'the test\'s reader lost nothing');
    t.equal(run.killedLost, 0, 'nothing was overwritten in the kernel\'s ring while no daemon read it');
    t.equal(total(run.steady), run.truth, `the uninterrupted daemon counted every record the kernel gave for the pod (${run.truth})`);
    t.equal(total(run.killed), total(run.steady), 'the restarted daemon counted as many');
    t.same(counts(run.killed), counts(run.steady), 'per syscall and action, the same counts');
  });
});

interface CrashRun {
  killed: SyscallsAnswer;
  steady: SyscallsAnswer;
  /** records of the pod the kernel gave, by the test's own reader */
  truth: number;
  killedLost: number;
  recorderLost: number;
}

/** One pod, two daemons on their own databases; one is SIGKILLed mid-run and started again. */
async function crashRun(t: Test, runtime: OciRuntime, node: KubeletNode): Promise<CrashRun> {
  const pod = node.addContainer({ namespace: 'restart', pod: `api-6c9f7b8d5-${newId('').slice(4, 9)}`, container: 'api', driver: 'systemd' });
  const args = (db: string): string[] => ['--source', 'kmsg', '--log-dir', node.logRoot, '--db', db, '--kubelet-seccomp-dir', 'none'];
  const killedDb = join(makeTempDir('sa-e2e-killed-'), 'node.db');
  const steadyDb = join(makeTempDir('sa-e2e-steady-'), 'node.db');
  const path = `/api/v1/namespaces/restart/pods/${pod.pod}/syscalls`;
  const steady = await DaemonProcess.start(args(steadyDb));
  let killed = await DaemonProcess.start(args(killedDb));
  try {
    let restarts = 0;
    const recorded = await recordKmsg(async () => {
      const running = runtime.run({ id: newId('restart'), cgroupsPath: pod.cgroupsPath, args: ['/bin/sh', '-c', LOOP], seccomp: LOG_ALL });
      // kill while records flow: after the first commits, well before the loop ends (~7 s)
      await steady.until<SyscallsAnswer>(path, (b) => total(b) > 500);
      await killed.kill();
      killed = await DaemonProcess.start(args(killedDb));
      restarts++;
      const r = await running;
      t.equal(r.code, 0, `the pod ran (${r.stderr.trim()})`);
      t.match(r.stdout, /^looped 200\n$/, 'to its end');
    });
    t.equal(restarts, 1, 'the daemon was killed and restarted during the run');
    const truth = kernelRecords(recorded.records).filter((r) => r.exe === '/bin/busybox' || r.comm === 'runc:[2:INIT]').length;
    // both settle once they hold every record of the pod the kernel gave
    const [a, b] = await Promise.all([killed, steady].map((d) => d.until<SyscallsAnswer>(path, (x) => total(x) >= truth, 20_000)
      .catch(async (err: Error) => { t.comment(err.message); return (await d.get<SyscallsAnswer>(path)).body; })));
    const killedLost = (await killed.get<{ lost: { count: number }[] }>('/api/v1/status')).body.lost.reduce((n, l) => n + l.count, 0);
    t.equal(await killed.stop(), 0, 'the restarted daemon stops cleanly');
    t.equal(await steady.stop(), 0, 'and the other one');
    return { killed: a!, steady: b!, truth, killedLost, recorderLost: recorded.lost };
  } finally {
    await killed.kill();
    await steady.kill();
  }
}

function total(b: SyscallsAnswer): number {
  return b.containers.reduce((n, c) => n + c.syscalls.reduce((m, s) => m + s.count, 0), 0);
}

function counts(b: SyscallsAnswer): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of b.containers) for (const s of c.syscalls) out[`${s.name ?? s.nr} ${s.action}`] = s.count;
  return out;
}
