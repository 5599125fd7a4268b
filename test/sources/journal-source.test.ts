/**
 * JournalSource against the real journalctl and real journal files. No journald runs on these machines, so the
 * tests write journal files themselves: entries in journal EXPORT format go through systemd-journal-remote
 * (Debian package systemd-journal-remote) into `DIR/*.journal`, which `journalctl --directory DIR` reads and
 * follows. Appending to a journal file and adding a new file both reach a following journalctl.
 */
import { execFile, spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { RecordStreamParser } from '../../src/parse/record-stream-parser.js';
import { cursorIn, cursorsMatch, followArgs, JournalSource, probeArgs, type JournalSourceEvent, type JournalSourceOptions } from '../../src/sources/journal-source.js';
import type { SeccompRecordData } from '../../src/types/seccomp-record.js';

const execFileP = promisify(execFile);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(HERE, '..', 'fixtures', 'journal', 'seccomp.export');
const SOURCE_MODULE = path.join(HERE, '..', '..', 'src', 'sources', 'journal-source.ts');
const JOURNAL_REMOTE = ['/usr/lib/systemd/systemd-journal-remote', '/lib/systemd/systemd-journal-remote'].find((p) => fs.existsSync(p));
const BOOT_A = 'aaaaaaaa11112222333344445555aaaa';
const BOOT_B = 'bbbbbbbb66667777888899990000bbbb';

/** The part of tap's `t` the helpers use. */
interface Test {
  teardown(fn: () => unknown): void;
  fail(message: string): unknown;
  plan(n: number, comment?: string): unknown;
}

/** Why journal files cannot be written and followed here, or null. */
async function toolsMissing(): Promise<string | null> {
  if (JOURNAL_REMOTE === undefined) return 'systemd-journal-remote is not installed (apt-get install systemd-journal-remote)';
  try {
    await execFileP('journalctl', ['--version']);
  } catch {
    return 'journalctl is not installed (apt-get install systemd)';
  }
  return null;
}

/** Skips (or, where CI says these must run, fails) a test that needs journalctl and systemd-journal-remote. */
async function requireTools(tt: Test): Promise<boolean> {
  const missing = await toolsMissing();
  if (missing === null) return true;
  if (process.env['SECCOMP_AUDITOR_REQUIRE_KERNEL'] === '1') tt.fail(`journal test cannot run, but SECCOMP_AUDITOR_REQUIRE_KERNEL=1: ${missing}`);
  else tt.plan(0, missing);
  return false;
}

function tempDir(tt: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'journal-source-'));
  tt.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

// ---- journal EXPORT format ----

type Fields = Record<string, string | Buffer>;

