import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtCli, runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';

interface LogLine { event?: string; listen?: string; syscall?: string | number; unit?: string; comm?: string; [k: string]: unknown }

/** Starts `seccomp-auditor run` as a process and collects its JSON log lines. */
function startDaemon(args: string[], dbPath?: string, env: NodeJS.ProcessEnv = {}) {
  const db = dbPath ?? join(makeTempDir('sa-run-db-'), 'test.db');
  const child = spawn(process.execPath, [builtCli(), 'run', '--listen', '127.0.0.1:0', '--db', db, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...env } });
  const lines: LogLine[] = [];
  const waiters: { test: (l: LogLine) => boolean; resolve: (l: LogLine) => void }[] = [];
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as LogLine;
    lines.push(line);
    for (const w of [...waiters]) if (w.test(line)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(line); }
  });
  const waitFor = (test: (l: LogLine) => boolean, ms = 10_000): Promise<LogLine> => {
    const found = lines.find(test);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no such log line within ${ms} ms; got ${JSON.stringify(lines)}`)), ms);
      waiters.push({ test, resolve: (l) => { clearTimeout(timer); resolve(l); } });
    });
  };
  return { child, lines, waitFor, db };
}

t.test('run: serves health, attributes records from stdin, stops on SIGTERM within a second', async (t) => {
  // a host process in a systemd unit, in a proc root of our own: the test's own process may sit in
  // any cgroup (the root one on this machine), and only a unit's process is a workload
  const proc = join(makeTempDir('sa-run-proc-'), 'proc');
  const pid = 4321;
  mkdirSync(join(proc, String(pid)), { recursive: true });
  writeFileSync(join(proc, String(pid), 'cgroup'), '0::/system.slice/sa-probe.service\n');
  writeFileSync(join(proc, String(pid), 'stat'), `${pid} (node) S 1 ${'0 '.repeat(17)}777 0 0\n`);
  const d = startDaemon(['--source', '-', '--proc-root', proc, '--log-dir', '/nonexistent-log-root']);
  t.teardown(() => { d.child.kill('SIGKILL'); });
  const started = await d.waitFor((l) => l.event === 'started');
  const base = `http://${started.listen}`;
  const health = await fetch(`${base}/healthz`);
  t.equal(health.status, 200);
  t.same(await health.json(), { status: 'ok' });
  const ready = await fetch(`${base}/readyz`);
  t.equal(ready.status, 200);
  t.match(await ready.json(), { ready: true, sources: [{ name: 'stdin', ok: true }, { name: 'store', ok: true }] });

  // a record of that live host process: attributed through /proc to its unit
  d.child.stdin!.write(`audit: type=1326 audit(1.000:1): auid=0 uid=0 gid=0 ses=1 pid=${pid} comm="node" exe="/usr/bin/node" sig=0 arch=c000003e syscall=59 compat=0 ip=0x1 code=0x7ffc0000\n`);
  const seen = await d.waitFor((l) => l.event === 'new_syscall');
  t.match(seen, { syscall: 'execve', arch: 'x86_64', action: 'log', unit: 'sa-probe.service' });

  // the same record, as Prometheus sees it (once the batch reached the database)
  let metrics = '';
  for (let i = 0; i < 60 && !(/seccomp_auditor_records_read_total\{source="stdin"\} 1/.test(metrics) && /seccomp_auditor_database_commit_seconds_count [1-9]/.test(metrics)); i++) {
    await new Promise((r) => setTimeout(r, 50));
    metrics = await (await fetch(`${base}/metrics`)).text();
  }
  t.match(metrics, /seccomp_auditor_records_read_total\{source="stdin"\} 1\n/);
  t.match(metrics, /seccomp_auditor_source_up\{source="stdin"\} 1\n/);
  t.match(metrics, /seccomp_auditor_build_info\{version="\d+\.\d+\.\d+"\} 1\n/);
  t.match(metrics, /seccomp_auditor_database_bytes \d+\n/);
  t.match(metrics, /seccomp_auditor_database_commit_seconds_count [1-9]\d*\n/, 'the batch commit was timed');
  t.match(metrics, /process_cpu_user_seconds_total/, 'the default process metrics');
  t.match(metrics, /# HELP seccomp_auditor_records_lost_total Records the sources say were lost/);

  // a record split across two writes is one record (the line is kept across chunks)
  const split = `audit: type=1326 audit(2.000:2): auid=0 uid=0 gid=0 ses=1 pid=${pid} comm="node" exe="/usr/bin/node" sig=0 arch=c000003e syscall=39 compat=0 ip=0x1 code=0x7ffc0000\n`;
  d.child.stdin!.write(split.slice(0, 60));
  await new Promise((r) => setTimeout(r, 100));
  d.child.stdin!.write(split.slice(60));
  t.match(await d.waitFor((l) => l.event === 'new_syscall' && l.syscall === 'getpid'), { action: 'log' }, 'a line written in two pieces');

  const stoppedAt = Date.now();
  d.child.kill('SIGTERM');
  const [code] = await once(d.child, 'exit');
  t.equal(code, 0, 'clean exit');
  t.ok(Date.now() - stoppedAt < 1000, `exited within a second (${Date.now() - stoppedAt} ms)`);
});

