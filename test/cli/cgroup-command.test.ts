import t from 'tap';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { parseCgroupFile } from '../../src/attribute/cgroup-path.js';
import { runCli } from '../helpers/cli.js';
import { REPO_ROOT, SAMPLES_DIR } from '../helpers/paths.js';
import { CgroupSandbox, cgroupMounts, randomHex, randomPodUid, requireCgroups } from '../attribute/cgroup-sandbox.js';

const CRIO_LINE = '4:net_cls,net_prio:/kubepods/besteffort/pod26ba375c-2266-4ecc-bf2d-b626db8762af/crio-af208fd68bf39a07a439ed0c9b6609b9ae63ecd8a5f1a2af3e0db48b945b320a\n';
const CRIO = {
  containerId: 'af208fd68bf39a07a439ed0c9b6609b9ae63ecd8a5f1a2af3e0db48b945b320a',
  podUid: '26ba375c-2266-4ecc-bf2d-b626db8762af',
  qos: 'besteffort',
  runtime: 'cri-o',
  unit: null,
};
const ALL_NULL = { containerId: null, podUid: null, qos: null, runtime: null, unit: null };

/** The one JSON line a run printed. */
function output(stdout: string): unknown {
  if (!stdout.endsWith('\n') || stdout.indexOf('\n') !== stdout.length - 1) throw new Error(`expected one line, got ${JSON.stringify(stdout)}`);
  return JSON.parse(stdout);
}

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'sa-cgroup-cmd-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

t.test('stdin, "-" and FILE give one JSON object with exactly the five keys', async (t) => {
  const stdin = await runCli(['cgroup'], CRIO_LINE);
  t.equal(stdin.code, 0, stdin.stderr);
  t.same(Object.keys(output(stdin.stdout) as object), ['containerId', 'podUid', 'qos', 'runtime', 'unit']);
  t.same(output(stdin.stdout), CRIO);
  t.equal(stdin.stderr, '');
  t.same(output((await runCli(['cgroup', '-'], CRIO_LINE)).stdout), CRIO);
  const file = join(tempDir(), 'cgroup');
  writeFileSync(file, '1:name=systemd:/system.slice/kubelet.service\n0::/\n');
  const r = await runCli(['cgroup', file]);
  t.equal(r.code, 0);
  t.same(output(r.stdout), { ...ALL_NULL, unit: 'kubelet.service' });
  const samples = await runCli(['cgroup', join(SAMPLES_DIR, 'cgroups.txt')]);
  t.equal(samples.code, 0, 'a file of many samples is still one answer');
  t.equal(Object.keys(output(samples.stdout) as object).length, 5);
});

t.test('bad input is no error: all nulls', async (t) => {
  for (const input of ['', 'garbage\n', '\0\x01\x02']) {
    const r = await runCli(['cgroup'], input);
    t.equal(r.code, 0);
    t.same(output(r.stdout), ALL_NULL, JSON.stringify(input));
  }
});

t.test('--pid reads <proc-root>/N/cgroup; --proc-root and SECCOMP_AUDITOR_PROC_ROOT set the root', async (t) => {
  const root = tempDir();
  mkdirSync(join(root, '4242'));
  writeFileSync(join(root, '4242', 'cgroup'), CRIO_LINE);
  const r = await runCli(['cgroup', '--pid', '4242', '--proc-root', root]);
  t.equal(r.code, 0, r.stderr);
  t.same(output(r.stdout), CRIO);
  const env = await runCli(['cgroup', '--pid', '4242'], '', { SECCOMP_AUDITOR_PROC_ROOT: root });
  t.same(output(env.stdout), CRIO, 'from the environment');
  const real = await runCli(['cgroup', '--pid', String(process.pid)]);
  t.equal(real.code, 0);
  const { path: _path, ...want } = parseCgroupFile(readFileSync('/proc/self/cgroup', 'utf8'));
  t.same(output(real.stdout), want, 'default root /proc');
});

t.test('a missing file or pid: one line naming the path and the fix, exit 1', async (t) => {
  const file = await runCli(['cgroup', '/no/such/cgroup']);
  t.equal(file.code, 1);
  t.equal(file.stdout, '');
  t.equal(file.stderr, 'seccomp-auditor cgroup: /no/such/cgroup: no such file; check the path\n');
  const root = tempDir();
  const pid = await runCli(['cgroup', '--pid', '999999', '--proc-root', root]);
  t.equal(pid.code, 1);
  t.equal(pid.stderr, `seccomp-auditor cgroup: ${join(root, '999999', 'cgroup')}: no such process; check the pid (it may have exited), and --proc-root when the host's /proc is mounted elsewhere\n`);
  const dir = await runCli(['cgroup', root]);
  t.equal(dir.code, 1);
  t.match(dir.stderr, /is a directory/);
});

