/**
 * Scenario 6: the runtime baselines behind the profiles' `baseline` option. The checked-in data
 * (syscall-tables/baselines/runtimes.json, from `npm run derive:baselines`) is derived again from
 * real runs of runc and crun; then a profile learned under crun, which runc's init cannot start
 * with, runs under runc once `baseline=runc` is asked for.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OciProfile } from '../../src/profile/oci-profile.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { makeTempDir, withStockPrintkRatelimit } from '../helpers/real-kernel.js';
import { requireEndToEnd } from './harness/e2e-guard.js';
import { KubeletNode } from './harness/kubelet-node.js';
import { OciRuntime, type RuntimeName } from './harness/oci-runtime.js';
import { deriveBaseline } from './harness/runtime-baseline.js';
import { LOG_ALL, newId } from './harness/scenario.js';
import { startStockDaemon } from './harness/stock-daemon.js';
import { crunAndRunc } from './harness/crun-and-runc.js';

// Real runtimes, several learning runs and daemons: minutes on a loaded 2-core machine, more than
// the suite's 120 s per file (package.json); a hang still ends here.
t.setTimeout(420_000);

interface BaselineData { runtimes: Record<string, { version: string; runs: number; syscalls: Record<string, number> }> }

const DATA = JSON.parse(readFileSync(join(REPO_ROOT, 'syscall-tables', 'baselines', 'runtimes.json'), 'utf8')) as BaselineData;
const RUNS = 8;

for (const name of ['runc', 'crun'] as RuntimeName[]) {
  t.test(`${name}: the checked-in baseline holds every call its init makes after loading the filter`, async (t) => {
    if (!requireEndToEnd(t, ['runc', 'crun'])) return;
    const runtime = new OciRuntime(name);
    t.teardown(() => runtime.cleanup());
    const node = new KubeletNode(makeTempDir('sa-e2e-logs-'));
    t.teardown(() => node.cleanup());
    const checkedIn = DATA.runtimes[name]!;
    const derived = await withStockPrintkRatelimit(() => deriveBaseline(runtime, node, RUNS));
    t.equal(derived.runs, RUNS, `${RUNS} runs whose records all arrived`);
    if (derived.version !== checkedIn.version) t.comment(`the data was derived with ${checkedIn.version}; this machine has ${derived.version}`);
    const names = Object.keys(derived.syscalls);
    t.comment(`${name} (${derived.version}): ${names.map((n) => `${n} ${derived.syscalls[n]}/${RUNS}`).join(', ')}`);
    // A name outside the data in one run of eight is the Go runtime's timing (a signal, a futex
    // wait), as futex and rt_sigreturn are in the data: said, for the next derivation. One in two
    // or more runs is a systematic change of the runtime: the baseline would break containers.
    for (const n of names) {
      if (n in checkedIn.syscalls) continue;
      if (derived.syscalls[n]! === 1) t.comment(`${n} was made once in ${RUNS} runs and is not in the baseline yet: run npm run derive:baselines`);
      else t.fail(`${n} (${derived.syscalls[n]}/${RUNS} runs) is not in the baseline: npm run derive:baselines, and check the new call in`);
    }
    // what every derivation run saw must still show: otherwise the data describes another runtime
    for (const [n, seen] of Object.entries(checkedIn.syscalls)) {
      if (seen === checkedIn.runs) t.ok(names.includes(n), `${n}, seen in every run of the data, is seen again`);
    }
  });
}

t.test('a profile learned under crun starts under runc only with baseline=runc', async (t) => {
  if (!requireEndToEnd(t, ['runc', 'crun'])) return;
  const { crun, runc, node } = crunAndRunc(t);
  const pod = node.addContainer({ namespace: 'baseline', pod: 'oneshot-28s7v', container: 'true', driver: 'cgroupfs' });

  await withStockPrintkRatelimit(async () => {
    const daemon = await startStockDaemon({ logRoot: node.logRoot, db: join(makeTempDir('sa-e2e-db-'), 'node.db') });
    t.teardown(() => daemon.kill());
    // a container whose only process exits at once is gone before /proc can name its pod on a
    // loaded machine: this one lives long enough to be attributed
    const args = ['/bin/sleep', '0.5'];
    const learned = await crun.run({ id: newId('crun-learn'), cgroupsPath: pod.cgroupsPath, args, seccomp: LOG_ALL });
    t.equal(learned.code, 0, `the pod ran under crun (${learned.stderr.trim()})`);
    const path = `/api/v1/namespaces/baseline/pods/${pod.pod}/profile`;
    const plain = await daemon.until<OciProfile>(`${path}?baseline=none`, (p) => p.syscalls[0]?.names.includes('exit_group') ?? false);
    const withRunc = (await daemon.get<OciProfile>(`${path}?baseline=runc`)).body;
    const added = withRunc.syscalls[0]!.names.filter((n) => !plain.syscalls[0]!.names.includes(n));
    t.ok(added.length > 0, `runc's init needs calls crun's did not make: ${added.join(' ')}`);

    const without = await runc.run({ id: newId('runc-plain'), cgroupsPath: pod.cgroupsPath, args, seccomp: plain });
    t.not(without.code, 0, `without the baseline runc cannot start the container (${without.stderr.trim().split('\n').pop()})`);
    const withBaseline = await runc.run({ id: newId('runc-baseline'), cgroupsPath: pod.cgroupsPath, args, seccomp: withRunc });
    t.equal(withBaseline.code, 0, `with baseline=runc it runs (${withBaseline.stderr.trim()})`);
    t.equal(await daemon.stop(), 0, 'the daemon stops cleanly');
  });
});
