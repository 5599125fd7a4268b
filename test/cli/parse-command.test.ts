import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { builtCli, runBuiltCli, runCli } from '../helpers/cli.js';
import { SAMPLES_DIR } from '../helpers/paths.js';

const SAMPLE = join(SAMPLES_DIR, 'audit-lines.log');

t.test('parse prints one JSON object per record with names, and a summary on stderr', async (t) => {
  const r = runBuiltCli(['parse', SAMPLE]);
  t.equal(r.code, 0, r.stderr);
  const rows = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  t.equal(rows.length, 19);
  t.same(Object.keys(rows[0]!).slice(0, 12), ['time', 'serial', 'pid', 'comm', 'exe', 'arch', 'auditArch', 'syscallNr', 'syscall', 'compat', 'action', 'code']);
  t.match(rows[0], { time: 1611996299149, serial: 466250, pid: 615549, comm: 'sh', exe: '/bin/busybox', arch: 'x86_64', syscallNr: 1, syscall: 'write', compat: false, action: 'log', uid: 0, gid: 0 });
  t.match(rows[5], { arch: 'i386', syscall: 'getpgid', action: 'kill_thread' });
  t.equal(r.stderr.trim(), 'records 19, skipped lines 0, malformed lines 0, foreign lines 0, lost-record signals 1 (printk_suppressed 6)');
});

t.test('stdin, gzip, several files, malformed lines with file and line number', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sa-parse-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const good = 'audit: type=1326 audit(1.000:1): auid=0 uid=0 gid=0 ses=1 pid=7 comm="a" exe="/a" sig=0 arch=c000003e syscall=59 compat=0 ip=0x1 code=0x7ffc0000\n';
  const bad = 'audit: type=1326 audit(1.000:2): auid=0 uid=0 gid=0 ses=1 pid=7\n';
  writeFileSync(join(dir, 'a.log.gz'), gzipSync(good + 'noise\n' + bad));
  const r = await runCli(['parse', join(dir, 'a.log.gz'), '-'], good);
  t.equal(r.code, 0);
  t.equal(r.stdout.trim().split('\n').length, 2);
  t.match(r.stdout, /"syscall":"execve"/);
  t.match(r.stderr, new RegExp(`${join(dir, 'a.log.gz').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:3: malformed seccomp record \\(missing arch\\)`));
  t.match(r.stderr, /records 2, skipped lines 1, malformed lines 1, foreign lines 0, lost-record signals 0/);
  const stdinGz = runBuiltCli(['parse'], gzipSync(good));
  t.equal(stdinGz.stdout.trim().split('\n').length, 1, 'gzip on stdin');
});

t.test('records other writers put into a log are counted as foreign; relays only with --trust-relay', async (t) => {
  const fields = 'auid=0 uid=0 gid=0 ses=1 pid=7 comm="a" exe="/a" sig=0 arch=c000003e syscall=165 compat=0 ip=0x1 code=0x7ffc0000';
  const text = [
    `10.0.0.7 - - [27/Nov/2026:07:21:26 +0000] "GET / HTTP/1.1" 200 612 "-" "audit: type=1326 audit(1.000:1): ${fields}"`,
    `Nov 27 07:21:26 node-1 someuser: audit: type=1326 audit(1.000:2): ${fields}`,
    `Nov 27 07:21:26 node-1 audisp-syslog: type=SECCOMP msg=audit(1.000:3): ${fields}`,
    `Nov 27 07:21:26 node-1 audit[7]: SECCOMP ${fields}`,
    `Nov 27 07:21:26 node-1 kernel: audit: type=1326 audit(1.000:4): ${fields}`,
  ].join('\n') + '\n';
  const plain = await runCli(['parse', '-'], text);
  t.equal(plain.code, 0, plain.stderr);
  t.same(plain.stdout.trim().split('\n').map((l) => JSON.parse(l).serial), [4], 'only the kernel-tagged line is a record');
  t.match(plain.stderr, /records 1, skipped lines 0, malformed lines 0, foreign lines 4,/);
  const trusted = await runCli(['parse', '--trust-relay', 'audisp', '--trust-relay', 'journal', '-'], text);
  t.equal(trusted.stdout.trim().split('\n').length, 3, 'audisp\'s and journalctl\'s lines too');
  t.match(trusted.stderr, /records 3, skipped lines 0, malformed lines 0, foreign lines 2,/);
  const bad = await runCli(['parse', '--trust-relay', 'rsyslog', '-'], text);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--trust-relay rsyslog: expected audisp or journal/);
});

t.test('errors name the problem and the fix, without a stack trace', async (t) => {
  const missing = runBuiltCli(['parse', '/no/such/file.log']);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /\/no\/such\/file\.log: no such file; check the path/);
  t.notMatch(missing.stderr, /at .*\.js:\d+/);
  const flag = await runCli(['parse', '--bogus']);
  t.equal(flag.code, 2);
  t.match(flag.stderr, /Unknown option '--bogus'.*\n.*--help/s);
  const help = runBuiltCli(['parse', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: seccomp-auditor parse/);
  const top = runBuiltCli(['--help']);
  t.match(top.stdout, /parse +print seccomp audit records/);
  const unknown = runBuiltCli(['frobnicate']);
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /unknown command 'frobnicate'/);
});

t.test('large output is complete, and a reader that goes away early is no error', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sa-parse-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'many.log');
  writeFileSync(file, 'audit: type=1326 audit(1.000:1): pid=7 arch=c000003e syscall=59 code=0x7ffc0000\n'.repeat(200_000));
  const r = runBuiltCli(['parse', file]);
  t.equal(r.code, 0);
  t.equal(r.stdout.trim().split('\n').length, 200_000);
  const head = spawnSync('bash', ['-c', `set -o pipefail; "${process.execPath}" "${builtCli()}" parse "${file}" | head -1`], { encoding: 'utf8' });
  t.equal(head.status, 0, head.stderr);
  t.equal(head.stdout.trim().split('\n').length, 1);
  t.notMatch(head.stderr, /EPIPE|Error/);
});