t.test('usage errors exit 2', async (t) => {
  for (const argv of [['--pid', 'abc'], ['--pid', '0'], ['--pid=-3'], ['--pid', '1', 'file'], ['a', 'b'], ['--bogus']]) {
    const r = await runCli(['cgroup', ...argv]);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.stderr, /^seccomp-auditor cgroup: .*\nRun 'seccomp-auditor cgroup --help' for usage\.\n$/, argv.join(' '));
  }
});

t.test('--help', async (t) => {
  const r = await runCli(['cgroup', '--help']);
  t.equal(r.code, 0);
  t.match(r.stdout, /^Usage: seccomp-auditor cgroup \[FILE\] \[options\]/);
  t.match(r.stdout, /--pid N +read <proc-root>\/N\/cgroup/);
  t.match(r.stdout, /--proc-root PATH +.*\(default: \/proc; env SECCOMP_AUDITOR_PROC_ROOT\)/);
  t.match(r.stdout, /-h, --help/);
  const top = await runCli(['--help']);
  t.match(top.stdout, /\n  cgroup +show the container, pod and unit/);
});

// ---- the built executable, as a user runs it ----

const CLI = join(REPO_ROOT, 'dist', 'cli.js');
const SOURCES = ['src/cli/main.ts', 'src/cli/cgroup-command.ts', 'src/attribute/cgroup-path.ts', 'src/attribute/proc-fs.ts', 'src/attribute/proc-stat.ts'];

/**
 * Builds dist/ when it is missing or older than the sources this command is made of. tsc's exit code
 * is not trusted alone: a type error elsewhere in the tree still emits these files.
 */
function builtCli(): string {
  const stale = (): boolean => {
    const built = join(REPO_ROOT, 'dist', 'cli', 'cgroup-command.js');
    if (!existsSync(CLI) || !existsSync(built)) return true;
    const builtAt = statSync(built).mtimeMs;
    return SOURCES.some((s) => statSync(join(REPO_ROOT, s)).mtimeMs > builtAt);
  };
  if (stale()) {
    const r = spawnSync('npx', ['tsc', '-p', 'tsconfig.json'], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 300_000 });
    if (stale()) throw new Error(`building dist/ failed: ${r.stdout}${r.stderr}`);
  }
  return CLI;
}

function runBuilt(argv: string[], input?: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [builtCli(), ...argv], { input, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

t.test('built CLI on the real /proc/self/cgroup of the process it runs in', async (t) => {
  // the CLI process inherits this process's cgroups, so its own file must read the same
  const { path: _path, ...want } = parseCgroupFile(readFileSync('/proc/self/cgroup', 'utf8'));
  const own = runBuilt(['cgroup', '/proc/self/cgroup']);
  t.equal(own.code, 0, own.stderr);
  t.same(JSON.parse(own.stdout), want);
  const piped = spawnSync('sh', ['-c', `cat /proc/self/cgroup | "${process.execPath}" "${builtCli()}" cgroup`], { encoding: 'utf8' });
  t.equal(piped.status, 0, piped.stderr);
  t.same(JSON.parse(piped.stdout), want, 'through stdin');
  const missing = runBuilt(['cgroup', '--pid', '999999999']);
  t.equal(missing.code, 1);
  t.equal(missing.stderr.trim().split('\n').length, 1, 'one line, no stack trace');
  t.match(missing.stderr, /\/proc\/999999999\/cgroup: no such process/);
});

t.test('built CLI --pid on a spawned process placed in a kubepods cgroup', async (t) => {
  if (!requireCgroups(t)) return;
  const { v1Pids, v2 } = cgroupMounts();
  const box = new CgroupSandbox(t);
  const uid = randomPodUid();
  const id = randomHex(32);
  const cg = v2 !== null
    ? box.make(v2, `kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid.replaceAll('-', '_')}.slice/cri-containerd-${id}.scope`)
    : box.make(v1Pids!, `kubepods/burstable/pod${uid}/${id}`);
  const child = box.sleeper();
  box.move(cg.dir, child.pid);
  const r = runBuilt(['cgroup', '--pid', String(child.pid)]);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), { containerId: id, podUid: uid, qos: 'burstable', runtime: v2 !== null ? 'containerd' : null, unit: null });
});