/** Entries in export format: `NAME=value` lines; a value that is not plain text as `NAME\n<le64 size><bytes>\n`. */
function exportFormat(entries: Fields[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    for (const [name, value] of Object.entries(entry)) {
      if (typeof value === 'string') {
        parts.push(Buffer.from(`${name}=${value}\n`));
      } else {
        const size = Buffer.alloc(8);
        size.writeBigUInt64LE(BigInt(value.length));
        parts.push(Buffer.from(`${name}\n`), size, value, Buffer.from('\n'));
      }
    }
    parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** Writes (appends, when `file` exists) entries to a real journal file with systemd-journal-remote. */
async function writeJournal(file: string, data: Buffer): Promise<void> {
  const child = spawn(JOURNAL_REMOTE!, [`--output=${file}`, '--split-mode=none', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => { err += s; });
  const done = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdin.end(data);
  const code = await done;
  if (code !== 0) throw new Error(`systemd-journal-remote ${file} exited with ${code}: ${err}`);
}

/** Time stamps that only move forward; a new boot starts its monotonic clock over. */
class Clock {
  realtime = 1_700_000_000_000_000;
  monotonic = 5_000_000_000;
  boot = BOOT_A;
  serial = 1000;

  next(): Fields {
    this.realtime += 1000;
    this.monotonic += 1000;
    return { __REALTIME_TIMESTAMP: String(this.realtime), __MONOTONIC_TIMESTAMP: String(this.monotonic), _BOOT_ID: this.boot };
  }

  reboot(boot: string): void {
    this.boot = boot;
    this.monotonic = 2_000_000;
    this.realtime += 60_000_000;
  }

  /** `audit(SECS.MS:SERIAL)` for the entry just stamped, and the next serial */
  stamp(): { text: string; serial: number } {
    const serial = ++this.serial;
    const ms = Math.floor(this.realtime / 1000);
    return { text: `${Math.floor(ms / 1000)}.${String(ms % 1000).padStart(3, '0')}:${serial}`, serial };
  }
}

const FIELDS_TAIL = 'sig=0 arch=c000003e';
function recordFields(pid: number, syscall: number): string {
  return `auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${pid} comm="worker" exe="/usr/bin/worker" ${FIELDS_TAIL} syscall=${syscall} compat=0 ip=0x7f0000001000 code=0x7ffc0000`;
}

function kernelRecord(c: Clock, syscall: number): Fields {
  const base = c.next();
  const { text } = c.stamp();
  return { ...base, _TRANSPORT: 'kernel', PRIORITY: '5', SYSLOG_IDENTIFIER: 'kernel', MESSAGE: `audit: type=1326 audit(${text}): ${recordFields(3000, syscall)}` };
}

function auditRecord(c: Clock, syscall: number): Fields {
  const base = c.next();
  const { serial } = c.stamp();
  return {
    ...base, _TRANSPORT: 'audit', SYSLOG_IDENTIFIER: 'audit', _AUDIT_TYPE: '1326', _AUDIT_TYPE_NAME: 'SECCOMP', _AUDIT_ID: String(serial),
    _SOURCE_REALTIME_TIMESTAMP: String(c.realtime), MESSAGE: `SECCOMP ${recordFields(3001, syscall)}`,
  };
}

/** A seccomp-looking line from another transport: must never be delivered. */
function syslogNoise(c: Clock, syscall: number): Fields {
  const base = c.next();
  const { text } = c.stamp();
  return { ...base, _TRANSPORT: 'syslog', SYSLOG_IDENTIFIER: 'log-shipper', MESSAGE: `copy: audit: type=1326 audit(${text}): ${recordFields(9, syscall)}` };
}

/** `n` entries: kernel record, audit record, syslog noise, repeating; syscall numbers from `first` on. */
function mixed(c: Clock, n: number, first: number): Fields[] {
  const out: Fields[] = [];
  for (let i = 0; i < n; i++) {
    const syscall = first + i;
    out.push(i % 3 === 0 ? kernelRecord(c, syscall) : i % 3 === 1 ? auditRecord(c, syscall) : syslogNoise(c, syscall));
  }
  return out;
}

/** Syscall numbers the kernel and audit transport entries of `entries` carry, in order. */
function expectedSyscalls(entries: Fields[]): number[] {
  return entries
    .filter((e) => e['_TRANSPORT'] === 'kernel' || e['_TRANSPORT'] === 'audit')
    .map((e) => Number(/syscall=(\d+)/.exec(String(e['MESSAGE']))![1]));
}

// ---- following ----

interface Followed {
  source: JournalSource;
  lines: string[];
  /** `position` read in each onBatchEnd, with the number of lines delivered by then */
  batches: { position: string; lines: number }[];
  events: JournalSourceEvent[];
}

function follow(tt: Test, options: Partial<JournalSourceOptions>): Followed {
  const lines: string[] = [];
  const batches: Followed['batches'] = [];
  const events: JournalSourceEvent[] = [];
  const source: JournalSource = new JournalSource({
    retryMs: 50,
    maxRetryMs: 200,
    ...options,
    sink: {
      onLine: (buf, start, end) => { lines.push(buf.toString('utf8', start, end)); },
      onBatchEnd: () => { batches.push({ position: source.position, lines: lines.length }); },
    },
    onEvent: (e) => { events.push(e); },
  });
  source.start();
  tt.teardown(() => source.stop());
  return { source, lines, batches, events };
}

/** Waits until `cond()` holds; fails the test after `ms` with `what` and the state it saw. */
async function waitFor(tt: Test, what: string, cond: () => boolean, ms = 5000, show?: () => unknown): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) {
      tt.fail(`timed out after ${ms} ms waiting for ${what}${show === undefined ? '' : `; saw ${JSON.stringify(show())}`}`);
      return false;
    }
    await sleep(10);
  }
  return true;
}