t.test('run: bad flags are usage errors that say what to do', async (t) => {
  const listen = await runCli(['run', '--listen', 'nonsense']);
  t.equal(listen.code, 2);
  t.match(listen.stderr, /--listen nonsense: expected HOST:PORT/);
  const source = await runCli(['run', '--source', 'tape']);
  t.equal(source.code, 2);
  t.match(source.stderr, /unknown source 'tape'/);
  const envSource = await runCli(['run'], '', { SECCOMP_AUDITOR_SOURCE: 'bogus' });
  t.match(envSource.stderr, /unknown source 'bogus'/, 'flags come from the environment too');
  const reads = await runCli(['run', '--protect-reads', '--source', 'none']);
  t.equal(reads.code, 2);
  t.match(reads.stderr, /--protect-reads needs --token-file/);
});

t.test('run: the metrics window and the store\'s key caps: bad values are usage errors', async (t) => {
  const window = await runCli(['run', '--metrics-series-window', '90', '--source', 'none']);
  t.equal(window.code, 2);
  t.match(window.stderr, /--metrics-series-window 90: expected a number and a unit, e.g. 30d or 12h/);
  const empty = await runCli(['run', '--metrics-series-window', '0h', '--source', 'none']);
  t.match(empty.stderr, /--metrics-series-window 0h: expected more than 0/, 'a window of nothing would export no container');
  const keys = await runCli(['run', '--max-unattributed-keys=-1', '--source', 'none']);
  t.equal(keys.code, 2);
  t.match(keys.stderr, /--max-unattributed-keys -1: expected a whole number, e.g. 10000/);
  const exes = await runCli(['run', '--source', 'none'], '', { SECCOMP_AUDITOR_MAX_EXECUTABLES_PER_CONTAINER: '1.5' });
  t.equal(exes.code, 2);
  t.match(exes.stderr, /--max-executables-per-container 1.5: expected a whole number, e.g. 1000/, 'the environment is checked the same way');
  const help = await runCli(['run', '--help']);
  for (const flag of ['--metrics-series-window DURATION', 'SECCOMP_AUDITOR_METRICS_SERIES_WINDOW', '--max-unattributed-keys N', 'SECCOMP_AUDITOR_MAX_UNATTRIBUTED_KEYS', '--max-executables-per-container N', 'SECCOMP_AUDITOR_MAX_EXECUTABLES_PER_CONTAINER']) {
    t.ok(help.stdout.includes(flag), `help names ${flag}`);
  }
});

