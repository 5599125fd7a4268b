import t, { type Test } from 'tap';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProcFs, ProcFsError } from '../../src/attribute/proc-fs.js';
import { parseProcStat } from '../../src/attribute/proc-stat.js';

// A stat line as the kernel writes it (fields 3.. from `cat /proc/self/stat`); comm is substituted.
function statLine(pid: number, comm: string, ppid: number, startTime: number): string {
  const after = ['S', ppid, pid, 9669, 0, -1, 4194304, 101, 0, 0, 0, 0, 0, 0, 0, 20, 0, 1, 0, startTime, 3133440, 382,
    '18446744073709551615', 93942265106432, 93942265126313, 140722552345296, 0, 0, 0, 0, 0, 0, 0, 0, 0, 17, 1, 0, 0, 0, 0, 0];
  return `${pid} (${comm}) ${after.join(' ')}\n`;
}

function fakeProc(t: Test): string {
  const root = mkdtempSync(join(tmpdir(), 'sa-proc-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  const add = (pid: number, comm: string, ppid: number, start: number, cgroup: string): void => {
    mkdirSync(join(root, String(pid)));
    writeFileSync(join(root, String(pid), 'stat'), statLine(pid, comm, ppid, start));
    writeFileSync(join(root, String(pid), 'cgroup'), cgroup);
  };
  add(100, 'nginx', 1, 5000, '0::/kubepods/pod12345678-9abc-def0-1234-56789abcdef0/' + 'a'.repeat(64) + '\n');
  add(101, 'a) b', 100, 5001, '0::/system.slice/kubelet.service\n');
  add(102, ') ) (', 101, 123456789012, '0::/\n');
  add(103, 'sp  ace', 1, 7, '0::/\n');
  return root;
}

t.test('fixture proc root: cgroup, start time and ppid', async (t) => {
  const proc = new ProcFs({ root: fakeProc(t) });
  t.match(proc.readCgroup(100), /^0::\/kubepods\/pod/);
  t.equal(proc.readStartTime(100), 5000);
  t.equal((proc.readStat(100)?.ppid ?? null), 1);
  t.equal(proc.readStartTime(101), 5001, "comm '(a) b)' holds a ')' and a space");
  t.equal((proc.readStat(101)?.ppid ?? null), 100);
  t.equal(proc.readStartTime(102), 123456789012, 'comm made of parentheses');
  t.equal((proc.readStat(102)?.ppid ?? null), 101);
  t.same(proc.readStat(103), { ppid: 1, startTime: 7 });
});

t.test('a process that is gone gives null', async (t) => {
  const proc = new ProcFs({ root: fakeProc(t) });
  t.equal(proc.readCgroup(999), null);
  t.equal(proc.readStartTime(999), null);
  t.equal((proc.readStat(999)?.ppid ?? null), null);
  t.equal(new ProcFs({ root: '/no/such/proc' }).readCgroup(1), null, 'a missing root reads like every process gone');
  t.equal(proc.readStat(999, true), null, 'also when it was there at the last read');
  t.same(proc.readStat(103, true), { ppid: 1, startTime: 7 });
});

t.test('a file longer than the read buffer is read whole', async (t) => {
  const root = fakeProc(t);
  // cgroup v1 lists every hierarchy: with long paths a few KiB, more than one read's worth here
  const long = Array.from({ length: 300 }, (_, i) => `${i + 1}:name=h${i}:/kubepods/burstable/pod${'f'.repeat(36)}/${'a'.repeat(64)}`).join('\n') + '\n';
  writeFileSync(join(root, '100', 'cgroup'), long);
  const proc = new ProcFs({ root });
  t.ok(long.length > 30_000);
  t.equal(proc.readCgroup(100), long);
  t.equal(proc.readCgroup(101), '0::/system.slice/kubelet.service\n', 'and a short one after it');
  t.equal(proc.readStartTime(100), 5000);
});

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
}