/** The follower runs (the probe, when there was one, is done): entries written from now on are new. */
function following(f: Followed): boolean {
  return f.events.some((e) => e.type === 'started');
}

function cursorOf(line: string): string {
  return (JSON.parse(line) as { __CURSOR: string }).__CURSOR;
}

function syscallsOf(lines: string[]): number[] {
  return lines.map((l) => Number(/syscall=(\d+)/.exec(String((JSON.parse(l) as { MESSAGE: unknown }).MESSAGE))?.[1] ?? -1));
}

/** What the project's parser makes of the delivered lines. */
function parse(lines: string[]): { records: SeccompRecordData[]; lost: number[]; malformed: string[] } {
  const records: SeccompRecordData[] = [];
  const lost: number[] = [];
  const malformed: string[] = [];
  const parser = new RecordStreamParser({
    handler: {
      onRecord: (rec) => { records.push(rec.snapshot()); },
      onLostSignal: (_kind, count) => { lost.push(count); },
      onMalformed: (_n, reason, excerpt) => { malformed.push(`${reason}: ${excerpt}`); },
    },
  });
  parser.push(Buffer.from(lines.map((l) => `${l}\n`).join('')));
  parser.end();
  return { records, lost, malformed };
}

/** Every matching entry's cursor in `dir`, in journal order, as journalctl lists them. */
async function allCursors(dir: string): Promise<string[]> {
  const { stdout } = await execFileP('journalctl', [`--directory=${dir}`, '--merge', '--output=json', '--output-fields=_TRANSPORT', '--no-pager', '_TRANSPORT=kernel', '_TRANSPORT=audit'], { maxBuffer: 64 << 20 });
  return stdout.split('\n').filter((l) => l !== '').map(cursorOf);
}

/** Whether the process runs (a zombie does not count: it is gone, only not yet reaped by its new parent). */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

// ---- tests ----