t.test('run: --metrics-series-window and the key caps (flag and environment) reach the metrics and the store', async (t) => {
  // two pods' containers in a proc root and kubelet log root of our own (as the kernel and the
  // kubelet write them): a-0 last seen 2 h ago, b-0 4 h ago; pid 999 has no /proc entry
  const dir = makeTempDir('sa-run-caps-');
  const proc = join(dir, 'proc'), logs = join(dir, 'log');
  mkdirSync(join(logs, 'containers'), { recursive: true });
  const pods = [{ pod: 'a-0', id: 'a'.repeat(64), uid: '0f1e2d3c-4b5a-6978-8a9b-acbdcedfe0a1', pids: [4242, 4243] }, { pod: 'b-0', id: 'b'.repeat(64), uid: '0f1e2d3c-4b5a-6978-8a9b-acbdcedfe0b1', pids: [4244] }];
  for (const p of pods) {
    for (const pid of p.pids) {
      mkdirSync(join(proc, String(pid)), { recursive: true });
      writeFileSync(join(proc, String(pid), 'cgroup'), `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${p.uid.replaceAll('-', '_')}.slice/cri-containerd-${p.id}.scope\n`);
      writeFileSync(join(proc, String(pid), 'stat'), `${pid} (app) S 1 ${'0 '.repeat(17)}777 0 0\n`);
    }
    const podDir = join(logs, 'pods', `shop_${p.pod}_${p.uid}`, 'app');
    mkdirSync(podDir, { recursive: true });
    writeFileSync(join(podDir, '0.log'), '');
    symlinkSync(join(podDir, '0.log'), join(logs, 'containers', `${p.pod}_shop_app-${p.id}.log`));
  }
  const d = startDaemon(['--source', '-', '--proc-root', proc, '--log-dir', logs, '--kubelet-seccomp-dir', 'none',
    '--metrics-series-window', '3h', '--max-unattributed-keys', '1'], undefined, { SECCOMP_AUDITOR_MAX_EXECUTABLES_PER_CONTAINER: '1' });
  t.teardown(() => { d.child.kill('SIGKILL'); });
  const started = await d.waitFor((l) => l.event === 'started');
  const hoursAgo = (h: number) => (Date.now() - h * 3_600_000) / 1000;
  const rec = (pid: number, sec: number, comm: string, exe: string) =>
    `audit: type=1326 audit(${sec.toFixed(3)}:${pid}): auid=0 uid=0 gid=0 ses=1 pid=${pid} comm="${comm}" exe="${exe}" sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x7ffc0000\n`;
  // a-0: two processes of two executables, one over the cap; 999: two groups, one over the cap
  d.child.stdin!.write(rec(4242, hoursAgo(2), 'app', '/app') + rec(4243, hoursAgo(2), 'helper', '/helper') + rec(4244, hoursAgo(4), 'app', '/app') +
    rec(999, hoursAgo(2), 'ls', '/bin/ls') + rec(999, hoursAgo(2), 'cat', '/bin/cat'));
  let metrics = '';
  // the counters and the per-container families are read apart (the families on the read thread,
  // whose snapshot may predate the commit the counters already show): wait for both
  const a0 = /seccomp_auditor_container_syscall_records_total\{[^}]*pod="a-0"[^}]*\} 2\n/;
  for (let i = 0; i < 100 && !(/key_overflow_records_total\{table="unattributed"\} 1\n/.test(metrics) && a0.test(metrics)); i++) {
    await new Promise((r) => setTimeout(r, 50));
    metrics = await (await fetch(`http://${started.listen}/metrics`)).text();
  }
  t.match(metrics, /seccomp_auditor_key_overflow_records_total\{table="unattributed"\} 1\n/, '--max-unattributed-keys 1 kept the second group out');
  t.match(metrics, /seccomp_auditor_key_overflow_records_total\{table="executables"\} 1\n/, 'the environment\'s cap of 1 executable kept the second out');
  t.match(metrics, a0, 'a-0, seen 2 h ago, is inside the 3 h window (the default hour would leave it out)');
  t.notMatch(metrics, /pod="b-0"/, 'b-0, seen 4 h ago, is outside it');
});

t.test('run: a token file others may read draws a warning at start', async (t) => {
  const dir = makeTempDir('sa-run-token-');
  // a later usage error stops the run right after the token is read
  const stop = ['--source', 'none', '--kubelet-seccomp-dir', 'none', '--sync-profiles-from', dir];
  const open = join(dir, 'open');
  writeFileSync(open, 'b'.repeat(40), { mode: 0o644 });
  chmodSync(open, 0o644);
  const warned = await runCli(['run', '--token-file', open, ...stop]);
  t.match(warned.stderr, `seccomp-auditor run: warning: the token file ${open} is readable by group or others (mode 0644); chmod 600 it (a Kubernetes Secret: defaultMode: 0400)`);
  const closed = join(dir, 'closed');
  writeFileSync(closed, 'b'.repeat(40), { mode: 0o600 });
  const quiet = await runCli(['run', '--token-file', closed, ...stop]);
  t.notMatch(quiet.stderr, /warning/);
});

t.test('run: a port in use is a clear error', async (t) => {
  const first = startDaemon(['--source', 'none']);
  t.teardown(() => { first.child.kill('SIGKILL'); });
  const started = await first.waitFor((l) => l.event === 'started');
  const second = spawn(process.execPath, [builtCli(), 'run', '--source', 'none', '--db', join(makeTempDir('sa-run-db-'), 'b.db'), '--listen', started.listen!], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  second.stderr!.on('data', (c: Buffer) => { stderr += c.toString(); });
  const [code] = await once(second, 'exit');
  t.equal(code, 1);
  t.match(stderr, /is in use; stop the other process or choose --listen HOST:PORT/);
});

t.test('run: a corrupt database is reported and the daemon keeps serving', async (t) => {
  const db = join(makeTempDir('sa-run-db-'), 'corrupt.db');
  writeFileSync(db, Buffer.alloc(16384, 0x42));
  const d = startDaemon(['--source', 'none'], db);
  t.teardown(() => { d.child.kill('SIGKILL'); });
  const failed = await d.waitFor((l) => l.event === 'store_failed');
  t.match(String(failed['error']), /corrupt\.db/, 'the error names the database');
  const started = await d.waitFor((l) => l.event === 'started');
  const health = await fetch(`http://${started.listen}/healthz`);
  t.equal(health.status, 200, 'alive');
  const ready = await fetch(`http://${started.listen}/readyz`);
  t.equal(ready.status, 503, 'not ready');
  t.match(await ready.json(), { ready: false, sources: [{ name: 'store', ok: false, error: /corrupt\.db/ }] });
  t.equal(readFileSync(db).subarray(0, 16).toString('latin1'), 'B'.repeat(16), 'the file was left as it was');
});
