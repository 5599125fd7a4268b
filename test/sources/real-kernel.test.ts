/**
 * The real-kernel helpers against the real kernel: a workload under a SECCOMP_RET_LOG filter produces
 * type=1326 records on /dev/kmsg for itself and its children, and ERRNO actions show up as code=0x50000
 * when the filter carries SECCOMP_FILTER_FLAG_LOG.
 */
import fs from 'node:fs';
import t from 'tap';
import {
  collectKmsg,
  requireRealKernel,
  resolveSyscall,
  runUnderLogFilter,
  withPrintkRatelimitOff,
  type RunResult,
} from '../helpers/real-kernel.js';

// The rate limit is lifted here on purpose: this file tests the /dev/kmsg path itself (its
// reader, parser and attribution), which needs every record in the kernel log. What /dev/kmsg
// does on a stock node (most records dropped, counted lost) is test/sources/kmsg-stock-ratelimit;
// learning on a stock node goes through the audit group (test/sources/audit-burst, test/e2e).

const SECCOMP = 'type=1326 ';

/** seccomp records of the given pids: `pid=` needs a space before it, or it would also match `ppid=` */
function seccompRecordsOf(records: string[], pids: Set<number>): string[] {
  return records.filter((r) => {
    if (!r.includes(SECCOMP)) return false;
    const m = / pid=(\d+) /.exec(r);
    return m !== null && pids.has(Number(m[1]));
  });
}

function pidOf(record: string): number {
  return Number(/ pid=(\d+) /.exec(record)?.[1]);
}

async function runCollected(argv: string[], opts: Parameters<typeof runUnderLogFilter>[1] = {}) {
  let run: RunResult | undefined;
  const collected = await withPrintkRatelimitOff(() =>
    collectKmsg(async () => { run = await runUnderLogFilter(argv, opts); }));
  if (run === undefined) throw new Error('workload did not run');
  return { run, ...collected };
}

/**
 * Pids of the workload's children. SECCOMP records carry no ppid and short-lived children are gone before
 * /proc could tell, so a child is a pid above the shell's whose records name one of the programs the
 * script runs (unrelated processes under a LOG filter, e.g. containers of other tests, run other binaries).
 */
function childPids(records: string[], shellPid: number, comms: string[]): Set<number> {
  const pids = new Set<number>();
  for (const r of records) {
    if (!r.includes(SECCOMP)) continue;
    const comm = /comm="([^"]*)"/.exec(r)?.[1] ?? '';
    const pid = pidOf(r);
    if (pid > shellPid && comms.includes(comm)) pids.add(pid);
  }
  return pids;
}

function commOf(record: string): string {
  return /comm="([^"]*)"/.exec(record)?.[1] ?? '';
}

t.test('a shell and its children under the LOG filter', async (t) => {
  if (!requireRealKernel(t)) return;
  const { run, records, lost } = await runCollected(
    ['/bin/sh', '-c', 'ls / >/dev/null; cat /proc/version >/dev/null'],
  );
  t.equal(run.code, 0, run.stderr);
  t.equal(lost, 0, 'the collector kept up with the ring buffer');

  const shell = seccompRecordsOf(records, new Set([run.pid]));
  t.ok(shell.length > 0, `records with pid=${run.pid} (the shell)`);
  t.match(shell[0], /audit: type=1326 audit\(\d+\.\d+:\d+\): .* pid=\d+ comm="[^"]+" exe="[^"]+" sig=0 arch=[0-9a-f]+ syscall=\d+ compat=0 ip=0x[0-9a-f]+ code=0x7ffc0000/);

  const children = childPids(records, run.pid, ['ls', 'cat']);
  const tree = seccompRecordsOf(records, new Set([run.pid, ...children]));
  const comms = new Map<string, Set<number>>();
  for (const r of tree) {
    const comm = commOf(r);
    if (!comms.has(comm)) comms.set(comm, new Set());
    comms.get(comm)!.add(pidOf(r));
  }
  t.ok(comms.has('ls'), 'ls was logged');
  t.ok(comms.has('cat'), 'cat was logged');
  t.ok(children.size >= 1, 'records from the children (other pids than the shell) arrived too');
  t.notOk(comms.get('ls')?.has(run.pid), 'ls ran as a child with its own pid');
  t.comment(`${tree.length} seccomp records from ${new Set(tree.map(pidOf)).size} pids: ` +
    [...comms].map(([c, p]) => `${c}(${[...p].join(',')})`).join(' '));
});

t.test('an ERRNO action is logged as code=0x50000 with SECCOMP_FILTER_FLAG_LOG, not without', async (t) => {
  if (!requireRealKernel(t)) return;
  const uname = await resolveSyscall('uname');
  const script = 'uname -a; echo "rc=$?"';

  const logged = await runCollected(['/bin/sh', '-c', script], { errno: ['uname'], logFlag: true });
  t.match(logged.run.stdout, /rc=[1-9]/, 'uname failed');
  t.match(logged.run.stderr, /Operation not permitted/, 'with EPERM');
  t.equal(logged.lost, 0);
  const tree = seccompRecordsOf(logged.records,
    new Set([logged.run.pid, ...childPids(logged.records, logged.run.pid, ['uname'])]));
  const errnoRecords = tree.filter((r) => r.includes(' code=0x50000'));
  t.ok(errnoRecords.length >= 1, 'the ERRNO action was logged');
  t.ok(errnoRecords.every((r) => r.includes(` syscall=${uname} `)), `only for syscall ${uname} (uname)`);
  t.ok(errnoRecords.every((r) => r.includes('comm="uname"')), 'by the uname child');
  t.ok(tree.some((r) => r.includes(` syscall=${uname} `) === false && r.includes('code=0x7ffc0000')),
    'the allowed calls are still logged');

  const silent = await runCollected(['/bin/sh', '-c', script], { errno: ['uname'] });
  t.match(silent.run.stderr, /Operation not permitted/, 'uname fails the same way');
  const silentTree = seccompRecordsOf(silent.records,
    new Set([silent.run.pid, ...childPids(silent.records, silent.run.pid, ['uname'])]));
  t.ok(silentTree.length > 0, 'LOG actions are logged');
  t.notOk(silentTree.some((r) => r.includes(' code=0x50000')), 'the ERRNO action is not logged without the flag');
});

t.test('printk_ratelimit is restored afterwards', async (t) => {
  if (!requireRealKernel(t)) return;
  const file = '/proc/sys/kernel/printk_ratelimit';
  const before = fs.readFileSync(file, 'utf8').trim();
  const inside = await withPrintkRatelimitOff(async () => fs.readFileSync(file, 'utf8').trim());
  t.equal(inside, '0');
  // another test process may hold it at 0 right now; then restoring is its job
  const after = fs.readFileSync(file, 'utf8').trim();
  t.ok(after === before || after === '0', `restored to ${before} (or still held by a parallel test)`);
});
