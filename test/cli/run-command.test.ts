import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtCli, runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';

interface LogLine { event?: string; listen?: string; syscall?: string | number; unit?: string; comm?: string; [k: string]: unknown }

/** Starts `seccomp-auditor run` as a process and collects its JSON log lines. */
function startDaemon(args: string[], dbPath?: string) {
  const db = dbPath ?? join(makeTempDir('sa-run-db-'), 'test.db');
  const child = spawn(process.execPath, [builtCli(), 'run', '--listen', '127.0.0.1:0', '--db', db, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
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
  const d = startDaemon(['--source', '-', '--log-dir', '/nonexistent-log-root']);
  t.teardown(() => { d.child.kill('SIGKILL'); });
  const started = await d.waitFor((l) => l.event === 'started');
  const base = `http://${started.listen}`;
  const health = await fetch(`${base}/healthz`);
  t.equal(health.status, 200);
  t.same(await health.json(), { status: 'ok' });
  const ready = await fetch(`${base}/readyz`);
  t.equal(ready.status, 200);
  t.match(await ready.json(), { ready: true, sources: [{ name: 'stdin', ok: true }, { name: 'store', ok: true }] });

  // a record of a live host process (this test's own pid): attributed through /proc
  d.child.stdin!.write(`audit: type=1326 audit(1.000:1): auid=0 uid=0 gid=0 ses=1 pid=${process.pid} comm="node" exe="/usr/bin/node" sig=0 arch=c000003e syscall=59 compat=0 ip=0x1 code=0x7ffc0000\n`);
  const seen = await d.waitFor((l) => l.event === 'new_syscall');
  t.match(seen, { syscall: 'execve', arch: 'x86_64', action: 'log' });
  t.ok(typeof seen.unit === 'string' || typeof seen.containerId === 'string', `attributed to a unit or container: ${JSON.stringify(seen)}`);

  // the same record, as Prometheus sees it (once the batch reached the database)
  let metrics = '';
  for (let i = 0; i < 60 && !(/seccomp_auditor_records_read_total\{source="stdin"\} 1/.test(metrics) && /seccomp_auditor_db_commit_seconds_count [1-9]/.test(metrics)); i++) {
    await new Promise((r) => setTimeout(r, 50));
    metrics = await (await fetch(`${base}/metrics`)).text();
  }
  t.match(metrics, /seccomp_auditor_records_read_total\{source="stdin"\} 1\n/);
  t.match(metrics, /seccomp_auditor_source_up\{source="stdin"\} 1\n/);
  t.match(metrics, /seccomp_auditor_build_info\{version="\d+\.\d+\.\d+"\} 1\n/);
  t.match(metrics, /seccomp_auditor_database_bytes \d+\n/);
  t.match(metrics, /seccomp_auditor_db_commit_seconds_count [1-9]\d*\n/, 'the batch commit was timed');
  t.match(metrics, /process_cpu_user_seconds_total/, 'the default process metrics');
  t.match(metrics, /# HELP seccomp_auditor_records_lost_total Records the sources say were lost/);

  // a record split across two writes is one record (the line is kept across chunks)
  const split = `audit: type=1326 audit(2.000:2): auid=0 uid=0 gid=0 ses=1 pid=${process.pid} comm="node" exe="/usr/bin/node" sig=0 arch=c000003e syscall=39 compat=0 ip=0x1 code=0x7ffc0000\n`;
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
