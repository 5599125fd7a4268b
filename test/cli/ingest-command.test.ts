import t from 'tap';
import { createWriteStream, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync, spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { syscallName } from '../../src/syscalls/syscall-table.js';
import { builtCli, runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';

// A node's logs copied elsewhere, with a proc root and kubelet log root captured beside them
// (files written the way the kernel and the kubelet write them).
const ID = 'c'.repeat(64);
const UID = '0f1e2d3c-4b5a-6978-8a9b-acbdcedfe0f1';

function nodeCopy() {
  const dir = makeTempDir('sa-ingest-');
  const proc = join(dir, 'proc');
  mkdirSync(join(proc, '4242'), { recursive: true });
  writeFileSync(join(proc, '4242', 'cgroup'), `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${UID.replaceAll('-', '_')}.slice/cri-containerd-${ID}.scope\n`);
  writeFileSync(join(proc, '4242', 'stat'), `4242 (app) S 1 ${'0 '.repeat(17)}777 0 0\n`);
  const logs = join(dir, 'log');
  const podDir = join(logs, 'pods', `shop_cart-0_${UID}`, 'cart');
  mkdirSync(podDir, { recursive: true });
  mkdirSync(join(logs, 'containers'));
  writeFileSync(join(podDir, '0.log'), '');
  symlinkSync(join(podDir, '0.log'), join(logs, 'containers', `cart-0_shop_cart-${ID}.log`));
  const rec = (pid: number, nr: number, sec: number) =>
    `Nov 27 07:21:26 node-1 kernel: [ 1.0] audit: type=1326 audit(${sec}.000:${sec}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${pid} comm="app" exe="/app" sig=0 arch=c000003e syscall=${nr} compat=0 ip=0x7f0000001000 code=0x7ffc0000`;
  const lines = [rec(4242, 0, 100), rec(4242, 1, 101), rec(4242, 0, 102), rec(999, 59, 103), 'unrelated line', 'kauditd_printk_skb: 3 callbacks suppressed'];
  writeFileSync(join(dir, 'kern.log.1.gz'), gzipSync(lines.slice(0, 3).join('\n') + '\n'));
  writeFileSync(join(dir, 'kern.log'), lines.slice(3).join('\n') + '\n');
  return { dir, proc, logs, db: join(dir, 'out.db') };
}

t.test('ingest adds attributed records to the database and prints a summary', async (t) => {
  const n = nodeCopy();
  const r = await runCli(['ingest', join(n.dir, 'kern.log.1.gz'), join(n.dir, 'kern.log'), '--db', n.db, '--proc-root', n.proc, '--log-dir', n.logs, '--node-name', 'node-1']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^records 4, attributed 3, unattributed 1, lost-record signals 1, malformed lines 0, foreign lines 0, distinct syscalls 2, [\d,]+ records\/s\n$/);
  const store = SyscallStore.open({ path: n.db });
  t.teardown(() => store.close());
  const [w] = store.workloadsOfPod('shop', 'cart-0');
  t.match(w, { key: `container:${ID}`, container: 'cart', podUid: UID, qos: 'besteffort', node: 'node-1' });
  t.same(store.syscallsOf([w!.key]).map((s) => [syscallName(s.auditArch, s.syscallNr), s.count]).sort(), [['read', 2], ['write', 1]]);
  t.match(store.unattributedPage({ limit: 100_000 }).items, [{ comm: 'app', exe: '/app', reason: 'exited', count: 1 }]);

  const again = await runCli(['ingest', join(n.dir, 'kern.log.1.gz'), '--db', n.db, '--proc-root', n.proc, '--log-dir', n.logs]);
  t.equal(again.code, 0);
  t.same(store.syscallsOf([w!.key]).map((s) => s.count).sort(), [2, 4], 'a second ingest adds to the counts');
});

t.test('ingest without a proc root puts every record in the unattributed bucket', async (t) => {
  const n = nodeCopy();
  const r = await runCli(['ingest', join(n.dir, 'kern.log.1.gz'), '--db', n.db]);
  t.match(r.stdout, /^records 3, attributed 0, unattributed 3,/);
});

t.test('ingest errors say what to do', async (t) => {
  const n = nodeCopy();
  t.match((await runCli(['ingest', join(n.dir, 'kern.log')])).stderr, /--db PATH is required/);
  t.match((await runCli(['ingest', '--db', n.db])).stderr, /name at least one FILE/);
  const missing = await runCli(['ingest', join(n.dir, 'nope.log'), '--db', n.db]);
  t.equal(missing.code, 1);
  t.match(missing.stderr, /nope\.log: no such file; check the path/);
  writeFileSync(join(n.dir, 'garbage.db'), Buffer.alloc(8192, 0x5a));
  const corrupt = await runCli(['ingest', join(n.dir, 'kern.log'), '--db', join(n.dir, 'garbage.db')]);
  t.equal(corrupt.code, 1);
  t.match(corrupt.stderr, /garbage\.db/);
});

t.test('a file cut short (truncated gzip) is reported, and its last line stays its own', async (t) => {
  const n = nodeCopy();
  const rec = (pid: number, nr: number, sec: number) =>
    `Nov 27 07:21:26 node-1 kernel: [ 1.0] audit: type=1326 audit(${sec}.000:${sec}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${pid} comm="app" exe="/app" sig=0 arch=c000003e syscall=${nr} compat=0 ip=0x7f0000001000 code=0x7ffc0000`;
  // no newline after the last record, and the gzip trailer cut: every byte decodes, then the error
  const gz = gzipSync([rec(4242, 0, 100), rec(4242, 1, 101), rec(4242, 2, 102)].join('\n'));
  writeFileSync(join(n.dir, 'cut.log.gz'), gz.subarray(0, gz.length - 4));
  const r = await runCli(['ingest', join(n.dir, 'cut.log.gz'), join(n.dir, 'kern.log'), '--db', n.db, '--proc-root', n.proc, '--log-dir', n.logs]);
  t.match(r.stderr, /cut\.log\.gz: gzip data is corrupt or truncated/);
  // the cut file's three records and the next file's one: glued to the cut line, kern.log's
  // first record would have been read as an enriched suffix of it and lost
  t.match(r.stdout, /^records 4, attributed 3,/, r.stdout + r.stderr);
});

t.test('ingest reads stdin (gzipped too) on its reading thread and names the input of each malformed line', async (t) => {
  const n = nodeCopy();
  const bad = 'Nov 27 07:21:26 node-1 kernel: [ 1.0] audit: type=1326 audit(104.000:104): pid=4242 comm="app" syscall=notanumber';
  const lines = [bad, bad, bad].join('\n') + '\n';
  const r = await runCli(['ingest', '-', '--db', n.db, '--proc-root', n.proc, '--log-dir', n.logs, '--max-errors', '2'], lines);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^records 0, .*malformed lines 3,/);
  t.equal(r.stderr.match(/^<stdin>:\d+: malformed seccomp record/gm)?.length, 2, 'the first --max-errors are shown, with where they came from');
  t.match(r.stderr, /^\.\.\. 1 more malformed lines not shown$/m);
  const { readFileSync } = await import('node:fs');
  const gz = await runCli(['ingest', '-', '--db', n.db, '--proc-root', n.proc, '--log-dir', n.logs], readFileSync(join(n.dir, 'kern.log.1.gz')));
  t.match(gz.stdout, /^records 3, attributed 3,/, 'gzip told by its magic bytes on stdin too');
});

t.test("a malformed line's number counts from its own file's start", async (t) => {
  const n = nodeCopy();
  const bad = 'Nov 27 07:21:26 node-1 kernel: [ 1.0] audit: type=1326 audit(104.000:104): pid=4242 comm="app" syscall=notanumber';
  // line 3 of each file; the first file's last line has no newline (still a line of its own)
  writeFileSync(join(n.dir, 'a.log'), ['x', 'y', bad, 'last'].join('\n'));
  writeFileSync(join(n.dir, 'b.log'), ['x', 'y', bad].join('\n') + '\n');
  const r = await runCli(['ingest', join(n.dir, 'a.log'), join(n.dir, 'b.log'), join(n.dir, 'a.log'), '--db', n.db]);
  t.equal(r.code, 0, r.stderr);
  t.same(r.stderr.match(/^\S+:\d+(?=: malformed)/gm)?.map((m) => m.slice(n.dir.length + 1)), ['a.log:3', 'b.log:3', 'a.log:3'], r.stderr);
});

t.test('a pipe may be live: a pid a new process took since is read again, as the daemon reads it', async (t) => {
  const n = nodeCopy();
  const ID2 = 'd'.repeat(64);
  const fifo = join(n.dir, 'live.fifo');
  execFileSync('mkfifo', [fifo]);
  const rec = (nr: number, sec: number) =>
    `audit: type=1326 audit(${sec}.000:${sec}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=4242 comm="app" exe="/app" sig=0 arch=c000003e syscall=${nr} compat=0 ip=0x7f0000001000 code=0x7ffc0000\n`;
  // the built CLI, whose threads start in milliseconds (tsx compiles each thread's modules first)
  const child = spawn(process.execPath, [builtCli(), 'ingest', fifo, '--db', n.db, '--proc-root', n.proc, '--log-dir', n.logs], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const out = createWriteStream(fifo);
  // more than a pipe holds after the two records: when the write is done, the ingest has read them
  await new Promise<void>((resolve) => out.write(rec(0, 100) + rec(1, 101) + 'unrelated line\n'.repeat(8192), () => resolve()));
  // past the attributor's check period (a second, with room for a thread that lags on a busy
  // machine): then pid 4242 is another process, in another container
  await sleep(2500);
  writeFileSync(join(n.proc, '4242', 'stat'), `4242 (app) S 1 ${'0 '.repeat(17)}888 0 0\n`);
  writeFileSync(join(n.proc, '4242', 'cgroup'), `0::/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod${'a'.repeat(8)}_4b5a_6978_8a9b_acbdcedfe0f1.slice/cri-containerd-${ID2}.scope\n`);
  await new Promise<void>((resolve) => out.end(rec(2, 200), resolve));
  t.equal(await exited, 0, stderr);
  const store = SyscallStore.open({ path: n.db });
  t.teardown(() => store.close());
  const calls = (id: string) => store.syscallsOf([`container:${id}`]).map((s) => syscallName(s.auditArch, s.syscallNr)).sort();
  t.same(calls(ID), ['read', 'write'], 'the first process\'s records stay with its container');
  t.same(calls(ID2), ['open'], 'the new process\'s go to the container /proc names now (a regular file\'s pids are read once)');
});