t.test('other failures throw a ProcFsError naming the path', async (t) => {
  const root = fakeProc(t);
  const proc = new ProcFs({ root });
  writeFileSync(join(root, '100', 'stat'), 'garbage without parentheses');
  const badStat = thrown(() => proc.readStartTime(100));
  t.type(badStat, ProcFsError);
  t.match(badStat, { code: 'EBADSTAT', path: join(root, '100', 'stat'), message: `${join(root, '100', 'stat')}: not a stat file ("garbage without parentheses")` });
  mkdirSync(join(root, '104'));
  mkdirSync(join(root, '104', 'cgroup'));
  t.match(thrown(() => proc.readCgroup(104)), { name: 'ProcFsError', code: 'EISDIR', message: `${join(root, '104', 'cgroup')}: cannot read (EISDIR)` });
  writeFileSync(join(root, '105'), '');
  t.match(thrown(() => proc.readCgroup(105)), { code: 'ENOTDIR', message: /105\/cgroup: not a directory; check the proc root/ });
  if (process.getuid?.() !== 0) {
    chmodSync(join(root, '101', 'cgroup'), 0);
    t.match(thrown(() => proc.readCgroup(101)), { code: 'EACCES', message: /permission denied/ });
  }
  t.throws(() => proc.readCgroup(0), RangeError);
  t.throws(() => proc.readCgroup(-1), RangeError);
  t.throws(() => proc.readCgroup(1.5), RangeError);
});

t.test('parseProcStat', async (t) => {
  t.same(parseProcStat(statLine(1, 'systemd', 0, 3)), { ppid: 0, startTime: 3 });
  t.same(parseProcStat(statLine(2, 'x)'.repeat(7) + 'y', 9, 10)), { ppid: 9, startTime: 10 });
  t.equal(parseProcStat(''), null);
  t.equal(parseProcStat('1 (x) S 0 1'), null, 'too few fields');
  t.equal(parseProcStat('1 (x) S -5 ' + '0 '.repeat(30)), null, 'negative ppid');
  t.equal(parseProcStat(') 1 (x'), null, 'parentheses the wrong way round');
});

t.test('parseProcStat reads what splitting the trimmed fields at spaces read', async (t) => {
  // the parser as it was (slice, trim, split, a regex per field): the scan must agree with it
  const bySplit = (content: string): { ppid: number; startTime: number } | null => {
    const close = content.lastIndexOf(')');
    if (close < 0 || content.indexOf('(') < 0 || content.indexOf('(') > close) return null;
    const fields = content.slice(close + 1).trim().split(' ');
    const int = (f: string | undefined): number | null => (f === undefined || !/^\d+$/.test(f) || !Number.isSafeInteger(Number(f)) ? null : Number(f));
    const ppid = int(fields[1]), startTime = int(fields[19]);
    return ppid === null || startTime === null ? null : { ppid, startTime };
  };
  const pieces = [' ', '  ', '\n', '\n ', '\t', '\u00a0', '\u3000', '1', '42', '007', '-1', 'x', ')', '(', '9007199254740993', '9007199254740991', ''];
  // mulberry32: the same variants every run
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed + 0x6d2b79f5) | 0;
    let x = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return (((x ^ (x >>> 14)) >>> 0) % n);
  };
  const pick = (): string => pieces[random(pieces.length)]!;
  let checked = 0;
  const differ: string[] = [];
  for (let i = 0; i < 5000; i++) {
    // fields 1 to 22 (ppid and start time are 4 and 22), some changed, cut short or not, odd
    // spaces between them, odd ends
    const fields = statLine(5, 'c', 3, 77).trim().split(' ').slice(0, 20 + random(6));
    for (let k = random(3); k > 0; k--) fields[[3, 21, random(fields.length)][random(3)]!] = pick();
    let content = pick() + fields[0]! + ' ' + fields[1]! + (random(2) === 0 ? ' ' : pick());
    for (let f = 2; f < fields.length; f++) content += fields[f]! + (f === fields.length - 1 ? '' : random(8) === 0 ? pick() : ' ');
    content += random(2) === 0 ? '\n' : pick();
    const want = bySplit(content);
    if (want !== null) checked++;
    if (JSON.stringify(parseProcStat(content)) !== JSON.stringify(want)) differ.push(JSON.stringify(content));
  }
  t.same(differ, [], 'the same answer for 5000 variants');
  t.ok(checked > 100, `${checked} of them parse`);
});

t.test('the real /proc: own start time is a positive integer and stable, ppid is process.ppid', async (t) => {
  const proc = new ProcFs();
  t.equal(proc.root, '/proc');
  const start = proc.readStartTime(process.pid);
  t.ok(Number.isSafeInteger(start) && start! > 0, `start time ${start}`);
  t.equal(proc.readStartTime(process.pid), start, 'stable across reads');
  t.equal((proc.readStat(process.pid)?.ppid ?? null), process.ppid);
  t.equal(proc.readCgroup(process.pid), readFileSync('/proc/self/cgroup', 'utf8'));
  // pid_max is at most 2^22: this pid cannot exist
  t.equal(proc.readCgroup(2 ** 23), null);
});