t.test('arguments, options and the cursor scan', async (t) => {
  t.same(followArgs('/var/log/journal', 's=1;i=2'), [
    '--follow', '--merge', '--output=json', '--output-fields=MESSAGE,_TRANSPORT,SYSLOG_FACILITY,_AUDIT_TYPE,_AUDIT_ID,_SOURCE_REALTIME_TIMESTAMP', '--no-pager',
    '--directory=/var/log/journal', '--cursor=s=1;i=2', '--no-tail', '_TRANSPORT=kernel', '_TRANSPORT=audit',
  ]);
  t.same(followArgs(undefined, null), [
    '--follow', '--merge', '--output=json', '--output-fields=MESSAGE,_TRANSPORT,SYSLOG_FACILITY,_AUDIT_TYPE,_AUDIT_ID,_SOURCE_REALTIME_TIMESTAMP', '--no-pager',
    '--no-tail', '_TRANSPORT=kernel', '_TRANSPORT=audit',
  ]);
  t.same(probeArgs(undefined), ['--merge', '--output=json', '--output-fields=_TRANSPORT', '--no-pager', '--lines=1', '_TRANSPORT=kernel', '_TRANSPORT=audit']);

  const sink = { onLine: () => {} };
  t.throws(() => new JournalSource({ sink, journalctl: '' }), RangeError);
  t.throws(() => new JournalSource({ sink, directory: '' }), RangeError);
  t.throws(() => new JournalSource({ sink, retryMs: 0 }), RangeError);
  const cursor = 's=1f19bf3255ef4aa4b5840b5a2e1b67cf;i=3;b=5f1e0c4a6b2d4e8f9a0b1c2d3e4f5a6b;m=12a0a85e0;t=60a241822d3e0;x=9ac96e5618a09ab4';
  t.equal(new JournalSource({ sink, startCursor: cursor }).position, cursor, 'before start, the position is the saved cursor');
  t.equal(new JournalSource({ sink }).position, '');

  const line = (s: string): [Buffer, number, number] => {
    const b = Buffer.from(`xx${s}yy`);
    return [b, 2, b.length - 2];
  };
  t.equal(cursorIn(...line(`{"MESSAGE":"a","__CURSOR":"${cursor}","_BOOT_ID":"b"}`)), cursor);
  t.equal(cursorIn(...line(`{ "__CURSOR" : "${cursor}", "MESSAGE" : "a" }`)), cursor, 'older journalctl puts spaces around the colon');
  t.equal(cursorIn(...line('{"MESSAGE":"say \\"__CURSOR\\":\\"s=1\\""}')), null, 'a MESSAGE quoting the key does not count');
  t.equal(cursorIn(...line('{"MESSAGE":"a"}')), null);
  t.equal(cursorIn(...line('{"__CURSOR":"s=1')), null, 'a cut line has no cursor');
  const [b, start] = line('{"MESSAGE":"a"}');
  t.equal(cursorIn(Buffer.concat([b, Buffer.from(`"__CURSOR":"${cursor}"`)]), start, b.length - 2), null, 'nothing past the line end counts');

  t.ok(cursorsMatch(cursor, cursor));
  t.ok(cursorsMatch(cursor, cursor.replace('s=1f19', 's=0000').replace(';i=3;', ';i=99;')), 'the same entry in another file');
  t.notOk(cursorsMatch(cursor, cursor.replace(';x=9ac9', ';x=0000')), 'another entry with the same stamps');
  t.notOk(cursorsMatch('s=1;i=2', 's=1;i=3'));
  t.notOk(cursorsMatch('s=1;i=2', 's=2;i=2'), 'without the entry fields, only the same string matches');
});

