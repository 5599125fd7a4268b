import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CheckResult } from '../../src/doctor/doctor-report.js';
import { builtCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { nodeTree, procWithSysctls } from './node-tree.js';
import { asDaemonSetUser } from '../helpers/daemonset-privileges.js';

const CHECKS = ['seccomp-log-action', 'record-route', 'audit-channel', 'printk-ratelimit', 'console-loglevel', 'audit-backlog', 'kmsg', 'proc-root',
  'kubelet-log-root', 'kubelet-seccomp-dir', 'cgroup-version', 'kubepods-cgroups', 'database'];

interface Report { ok: boolean; fails: number; warns: number; checks: CheckResult[] }

/** `node dist/cli.js doctor ...` as a process, with only the environment given (plus PATH). */
function doctor(args: string[], env: NodeJS.ProcessEnv = {}, prefix: string[] = [], cwd?: string): { code: number | null; stdout: string; stderr: string } {
  const cmd = [...prefix, process.execPath, builtCli(), 'doctor', ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env: { PATH: process.env['PATH'], ...env }, timeout: 60_000, ...(cwd ? { cwd } : {}) });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Paths a node with a kubelet would have, in a temp dir. */
function kubeletPaths(): string[] {
  const logDir = nodeTree({}, ['pods', 'containers']);
  const dir = makeTempDir('sa-doctor-state-');
  return ['--log-dir', logDir, '--kubelet-seccomp-dir', join(dir, 'seccomp'), '--db', join(dir, 'db', 'sa.db')];
}

t.test('doctor on this machine: one line per check, exit 0 without failures', async (t) => {
  const args = kubeletPaths();
  const r = doctor(args);
  t.equal(r.stderr, '');
  const lines = r.stdout.trimEnd().split('\n');
  t.equal(lines.length, CHECKS.length + 1, 'one line per check and a summary');
  t.same(lines.slice(0, -1).map((l) => l.split(/\s+/)[1]), CHECKS);
  for (const line of lines.slice(0, -1)) t.match(line, /^(ok|warn|fail) {2,}\S+ {2,}\S/);
  t.notOk(lines.some((l) => l.startsWith('fail')), `no failures here:\n${r.stdout}`);
  t.equal(r.code, 0);
  t.match(lines.at(-1), /^no failures, \d+ warnings?$/);
  t.notOk(existsSync(args[args.indexOf('--db') + 1]!), 'no database was created');
  t.notOk(existsSync(args[args.indexOf('--kubelet-seccomp-dir') + 1]!), 'no directory was created');
});

t.test('doctor --json: the same checks, machine-readable', async (t) => {
  const r = doctor(['--json', ...kubeletPaths()]);
  t.equal(r.code, 0);
  const report = JSON.parse(r.stdout) as Report;
  t.same(report.checks.map((c) => c.check), CHECKS);
  t.equal(report.ok, true);
  t.equal(report.fails, 0);
  t.equal(report.warns, report.checks.filter((c) => c.status === 'warn').length);
  const seccomp = report.checks.find((c) => c.check === 'seccomp-log-action')!;
  t.same(seccomp, { check: 'seccomp-log-action', status: 'ok', found: `/proc/sys/kernel/seccomp/actions_logged: ${readFileSync('/proc/sys/kernel/seccomp/actions_logged', 'utf8').trim()}`, fix: null });
  t.equal(report.checks.find((c) => c.check === 'kubelet-log-root')!.status, 'ok');
});

t.test('an empty SECCOMP_AUDITOR_KUBELET_SECCOMP_DIR is off for the doctor as for run', async (t) => {
  const r = doctor(['--json'], { SECCOMP_AUDITOR_KUBELET_SECCOMP_DIR: '' });
  const report = JSON.parse(r.stdout) as Report;
  t.match(report.checks.find((c) => c.check === 'kubelet-seccomp-dir'), { status: 'ok', found: /installation is off/ });
});

t.test('a proc root whose kernel does not log the log action: exit 1, the fix on the line', async (t) => {
  const proc = procWithSysctls({ 'seccomp/actions_logged': 'kill_process kill_thread trap errno user_notif trace\n' });
  const r = doctor(kubeletPaths(), { SECCOMP_AUDITOR_PROC_ROOT: proc });
  t.equal(r.code, 1, 'learning cannot work');
  const line = r.stdout.split('\n').find((l) => l.startsWith('fail  seccomp-log-action'));
  t.ok(line, r.stdout);
  t.match(line, `; fix: echo "kill_process kill_thread trap errno user_notif trace log" > ${proc}/sys/kernel/seccomp/actions_logged`);
  t.match(r.stdout, /learning cannot work until the failures are fixed\n$/);

  const json = JSON.parse(doctor(['--json', '--proc-root', proc, ...kubeletPaths()]).stdout) as Report;
  t.equal(json.ok, false);
  t.same(json.checks.filter((c) => c.status === 'fail').map((c) => c.check), ['seccomp-log-action']);
  // the fake proc root has printk's defaults, but the daemon reads the audit group: no loss
  t.match(json.checks.find((c) => c.check === 'printk-ratelimit'), { status: 'ok', found: /not used: the daemon does not read \/dev\/kmsg/ });
});

t.test('kmsg under printk\'s rate limit: exit 1, the loss and the fix (the audit group, or auditd)', async (t) => {
  const proc = procWithSysctls();
  const r = doctor(['--json', '--source', 'kmsg', '--proc-root', proc, ...kubeletPaths()]);
  const report = JSON.parse(r.stdout) as Report;
  const printk = report.checks.find((c) => c.check === 'printk-ratelimit')!;
  t.equal(printk.status, 'fail', 'the configured source will lose most records');
  t.match(printk.found, /kernel\.printk_ratelimit=5, printk_ratelimit_burst=10: at most 10 records per 5 s reach \/dev\/kmsg; a fork burst loses ~99%/);
  t.match(printk.fix, /^read the kernel's audit multicast group instead: grant CAP_AUDIT_READ and the host's network namespace \(Kubernetes: hostNetwork: true\), or run auditd/);
  t.equal(r.code, 1);
  // the same with the limit off: no loss, and kmsg is the only thing that could fail
  const off = JSON.parse(doctor(['--json', '--source', 'kmsg', '--proc-root', procWithSysctls({ printk_ratelimit: '0\n' }), ...kubeletPaths()]).stdout) as Report;
  t.equal(off.checks.find((c) => c.check === 'printk-ratelimit')!.status, 'ok');
});

t.test('usage: a source run would refuse, and --help with the shared flags', async (t) => {
  const bad = doctor(['--source', 'syslog']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /unknown source 'syslog'/);
  const help = doctor(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /--source SOURCE .*env SECCOMP_AUDITOR_SOURCE; repeatable/);
  t.match(help.stdout, /--kubelet-seccomp-dir PATH .*default: \/var\/lib\/kubelet\/seccomp; env SECCOMP_AUDITOR_KUBELET_SECCOMP_DIR/);
  t.match(help.stdout, /--json .*env SECCOMP_AUDITOR_DOCTOR_JSON/);
});

const SETPRIV = spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;
const asNobody = process.getuid?.() !== 0 ? 'not root' : !SETPRIV ? 'no setpriv' : false;

t.test('as an unprivileged user: /dev/kmsg and the database fail, with their fixes', { skip: asNobody }, async (t) => {
  builtCli();
  // a directory the user may enter but not write: run's fallback ./data cannot be made there
  const cwd = makeTempDir('sa-doctor-cwd-');
  chmodSync(cwd, 0o755);
  const r = doctor(['--json', '--source', 'kmsg', '--log-dir', '/nonexistent'], {}, ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups'], cwd);
  t.equal(r.code, 1, r.stderr);
  const report = JSON.parse(r.stdout) as Report;
  const byName = new Map(report.checks.map((c) => [c.check, c]));
  const db = byName.get('database')!;
  t.equal(db.status, 'fail');
  t.match(db.found, /is not writable \(EACCES\)/);
  t.match(db.fix, /^create \/var\/lib\/seccomp-auditor writable for the daemon's user .*, or pass --db$/, 'the fix is the system location, not the fallback');
  const restricted = readFileSync('/proc/sys/kernel/dmesg_restrict', 'utf8').trim() === '1';
  const kmsg = byName.get('kmsg')!;
  if (restricted) {
    t.equal(kmsg.status, 'fail');
    t.match(kmsg.found, /permission denied \(EPERM, kernel\.dmesg_restrict=1\)/);
    t.equal(kmsg.fix, 'run as root with CAP_SYSLOG, or sysctl -w kernel.dmesg_restrict=0');
  } else {
    t.equal(kmsg.status, 'ok', 'dmesg_restrict=0 lets anyone read');
  }
  t.equal(byName.get('audit-backlog')!.status, 'warn', 'auditctl -s needs CAP_AUDIT_CONTROL, or is missing');
  t.match(byName.get('audit-channel'), { status: 'warn', found: /CAP_AUDIT_READ is missing \(the daemon does not read it now\)/ }, 'no CAP_AUDIT_READ: named, a warning as --source kmsg is read');
  t.equal(byName.get('proc-root')!.status, 'ok', 'cgroup and stat files are world-readable');
});

t.test('with the DaemonSet\'s privileges only (nobody + AUDIT_READ, SYS_NICE): the group works, audit_lost needs CAP_AUDIT_CONTROL', { skip: asNobody }, async (t) => {
  builtCli();
  const cwd = makeTempDir('sa-doctor-cwd-');
  chmodSync(cwd, 0o755);
  const r = doctor(['--json', '--log-dir', '/nonexistent'], {}, asDaemonSetUser(), cwd);
  const report = JSON.parse(r.stdout) as Report;
  const byName = new Map(report.checks.map((c) => [c.check, c]));
  t.match(byName.get('record-route'), { status: 'ok', found: /audit multicast group answered the canary/ }, 'the default source is the group');
  const channel = byName.get('audit-channel')!;
  t.match(channel.found, /the canary's record arrived in [\d.]+ ms/);
  t.match(channel.found, /audit_lost is not readable without CAP_AUDIT_CONTROL/);
  const rmem = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'));
  const asked = 32 << 20;
  if (2 * rmem < asked) {
    t.match(channel.found, new RegExp(`receive buffer ${2 * rmem} bytes of ${asked} asked \\(--audit-rcvbuf\\), capped by net\\.core\\.rmem_max=${rmem}`), 'no CAP_NET_ADMIN: the buffer is capped by rmem_max');
  } else {
    t.match(channel.found, new RegExp(`receive buffer \\d+ bytes \\(net\\.core\\.rmem_max=${rmem}\\)`), `rmem_max ${rmem} allows the ${asked} bytes asked`);
  }
  t.equal(channel.status, 'ok', 'the group works for the DaemonSet\'s user');
  t.match(byName.get('printk-ratelimit'), { status: 'ok', found: /not used/ }, 'printk does not matter to the group');
});
