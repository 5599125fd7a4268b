import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { OPTIONS as RUN_OPTIONS } from '../../src/cli/run-command.js';
import { builtCli } from '../helpers/cli.js';
import { FIXTURES, REPO_ROOT, SAMPLES_DIR } from '../helpers/paths.js';
import { makeTempDir, runUnderLogFilter } from '../helpers/real-kernel.js';
import { allowedSyscalls, requireSeccompAllow, underAllowList } from '../helpers/seccomp-allow.js';

const UNIT_FILE = join(REPO_ROOT, 'systemd', 'seccomp-auditor.service');
const TEXT = readFileSync(UNIT_FILE, 'utf8');
/** where the unit's comments say `npm install --global --prefix /opt/seccomp-auditor` puts the executable */
const INSTALLED = '/opt/seccomp-auditor/bin/seccomp-auditor';

/** `[Section]` → `Key=value` assignments in order (repeated keys kept); comments and blank lines dropped. */
function parseUnit(text: string): Map<string, Array<[string, string]>> {
  const sections = new Map<string, Array<[string, string]>>();
  let current: Array<[string, string]> | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      current = [];
      sections.set(header[1]!, current);
      continue;
    }
    const eq = line.indexOf('=');
    if (current === undefined || eq < 0) throw new Error(`not a unit file line: ${line}`);
    current.push([line.slice(0, eq), line.slice(eq + 1)]);
  }
  return sections;
}

const UNIT = parseUnit(TEXT);
const service = (key: string): string[] => (UNIT.get('Service') ?? []).filter(([k]) => k === key).map(([, v]) => v);