t.test('delivers exactly the kernel and audit transports, which parse to the seccomp records; appended entries arrive', async (t) => {
  if (!(await requireTools(t))) return;
  const dir = tempDir(t);
  // an empty journal: the probe finds nothing, so everything written from now on is new
  const f = follow(t, { directory: dir });
  if (!(await waitFor(t, 'journalctl following', () => following(f), 5000, () => f.events))) return;
  t.equal(f.source.position, '', 'an empty journal has no position yet');

  await writeJournal(path.join(dir, 'a.journal'), fs.readFileSync(FIXTURE));
  if (!(await waitFor(t, '6 lines of the fixture', () => f.lines.length >= 6, 5000, () => f.lines))) return;
  await sleep(200);
  t.equal(f.lines.length, 6, 'the kernel and audit entries of the fixture, nothing else');
  const transports = f.lines.map((l) => (JSON.parse(l) as { _TRANSPORT: string })._TRANSPORT);
  t.same(transports, ['kernel', 'kernel', 'audit', 'audit', 'kernel', 'kernel']);
  const parsed = parse(f.lines);
  t.same(parsed.records.map((r) => [r.syscallNr, r.serial, r.time, r.pid]), [
    [12, 101, 1700000000100, 2026],
    [0, 102, 1700000000300, 2027],
    [39, 108, 1700000000800, 2026],
  ], 'three seccomp records: printk form, audit transport (stamp from _AUDIT_ID and _SOURCE_REALTIME_TIMESTAMP), printk form');
  t.same(parsed.lost, [3], 'and the printk suppression signal');
  t.same(parsed.malformed, []);
  const cursors = await allCursors(dir);
  t.equal(f.source.position, cursors[cursors.length - 1], 'the position is the cursor of the last line');
  t.equal(f.batches[f.batches.length - 1]!.position, cursorOf(f.lines[f.lines.length - 1]!), 'read in onBatchEnd too');
  t.equal(f.source.lines, 6);

  // appended while following: to the same file, and in a new file of the directory
  const c = new Clock();
  const more = mixed(c, 300, 0);
  await writeJournal(path.join(dir, 'a.journal'), exportFormat(more.slice(0, 150)));
  await writeJournal(path.join(dir, 'b.journal'), exportFormat(more.slice(150)));
  // a MESSAGE that is not UTF-8 comes as an array of bytes; the audit type marker still finds it
  const binary = { ...auditRecord(c, 321), MESSAGE: Buffer.concat([Buffer.from(`SECCOMP ${recordFields(3001, 321)} `), Buffer.from([0xff, 0xfe])]) };
  await writeJournal(path.join(dir, 'b.journal'), exportFormat([binary]));
  const want = [...expectedSyscalls(more), 321];
  if (!(await waitFor(t, `${6 + want.length} lines`, () => f.lines.length >= 6 + want.length, 5000, () => f.lines.length))) return;
  await sleep(200);
  const appended = f.lines.slice(6);
  t.same(syscallsOf(appended.slice(0, -1)), want.slice(0, -1), 'every appended kernel and audit entry, in order, no syslog noise');
  t.match(appended[appended.length - 1], /"MESSAGE":\[83,69,67/, 'journalctl printed the binary MESSAGE as bytes');
  t.same(parse(appended).records.map((r) => r.syscallNr), want, 'one record per appended seccomp entry');
  t.equal(f.source.position, cursorOf(appended[appended.length - 1]!));
  t.equal(f.source.restarts, 0);
  t.equal(f.source.lastError, null);
});

t.test('without a cursor it starts at the end of the journal', async (t) => {
  if (!(await requireTools(t))) return;
  const dir = tempDir(t);
  await writeJournal(path.join(dir, 'a.journal'), fs.readFileSync(FIXTURE));
  const f = follow(t, { directory: dir });
  if (!(await waitFor(t, 'journalctl following', () => following(f), 5000, () => f.events))) return;
  const cursors = await allCursors(dir);
  t.equal(f.source.position, cursors[cursors.length - 1], 'it follows after the newest matching entry');
  t.match(f.events.find((e) => e.type === 'started')!.detail, `--cursor=${cursors[cursors.length - 1]}`);
  await sleep(300);
  t.same(f.lines, [], 'nothing that was there before');
  const c = new Clock();
  const more = mixed(c, 30, 100);
  await writeJournal(path.join(dir, 'a.journal'), exportFormat(more));
  if (!(await waitFor(t, '20 lines', () => f.lines.length >= 20, 5000, () => f.lines.length))) return;
  await sleep(200);
  t.same(syscallsOf(f.lines), expectedSyscalls(more));
});

t.test('a restart with the committed cursor delivers nothing twice and misses nothing, across a reboot too', async (t) => {
  if (!(await requireTools(t))) return;
  const dir = tempDir(t);
  const c = new Clock();
  const first = mixed(c, 60, 0); // 40 matching
  await writeJournal(path.join(dir, 'a.journal'), exportFormat(first));
  const before = await allCursors(dir);
  t.equal(before.length, 40);

  // resume after the 5th matching entry: 35 follow, more than the 10 `--follow` alone would show
  const one = follow(t, { directory: dir, startCursor: before[4]! });
  if (!(await waitFor(t, '35 lines', () => one.lines.length >= 35, 5000, () => one.lines.length))) return;
  t.same(one.lines.map(cursorOf), before.slice(5), 'everything after the saved cursor, once');
  const second = mixed(c, 90, 1000);
  await writeJournal(path.join(dir, 'b.journal'), exportFormat(second));
  if (!(await waitFor(t, '95 lines', () => one.lines.length >= 95, 5000, () => one.lines.length))) return;
  // the store committed the first batch only; what came after it was delivered but not committed
  const committed = one.batches[0]!;
  t.equal(committed.position, cursorOf(one.lines[committed.lines - 1]!), 'a batch position is the cursor of its last line');
  await one.source.stop();
  t.equal(one.source.pid, null);

  // while it is down: more entries, then the node reboots and logs more (monotonic time starts over)
  const third = mixed(c, 30, 2000);
  c.reboot(BOOT_B);
  const fourth = mixed(c, 30, 3000);
  await writeJournal(path.join(dir, 'b.journal'), exportFormat(third));
  await writeJournal(path.join(dir, 'c.journal'), exportFormat(fourth));
  const everything = await allCursors(dir);
  t.equal(everything.length, 40 + 60 + 20 + 20);

  const two = follow(t, { directory: dir, startCursor: committed.position });
  const want = everything.slice(5 + committed.lines);
  if (!(await waitFor(t, `${want.length} lines`, () => two.lines.length >= want.length, 5000, () => two.lines.length))) return;
  await sleep(300);
  const got = [...one.lines.slice(0, committed.lines), ...two.lines].map(cursorOf);
  t.equal(new Set(got).size, got.length, 'no entry twice');
  t.same(got, everything.slice(5), 'committed lines + the restarted source = every entry after the first cursor, in order');
  t.same(syscallsOf(two.lines.slice(-20)), expectedSyscalls(fourth), "the new boot's entries, its first one included");
  t.equal(two.source.position, everything[everything.length - 1]);
});

t.test("the cursor's entry vacuumed away while the daemon was down: the next entry is not lost", async (t) => {
  if (!(await requireTools(t))) return;
  const dir = tempDir(t);
  const c = new Clock();
  await writeJournal(path.join(dir, 'old.journal'), exportFormat(mixed(c, 30, 0)));
  const committed = (await allCursors(dir)).at(-1)!;
  const next = mixed(c, 30, 100);
  await writeJournal(path.join(dir, 'new.journal'), exportFormat(next));
  fs.rmSync(path.join(dir, 'old.journal')); // journald's vacuum removes the oldest archived files
  const f = follow(t, { directory: dir, startCursor: committed });
  if (!(await waitFor(t, '20 lines', () => f.lines.length >= 20, 5000, () => f.lines.length))) return;
  await sleep(200);
  t.same(syscallsOf(f.lines), expectedSyscalls(next), 'every entry after the cursor, the first one included (`--after-cursor` would skip it)');
});

t.test('journalctl killed: an error naming it, a restart from the last position, nothing twice', async (t) => {
  if (!(await requireTools(t))) return;
  const dir = tempDir(t);
  const c = new Clock();
  await writeJournal(path.join(dir, 'a.journal'), exportFormat(mixed(c, 3, 0)));
  const f = follow(t, { directory: dir });
  if (!(await waitFor(t, 'journalctl following', () => following(f), 5000, () => f.events))) return;
  const a = mixed(c, 30, 100);
  await writeJournal(path.join(dir, 'a.journal'), exportFormat(a));
  if (!(await waitFor(t, '20 lines', () => f.lines.length >= 20, 5000, () => f.lines.length))) return;
  const pid = f.source.pid!;
  process.kill(pid, 'SIGKILL');
  if (!(await waitFor(t, 'a new journalctl', () => f.source.pid !== null && f.source.pid !== pid, 5000, () => f.events))) return;
  t.equal(f.source.restarts, 1);
  const exited = f.events.find((e) => e.type === 'exited');
  t.match(exited?.detail, `(pid ${pid}) was killed by SIGKILL`);
  t.equal(f.events.find((e) => e.type === 'error')?.detail, `journal: journalctl was killed by SIGKILL; reading --directory ${dir} again from the last position`);
  t.match(f.events.find((e) => e.type === 'restarting')?.detail, `after cursor ${cursorOf(f.lines[19]!)}`);
  const b = mixed(c, 30, 200);
  await writeJournal(path.join(dir, 'a.journal'), exportFormat(b));
  if (!(await waitFor(t, '40 lines', () => f.lines.length >= 40, 5000, () => f.lines.length))) return;
  await sleep(200);
  t.same(syscallsOf(f.lines), [...expectedSyscalls(a), ...expectedSyscalls(b)], 'nothing twice, nothing missed');
  t.equal(f.source.lastError, null, 'cleared once the new journalctl delivers');
});

t.test('a missing journalctl: a clear error, retries, and stop() ends them', async (t) => {
  for (const journalctl of ['/nonexistent/bin/journalctl', 'journalctl-not-installed-here']) {
    const f = follow(t, { journalctl, retryMs: 20, maxRetryMs: 40 });
    if (!(await waitFor(t, 'two restarts', () => f.source.restarts >= 2, 3000, () => f.events))) return;
    const errors = f.events.filter((e) => e.type === 'error');
    t.equal(errors.length, 1, 'a lasting problem is reported once');
    t.match(errors[0]!.detail, /^journalctl not found: .*; install systemd \(Debian\/Ubuntu: apt-get install systemd\) or choose another --source$/);
    t.match(errors[0]!.detail, journalctl.includes('/') ? `${journalctl} does not exist` : `no ${journalctl} on PATH`);
    t.equal(f.source.lastError, errors[0]!.detail);
    t.equal(f.source.lines, 0);
    const started = Date.now();
    await f.source.stop();
    t.ok(Date.now() - started < 100, 'stop() is immediate');
    const restarts = f.source.restarts;
    await sleep(150);
    t.equal(f.source.restarts, restarts, 'no retry after stop()');
  }
});

t.test('a journal directory that does not exist: the error says what to mount', async (t) => {
  if (!(await requireTools(t))) return;
  const dir = path.join(tempDir(t), 'not-mounted');
  const f = follow(t, { directory: dir });
  if (!(await waitFor(t, 'an error', () => f.source.lastError !== null, 5000, () => f.events))) return;
  t.match(f.source.lastError, `${dir} does not exist: mount the host's journal (/var/log/journal`);
  t.match(f.source.lastError, /exited with code 1 \(Failed to open .*: No such file or directory\)/);
  t.equal(f.source.position, '');
  fs.mkdirSync(dir);
  if (!(await waitFor(t, 'journalctl following once it exists', () => following(f), 5000, () => f.events))) return;
  const c = new Clock();
  await writeJournal(path.join(dir, 'a.journal'), exportFormat(mixed(c, 3, 0)));
  if (!(await waitFor(t, '2 lines', () => f.lines.length >= 2, 5000, () => f.events))) return;
});

t.test('a saved position that is not a cursor: reported, then only new entries', async (t) => {
  if (!(await requireTools(t))) return;
  const dir = tempDir(t);
  await writeJournal(path.join(dir, 'a.journal'), fs.readFileSync(FIXTURE));
  const f = follow(t, { directory: dir, startCursor: '12345:678' });
  if (!(await waitFor(t, 'journalctl following', () => following(f), 5000, () => f.events))) return;
  t.match(f.events[0], { type: 'error', detail: 'journal: the saved position "12345:678" is not a journal cursor; reading only new entries' });
  const cursors = await allCursors(dir);
  t.equal(f.source.position, cursors[cursors.length - 1]);

  // cursor-shaped, but journalctl cannot parse it (the seqnum id is not 128 bits)
  const g = follow(t, { directory: dir, startCursor: 's=1;i=2' });
  const startedTwice = (): boolean => g.events.filter((e) => e.type === 'started').length >= 2;
  if (!(await waitFor(t, 'journalctl following again', startedTwice, 5000, () => g.events))) return;
  t.match(g.events.find((e) => e.type === 'error')?.detail, /^journal: journalctl rejected the cursor s=1;i=2 \(Failed to seek to cursor: Invalid argument\); reading only new entries$/);
  t.equal(g.source.position, cursors[cursors.length - 1], 'then it started at the end');
  t.equal(g.source.restarts, 1);
});

t.test('stop() ends journalctl promptly and leaves no process', async (t) => {
  if (!(await requireTools(t))) return;
  const dir = tempDir(t);
  const f = follow(t, { directory: dir });
  if (!(await waitFor(t, 'journalctl following', () => following(f), 5000, () => f.events))) return;
  const pid = f.source.pid!;
  t.ok(alive(pid), 'journalctl runs');
  let started = Date.now();
  await f.source.stop();
  t.ok(Date.now() - started < 400, `stopped in ${Date.now() - started} ms`);
  t.notOk(alive(pid), 'journalctl is gone');
  t.equal(f.source.pid, null);
  t.equal(f.events[f.events.length - 1]!.type, 'exited');

  // a child that ignores SIGTERM gets SIGKILL after 500 ms (a stand-in: journalctl itself dies on SIGTERM)
  const stubborn = path.join(dir, 'stubborn');
  fs.writeFileSync(stubborn, "#!/bin/sh\ntrap '' TERM\nexec sleep 30\n", { mode: 0o755 });
  const g = follow(t, { journalctl: stubborn, startCursor: 's=1;i=1' });
  if (!(await waitFor(t, 'the stub running', () => g.source.pid !== null && following(g), 5000, () => g.events))) return;
  await sleep(100); // let the shell set its trap and exec
  const stubPid = g.source.pid!;
  started = Date.now();
  await g.source.stop();
  const took = Date.now() - started;
  t.ok(took >= 450 && took < 1500, `SIGKILL after the 500 ms grace (${took} ms)`);
  t.notOk(alive(stubPid), 'the stub is gone');
});

t.test('the process exiting leaves no journalctl behind', async (t) => {
  if (!(await requireTools(t))) return;
  const dir = tempDir(t);
  // a stand-in that never notices its stdout closing, so only the source's exit hook can end it
  const deaf = path.join(dir, 'deaf');
  fs.writeFileSync(deaf, '#!/bin/sh\nexec sleep 30\n', { mode: 0o755 });
  const cases = [
    // process.exit(): the source's 'exit' hook kills the child
    { name: 'process.exit() with journalctl', how: 'exit', options: { directory: dir } },
    { name: 'process.exit() with a child deaf to its stdout closing', how: 'exit', options: { journalctl: deaf, startCursor: 's=1;i=1' } },
    // SIGKILL: no hook runs; journalctl sees its stdout pipe close (POLLHUP) and exits by itself
    { name: 'SIGKILL with journalctl', how: 'sigkill', options: { directory: dir } },
  ];
  for (const { name, how, options } of cases) {
    const code = `
      const { JournalSource } = await import(${JSON.stringify(SOURCE_MODULE)});
      const source = new JournalSource({ ...${JSON.stringify(options)}, sink: { onLine() {} }, onEvent(e) {
        if (e.type !== 'started') return;
        console.log('pid ' + source.pid);
        if (${JSON.stringify(how)} === 'exit') setTimeout(() => process.exit(0), 100);
      } });
      source.start();
      setInterval(() => {}, 1000);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { stdio: ['ignore', 'pipe', 'pipe'] });
    t.teardown(() => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { out += s; });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    if (!(await waitFor(t, `${name}: the child's pid`, () => /pid \d+/.test(out), 10_000, () => out))) return;
    const pid = Number(/pid (\d+)/.exec(out)![1]);
    t.ok(alive(pid), `${name}: running before`);
    if (how === 'sigkill') child.kill('SIGKILL');
    await exited;
    await waitFor(t, `${name}: ${pid} gone`, () => !alive(pid), 2000);
    t.notOk(alive(pid), `${name}: ${pid} did not outlive its parent`);
    if (alive(pid)) process.kill(pid, 'SIGKILL');
  }
});
