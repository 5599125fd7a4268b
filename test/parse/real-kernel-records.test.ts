/**
 * The parser on records a real kernel wrote: a shell and its children run under a
 * SECCOMP_RET_LOG filter, /dev/kmsg is read as the daemon reads it (one record per read), and
 * every type=1326 record must parse, with names resolved by the record's own arch.
 */
import t from 'tap';
import { SeccompLineParser } from '../../src/parse/seccomp-line-parser.js';
import type { RecordHandler } from '../../src/parse/record-handler.js';
import { archName, syscallName } from '../../src/syscalls/syscall-table.js';
import type { SeccompRecordData } from '../../src/types/seccomp-record.js';
import { collectKmsg, requireRealKernel, runUnderLogFilter, withPrintkRatelimitOff, type RunResult } from '../helpers/real-kernel.js';

// The rate limit is lifted here on purpose: this file tests the /dev/kmsg path itself (its
// reader, parser and attribution), which needs every record in the kernel log. What /dev/kmsg
// does on a stock node (most records dropped, counted lost) is test/sources/kmsg-stock-ratelimit;
// learning on a stock node goes through the audit group (test/sources/audit-burst, test/e2e).

type Row = SeccompRecordData & { arch: string | null; syscall: string | null };

function parseRecords(records: string[]): { rows: Row[]; malformed: string[] } {
  const rows: Row[] = [];
  const malformed: string[] = [];
  const handler: RecordHandler = {
    onRecord(rec) {
      const d = rec.snapshot();
      rows.push({ ...d, arch: archName(d.auditArch!, d.syscallNr!), syscall: syscallName(d.auditArch!, d.syscallNr!) });
    },
    onLostSignal() {},
    onMalformed(_line, reason, excerpt) {
      malformed.push(`${reason}: ${excerpt}`);
    },
  };
  const parser = new SeccompLineParser({ handler });
  records.forEach((text, i) => {
    const buf = Buffer.from(text);
    // a kmsg read holds one record; its first line is the message
    const nl = buf.indexOf(10);
    parser.parseLine(buf, 0, nl < 0 ? buf.length : nl, i + 1);
  });
  return { rows, malformed };
}

async function run(argv: string[], opts: Parameters<typeof runUnderLogFilter>[1] = {}) {
  let result: RunResult | undefined;
  const collected = await withPrintkRatelimitOff(() => collectKmsg(async () => { result = await runUnderLogFilter(argv, opts); }));
  return { result: result!, ...collected };
}

const NATIVE = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch;

t.test('records of a real process and its short-lived children parse completely', async (t) => {
  if (!requireRealKernel(t)) return;
  const { result, records, lost } = await run(['/bin/sh', '-c', 'ls / >/dev/null; cat /proc/version >/dev/null']);
  t.equal(result.code, 0, 'the workload ran');
  t.equal(lost, 0, 'the reader kept up');
  const seccomp = records.filter((r) => r.includes('type=1326'));
  const { rows, malformed } = parseRecords(records);
  t.same(malformed, [], 'no kernel record is malformed');
  t.equal(rows.length, seccomp.length, 'every type=1326 record became a record');
  const shell = rows.filter((r) => r.pid === result.pid);
  t.ok(shell.length > 10, `the shell's own records (${shell.length})`);
  t.ok(shell.every((r) => r.action === 'log' && r.code === 0x7ffc0000 && r.arch === NATIVE && r.compat === false));
  t.ok(shell.some((r) => r.syscall === 'execve'), 'the shell execs');
  const children = rows.filter((r) => r.pid !== result.pid && (r.comm === 'ls' || r.comm === 'cat'));
  t.ok(new Set(children.map((r) => r.pid)).size >= 2, 'ls and cat, each under its own pid');
  const names = new Set(children.map((r) => r.syscall));
  for (const name of ['read', 'openat', 'close', 'exit_group']) t.ok(names.has(name), `children call ${name}`);
  t.ok(rows.every((r) => r.syscall !== null), 'every syscall has a name');
  t.ok(rows.every((r) => r.time !== null && Math.abs(r.time - Date.now()) < 120_000), 'times are now');
  t.ok(rows.every((r) => r.exe !== null && r.exe.startsWith('/')), 'exe paths decoded');
  const serials = rows.map((r) => r.serial!);
  // unique, not ordered: a serial is taken when a record starts, and a record from the other CPU
  // can reach the log between it and its end (seen once in a full-suite run)
  t.equal(new Set(serials).size, serials.length, 'every record has its own serial');
});

t.test('an ERRNO action on a real kernel', async (t) => {
  if (!requireRealKernel(t)) return;
  const { result, records } = await run(['/bin/uname', '-a'], { errno: ['uname'], logFlag: true });
  t.not(result.code, 0, 'uname failed with the call denied');
  const { rows, malformed } = parseRecords(records);
  t.same(malformed, []);
  const denied = rows.filter((r) => r.pid === result.pid && r.action === 'errno');
  t.ok(denied.length >= 1, 'the denied call was logged as errno');
  t.ok(denied.every((r) => r.syscall === 'uname' && r.code === 0x50000));
});