t.test('the unit is hardened as documented', async (t) => {
  const expected: Record<string, string[]> = {
    Type: ['exec'],
    ExecStart: [`${INSTALLED} run`],
    ExecStartPre: [`-${INSTALLED} doctor`],
    Restart: ['on-failure'],
    // the DaemonSet's capabilities: the audit group and the reader's priority
    CapabilityBoundingSet: ['CAP_AUDIT_READ CAP_SYS_NICE'],
    AmbientCapabilities: ['CAP_AUDIT_READ CAP_SYS_NICE'],
    User: [],
    DynamicUser: [],
    NoNewPrivileges: ['yes'],
    ProtectSystem: ['strict'],
    StateDirectory: ['seccomp-auditor'],
    ReadWritePaths: ['-/var/lib/kubelet/seccomp'],
    ProtectHome: ['yes'],
    PrivateTmp: ['yes'],
    ProtectKernelTunables: ['yes'],
    ProtectControlGroups: ['yes'],
    // /dev/kmsg is not read: the kernel log and devices are closed
    ProtectKernelLogs: ['yes'],
    PrivateDevices: ['yes'],
    ProtectProc: [],
    ProcSubset: [],
    DevicePolicy: ['closed'],
    DeviceAllow: [],
    // the audit group delivers only in the host's initial network namespace
    PrivateNetwork: [],
    NetworkNamespacePath: [],
    JoinsNamespaceOf: [],
    RestrictAddressFamilies: ['AF_UNIX AF_INET AF_INET6 AF_NETLINK'],
    MemoryDenyWriteExecute: [],
    LockPersonality: ['yes'],
    RestrictRealtime: ['yes'],
    SystemCallArchitectures: ['native'],
    SystemCallFilter: ['@system-service', 'seccomp', '~@privileged'],
    SystemCallErrorNumber: ['EPERM'],
  };
  for (const [key, values] of Object.entries(expected)) t.same(service(key), values, key);
  t.match(TEXT, /NOT MemoryDenyWriteExecute: V8's JIT compiler needs memory that is writable and executable/, 'why W^X stays off');
  t.match(TEXT, /CAP_AUDIT_READ +joining the kernel's audit multicast group/);
  t.match(TEXT, /CAP_SYS_NICE +the reader thread raises its priority/);
  t.match(TEXT, /NOT PrivateNetwork: the kernel delivers the audit multicast group only to sockets in the host's\n# initial network namespace/, 'why the network stays the host\'s');
  t.same(UNIT.get('Install'), [['WantedBy', 'multi-user.target']]);
  t.match(UNIT.get('Unit')?.find(([k]) => k === 'After')?.[1], /\bauditd\.service\b/, 'the default source sees auditd');
});

t.test('its environment names run\'s flags, and the database lies in the state directory', async (t) => {
  const envOf = new Map(Object.values(RUN_OPTIONS).map((o) => [o.env, o]));
  const env = new Map(service('Environment').map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  t.ok(env.size >= 5);
  for (const name of env.keys()) t.ok(envOf.has(name), `${name} is a flag of run`);
  t.equal(env.get('SECCOMP_AUDITOR_DB'), `/var/lib/${service('StateDirectory')[0]}/seccomp-auditor.db`);
  t.equal(env.get('SECCOMP_AUDITOR_LISTEN'), RUN_OPTIONS.listen.default);
  t.equal(env.get('SECCOMP_AUDITOR_PROC_ROOT'), '/proc');
  t.same(service('EnvironmentFile'), ['-/etc/default/seccomp-auditor']);
});

/** The unit with its executable rewritten to this machine's node and this checkout's dist/cli.js. */
function localUnit(extra = ''): string {
  const dir = makeTempDir('sa-unit-');
  const file = join(dir, 'seccomp-auditor.service');
  writeFileSync(file, TEXT.replaceAll(INSTALLED, `${process.execPath} ${builtCli()}`) + extra);
  return file;
}

const ANALYZE = spawnSync('systemd-analyze', ['--version'], { stdio: 'ignore' }).status === 0;

t.test('systemd-analyze verify accepts it (executable rewritten to this checkout)', { skip: ANALYZE ? false : 'systemd-analyze is not installed' }, async (t) => {
  // verify checks that ExecStart's program exists, and /opt/seccomp-auditor is not installed here
  const r = spawnSync('systemd-analyze', ['verify', localUnit()], { encoding: 'utf8' });
  t.equal(r.stdout + r.stderr, '', 'no complaint');
  t.equal(r.status, 0);
  const bad = spawnSync('systemd-analyze', ['verify', localUnit('ProtectSytem=strict\n')], { encoding: 'utf8' });
  t.match(bad.stderr, /Unknown key 'ProtectSytem'/, 'it does complain about a misspelt directive');
});

interface LogLine { level?: number; event?: string; listen?: string; msg?: string; [k: string]: unknown }

/** The unit's CapabilityBoundingSet= as setpriv's list: `-all,+audit_read,+sys_nice`. */
function unitCapabilities(): string {
  const caps = service('CapabilityBoundingSet').join(' ').split(/\s+/).filter((c) => c !== '');
  return ['-all', ...caps.map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`)].join(',');
}

/**
 * `seccomp-auditor run ARGS` as root with only the unit's capabilities (its bounding set, which
 * for root is also what it holds) and under exactly the unit's system call filter; its JSON log
 * lines collected.
 */
function runUnderUnit(t: Test, args: string[]) {
  const names = allowedSyscalls(service('SystemCallFilter'));
  const argv = ['setpriv', '--bounding-set', unitCapabilities(), '--', ...underAllowList(names, [process.execPath, builtCli(), 'run', '--listen', '127.0.0.1:0', ...args])];
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGKILL'); });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
  const lines: LogLine[] = [];
  createInterface({ input: child.stdout }).on('line', (text) => {
    try {
      lines.push(JSON.parse(text) as LogLine);
    } catch {
      lines.push({ msg: text });
    }
  });
  const waitFor = async (test: () => boolean | Promise<boolean>, what: string, ms = 15_000): Promise<void> => {
    const deadline = Date.now() + ms;
    while (!(await test())) {
      if (Date.now() > deadline || child.exitCode !== null) throw new Error(`${what}: not within ${ms} ms (exit ${child.exitCode}); stderr: ${stderr}; log: ${JSON.stringify(lines)}`);
      await sleep(50);
    }
  };
  const started = async (): Promise<string> => {
    await waitFor(() => lines.some((l) => l.event === 'started'), 'started');
    const listed = (what: string): string[] => new RegExp(`^seccomp-allow: ${what}:(.*)$`, 'm').exec(stderr)?.[1]!.trim().split(' ').filter((n) => n !== '') ?? [];
    t.comment(`${names.size} names from the unit's SystemCallFilter: ${/allowed (\d+)/.exec(stderr)?.[1]} allowed, ${listed('not native').length} not on this architecture, unknown to this libseccomp: ${listed('unknown').join(' ') || 'none'}`);
    t.match(stderr, /^seccomp-allow: allowed \d{3}/m, 'the filter was loaded');
    return `http://${lines.find((l) => l.event === 'started')!.listen}`;
  };
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    const [code, signal] = (await Promise.race([once(child, 'exit'), sleep(10_000).then(() => [null, 'timeout'])])) as [number | null, string | null];
    t.equal(signal, null, 'exited by itself');
    t.equal(code, 0, `clean exit; stderr: ${stderr}`);
    t.same(lines.filter((l) => (l.level ?? 0) >= 50 || l.msg === undefined && l.event === undefined), [], 'no error lines and nothing that is not JSON');
    t.ok(lines.some((l) => l.event === 'stopping'));
  };
  return { child, lines, waitFor, started, stop };
}

/** A counter's value on /metrics, -1 when the series is missing. */
async function metric(base: string, series: string): Promise<number> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? -1 : Number(line.slice(series.length + 1));
}

t.test('the daemon\'s default source, the audit group, under exactly the unit\'s system call filter and capabilities', async (t) => {
  // root, seccomp filters, a C compiler (for the workload's logging filter too) and systemd-analyze
  if (!requireSeccompAllow(t)) return;
  const names = allowedSyscalls(service('SystemCallFilter'));
  for (const name of ['socket', 'bind', 'setsockopt', 'recvmsg', 'poll', 'prctl', 'seccomp', 'setpriority']) {
    t.ok(names.has(name), `${name}: the audit source, its canary or the reader's priority`);
  }
  t.ok(names.has('io_uring_setup') && !names.has('setuid'), 'the expansion holds what it should');
  t.match(service('RestrictAddressFamilies').join(' '), /\bAF_NETLINK\b/, 'netlink sockets are allowed');

  const dir = makeTempDir('sa-unit-audit-');
  const logDir = join(dir, 'log');
  mkdirSync(join(logDir, 'pods'), { recursive: true });
  mkdirSync(join(logDir, 'containers'));
  // no --source: the daemon chooses, as the unit leaves SECCOMP_AUDITOR_SOURCE unset
  const d = runUnderUnit(t, ['--db', join(dir, 'state', 'sa.db'), '--log-dir', logDir, '--kubelet-seccomp-dir', join(dir, 'seccomp')]);
  const base = await d.started();
  const chosen = d.lines.find((l) => l.event === 'source_chosen');
  t.equal(chosen?.['source'], 'audit', `the default source: ${String(chosen?.['why'])}`);

  // the canary: a thread of the daemon loaded a one-syscall logging filter (prctl + seccomp under
  // the unit's filter) and its record came back through the group (socket, bind, setsockopt, poll, recvmsg)
  type Status = { sources: Array<{ name: string; audit?: { canary: { state: string; latencyMs: number | null; detail: string | null } } | null }> };
  let status: Status | null = null;
  await d.waitFor(async () => {
    status = (await (await fetch(`${base}/api/v1/status`)).json()) as Status;
    return status.sources.find((s) => s.name === 'audit')?.audit?.canary.state !== 'pending';
  }, 'the canary settled');
  const canary = status!.sources.find((s) => s.name === 'audit')?.audit?.canary;
  t.equal(canary?.state, 'seen', `the canary's record arrived: ${JSON.stringify(canary)}`);

  const ready = await fetch(`${base}/readyz`);
  const readyBody = await ready.text();
  t.equal(ready.status, 200, `ready: ${readyBody}`);
  t.same((JSON.parse(readyBody) as { sources: Array<{ name: string }> }).sources.map((s) => s.name), ['audit', 'store']);

  // a real workload's records reach the daemon through the group
  const before = Math.max(0, await metric(base, 'seccomp_auditor_records_read_total{source="audit"}'));
  const run = await runUnderLogFilter(['/bin/true']);
  t.equal(run.code, 0);
  let after = before;
  await d.waitFor(async () => (after = await metric(base, 'seccomp_auditor_records_read_total{source="audit"}')) >= before + 10, 'the workload\'s records counted');
  t.ok(after - before >= 10, `records read from the group: ${after - before} (/bin/true under a logging filter makes more than 10)`);
  t.equal((await fetch(`${base}/healthz`)).status, 200);
  t.equal((await fetch(`${base}/metrics`)).status, 200);

  await d.stop();
  t.ok(d.lines.some((l) => l.event === 'audit_canary' && l['state'] === 'seen'), 'the daemon logged the canary');
  t.notOk(d.lines.some((l) => l.event === 'reader_priority'), 'the reader raised its priority (setpriority allowed, CAP_SYS_NICE held)');
  t.ok(existsSync(join(dir, 'state', 'sa.db')), 'the database was written');
});

/** Lines to feed the file source: the shared real samples. */
const SAMPLES = readFileSync(join(SAMPLES_DIR, 'audit-lines.log'), 'utf8');

t.test('file and journal sources and the API under the same filter and capabilities', async (t) => {
  if (!requireSeccompAllow(t)) return;
  const dir = makeTempDir('sa-unit-run-');
  const log = join(dir, 'audit.log');
  writeFileSync(log, '');
  const logDir = join(dir, 'log');
  mkdirSync(join(logDir, 'pods'), { recursive: true });
  mkdirSync(join(logDir, 'containers'));
  const sources = ['--source', `file:${log}`];
  const journal = journalDir(dir);
  if (journal !== null) sources.push('--source', `journal:${journal}`);
  else if (process.env['SECCOMP_AUDITOR_REQUIRE_KERNEL'] === '1') t.fail('systemd-journal-remote is not installed, but SECCOMP_AUDITOR_REQUIRE_KERNEL=1 (.ci/run installs it)');
  else t.comment('systemd-journal-remote not installed: the journal source (journalctl under the filter) is left out');

  const d = runUnderUnit(t, ['--db', join(dir, 'state', 'sa.db'), '--log-dir', logDir, '--kubelet-seccomp-dir', join(dir, 'seccomp'), ...sources]);
  const base = await d.started();

  // lines written after the start are what a new database's file source reads
  appendFileSync(log, SAMPLES);
  const records = SAMPLES.split('\n').filter((l) => l.includes('type=1326') || l.includes('type=SECCOMP')).length;
  const fileSeries = `seccomp_auditor_records_read_total{source="file:${log}"}`;
  let read = -1;
  const deadline = Date.now() + 15_000;
  while ((read = await metric(base, fileSeries)) < records && Date.now() < deadline) await sleep(100);
  t.equal(read, records, `the file source read all ${records} sample records`);
  if (journal !== null) {
    // journalctl, a child under the same filter, follows the journal: one new kernel entry
    appendJournal(journal, exportEntry(SAMPLES.split('\n')[0]!));
    let got = -1;
    const until = Date.now() + 15_000;
    while ((got = await metric(base, 'seccomp_auditor_records_read_total{source="journal"}')) < 1 && Date.now() < until) await sleep(100);
    t.equal(got, 1, 'the journal source read the new entry through journalctl');
  }

  const health = await fetch(`${base}/healthz`);
  t.equal(health.status, 200);
  const ready = await fetch(`${base}/readyz`);
  const readyBody = await ready.text();
  t.equal(ready.status, 200, `ready: ${readyBody}`);
  const up = JSON.parse(readyBody) as { sources: Array<{ name: string; ok: boolean }> };
  t.same(up.sources.map((s) => s.name), [`file:${log}`, ...(journal !== null ? ['journal'] : []), 'store'], 'every source runs');
  const metrics = await fetch(`${base}/metrics`);
  t.equal(metrics.status, 200);
  t.match(await metrics.text(), /^seccomp_auditor_build_info\{/m);
  const pods = await fetch(`${base}/api/v1/pods`);
  t.equal(pods.status, 200);
  t.ok(Array.isArray(((await pods.json()) as { items?: unknown }).items), 'a pod list');
  const status = await fetch(`${base}/api/v1/status`);
  t.equal(status.status, 200);

  await d.stop();
  t.ok(existsSync(join(dir, 'state', 'sa.db')), 'the database was written');
});

t.test('the doctor of ExecStartPre works under the same filter', async (t) => {
  if (!requireSeccompAllow(t)) return;
  const dir = makeTempDir('sa-unit-doctor-');
  const argv = underAllowList(allowedSyscalls(service('SystemCallFilter')), [process.execPath, builtCli(), 'doctor', '--json', '--db', join(dir, 'sa.db')]);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
  const report = JSON.parse(r.stdout) as { checks: Array<{ check: string; status: string; found: string }> };
  t.equal(report.checks.length, 13, 'every check ran');
  // the doctor joins the group and makes its canary record under the unit's filter, as the daemon does
  const channel = report.checks.find((c) => c.check === 'audit-channel')!;
  t.match(channel.found, /the canary's record arrived/, channel.found);
  // auditctl runs under the filter too: its netlink query is not a system call the filter removes
  const audit = report.checks.find((c) => c.check === 'audit-backlog')!;
  t.notMatch(audit.found, /Operation not permitted/, audit.found);
  t.equal(r.status, report.checks.some((c) => c.status === 'fail') ? 1 : 0);
});

t.test('the filter bites: a call the unit removes fails with EPERM', async (t) => {
  if (!requireSeccompAllow(t)) return;
  const names = allowedSyscalls(service('SystemCallFilter'));
  // setuid is in @system-service (through @setuid) and removed again by ~@privileged
  const argv = underAllowList(names, [process.execPath, '-e', 'try { process.setuid(0); console.log("allowed") } catch (e) { console.log(e.code) }']);
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8', timeout: 30_000 });
  t.equal(r.stdout.trim(), 'EPERM', 'setuid fails with the unit\'s errno');
  t.equal(r.status, 0);
});

const JOURNAL_REMOTE = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find((p) => existsSync(p));

/** A journal directory holding the shared fixture (test/fixtures/journal), or null without systemd-journal-remote. */
function journalDir(parent: string): string | null {
  if (JOURNAL_REMOTE === undefined) return null;
  const dir = join(parent, 'journal');
  mkdirSync(dir);
  appendJournal(dir, readFileSync(join(FIXTURES, 'journal', 'seccomp.export'), 'utf8'));
  return dir;
}

/** Writes export-format entries into DIR/node.journal (appending once it exists), as journald would. */
function appendJournal(dir: string, entries: string): void {
  const r = spawnSync(JOURNAL_REMOTE!, [`--output=${join(dir, 'node.journal')}`, '--split-mode=none', '-'], { input: entries, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`systemd-journal-remote failed: ${r.stderr}`);
}

/** One kernel-transport entry with MESSAGE, after the fixture's entries (same boot, later clocks). */
function exportEntry(message: string): string {
  return ['__REALTIME_TIMESTAMP=1700000100000000', '__MONOTONIC_TIMESTAMP=5100000000', '_BOOT_ID=5f1e0c4a6b2d4e8f9a0b1c2d3e4f5a6b',
    '_MACHINE_ID=9e8d7c6b5a4938271605f4e3d2c1b0a9', '_HOSTNAME=node-a', '_TRANSPORT=kernel', 'PRIORITY=5', 'SYSLOG_IDENTIFIER=kernel', `MESSAGE=${message}`, '', ''].join('\n');
}
