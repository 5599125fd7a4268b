import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { KmsgReader } from '../../src/sources/kmsg-reader.js';
import { makeTempDir, requireRealKernel, writeKmsg } from '../helpers/real-kernel.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const EXIT_CHILD = path.join(HERE, '..', 'helpers', 'kmsg-exit-child.ts');
const KMSG_ONLY = { seccomp: false };

interface Got { text: string; seq: number; start: number; end: number }

function collector(): { got: Got[]; onRecord: (buf: Buffer, start: number, end: number, seq: number) => void } {
  const got: Got[] = [];
  return {
    got,
    onRecord: (buf, start, end, seq) => { got.push({ text: buf.toString('utf8', start, end), seq, start, end }); },
  };
}

function uniqueToken(): string {
  return `tok${process.pid}x${Date.now().toString(36)}x${Math.random().toString(36).slice(2, 8)}`;
}

/** index N of `seccomp-auditor-test TOKEN N ...` records, or -1 for records of anyone else */
function injectedIndex(text: string, token: string): number {
  const m = new RegExp(`;seccomp-auditor-test ${token} (\\d+)[ \\n]`).exec(text);
  return m === null ? -1 : Number(m[1]);
}

/** seq of the oldest record the kernel still holds: a fresh fd starts there */
function oldestSeq(): number {
  const probe = new KmsgReader().open();
  try {
    let seq = -1;
    probe.drain((_b, _s, _e, s) => { seq = s; }, 1);
    return seq;
  } finally {
    probe.close();
  }
}

t.test('options are validated', async (t) => {
  t.throws(() => new KmsgReader({ bufferSize: 4096 }), RangeError);
  t.throws(() => new KmsgReader({ bufferSize: 8192.5 }), RangeError);
  t.throws(() => new KmsgReader({ resumeAfterSeq: -1 }), RangeError);
  t.doesNotThrow(() => new KmsgReader({ bufferSize: 8192, resumeAfterSeq: 0 }));
  t.throws(() => new KmsgReader({ path: '/nonexistent' }).drain(() => {}), /not open/);
});

// A FIFO hands over one write per read when drained between writes, like kmsg hands over one record per
// read, so the sequence logic can be driven with records the kernel would never produce (holes without
// EPIPE, garbage) on any machine.
t.test('sequence holes, resume points and odd records (fed through a FIFO)', async (t) => {
  const dir = makeTempDir('kmsg-fifo-');
  const fifo = path.join(dir, 'kmsg');
  if (spawnSync('mkfifo', [fifo]).status !== 0) throw new Error('mkfifo failed');

  const feed = (reader: KmsgReader, lines: string[]): Got[] => {
    const c = collector();
    const w = fs.openSync(fifo, 'w');
    try {
      for (const line of lines) {
        fs.writeSync(w, line);
        reader.drain(c.onRecord);
      }
    } finally {
      fs.closeSync(w);
    }
    return c.got;
  };

  t.test('a hole in the seqs counts as lost', async (t) => {
    const losses: Array<[number, number]> = [];
    const reader = new KmsgReader({ path: fifo, onLost: (lost, seq) => losses.push([lost, seq]) }).open();
    t.teardown(() => reader.close());
    const got = feed(reader, ['6,5,100,-;a\n', '6,6,101,-;b\n', '6,9,102,-;c\n SUBSYSTEM=x\n', '6,10,103,-;d\n']);
    t.same(got.map((g) => g.seq), [5, 6, 9, 10]);
    t.equal(got[2]!.text, '6,9,102,-;c\n SUBSYSTEM=x\n', 'continuation lines belong to the record');
    t.same([got[2]!.start, got[2]!.end], [0, got[2]!.text.length]);
    t.equal(reader.lostRecords, 2);
    t.equal(reader.lostEvents, 1);
    t.equal(reader.overruns, 0);
    t.same(losses, [[2, 9]]);
    t.equal(reader.lastSeq, 10);
  });

  t.test('resumeAfterSeq skips what was processed, and counts what vanished', async (t) => {
    const reader = new KmsgReader({ path: fifo, resumeAfterSeq: 6 }).open();
    t.teardown(() => reader.close());
    const got = feed(reader, ['6,3,1,-;a\n', '6,6,1,-;b\n', '6,7,1,-;c\n', '6,8,1,-;d\n']);
    t.same(got.map((g) => g.seq), [7, 8]);
    t.equal(reader.lostRecords, 0);

    const late = new KmsgReader({ path: fifo, resumeAfterSeq: 6 }).open();
    t.teardown(() => late.close());
    t.same(feed(late, ['6,10,1,-;x\n']).map((g) => g.seq), [10]);
    t.equal(late.lostRecords, 3, 'seqs 7, 8 and 9 were gone');
    t.equal(late.lostEvents, 1);
  });

  t.test('a record without a seq is handed on with seq -1 and leaves the position alone', async (t) => {
    const reader = new KmsgReader({ path: fifo }).open();
    t.teardown(() => reader.close());
    const got = feed(reader, ['4,20,1,-;a\n', 'garbage\n', '4,x1,1,-;b\n', '4,21,1,-;c\n']);
    t.same(got.map((g) => g.seq), [20, -1, -1, 21]);
    t.equal(reader.lastSeq, 21);
    t.equal(reader.lostRecords, 0);
  });

  t.test('seqs beyond 2^32 parse exactly', async (t) => {
    const reader = new KmsgReader({ path: fifo }).open();
    t.teardown(() => reader.close());
    t.same(feed(reader, ['6,9007199254740990,1,-;a\n']).map((g) => g.seq), [9007199254740990]);
  });
});

t.test('delivers injected records in order with their seqs and byte ranges', async (t) => {
  if (!requireRealKernel(t, KMSG_ONLY)) return;
  const token = uniqueToken();
  const reader = new KmsgReader().open();
  t.teardown(() => reader.close());
  reader.skipToEnd();
  const before = reader.lastSeq;
  t.ok(before >= 0, 'skipToEnd sets lastSeq');

  writeKmsg(Array.from({ length: 20 }, (_, i) => `seccomp-auditor-test ${token} ${i}`));
  const c = collector();
  const n = reader.drain(c.onRecord);
  t.equal(n, c.got.length, 'drain returns the number delivered');

  let prev = before;
  for (const g of c.got) {
    t.ok(g.seq > prev, `seq ${g.seq} > ${prev}`);
    prev = g.seq;
  }
  t.equal(reader.lastSeq, prev);
  const mine = c.got.filter((g) => injectedIndex(g.text, token) >= 0);
  t.same(mine.map((g) => injectedIndex(g.text, token)), Array.from({ length: 20 }, (_, i) => i), 'all 20, in order');
  for (const g of mine) {
    const header = /^12,(\d+),\d+,[^;]*;/.exec(g.text);
    t.ok(header, 'record starts with PRI,SEQ,USEC,FLAGS;');
    t.equal(Number(header?.[1]), g.seq, 'seq matches the header');
    t.equal(g.start, 0);
    t.ok(g.text.endsWith(`${token} ${injectedIndex(g.text, token)}\n`), 'range ends at the record end');
  }
  t.equal(reader.lostRecords, 0);
  t.equal(reader.overruns, 0);

  // max bounds one drain; the rest waits for the next
  writeKmsg(Array.from({ length: 5 }, (_, i) => `seccomp-auditor-test ${token} ${20 + i}`));
  const c2 = collector();
  t.equal(reader.drain(c2.onRecord, 2), 2);
  t.ok(reader.drain(c2.onRecord) >= 3);
  t.same(c2.got.map((g) => injectedIndex(g.text, token)).filter((i) => i >= 0), [20, 21, 22, 23, 24]);
  t.equal(reader.drain(c2.onRecord), 0, 'nothing new: EAGAIN ends the drain');
});

t.test('resumeAfterSeq skips exactly the records up to that seq', async (t) => {
  if (!requireRealKernel(t, KMSG_ONLY)) return;
  const token = uniqueToken();
  const first = new KmsgReader().open();
  t.teardown(() => first.close());
  first.skipToEnd();
  writeKmsg(Array.from({ length: 10 }, (_, i) => `seccomp-auditor-test ${token} ${i}`));
  const c = collector();
  first.drain(c.onRecord);
  const fourth = c.got.find((g) => injectedIndex(g.text, token) === 4);
  if (fourth === undefined) throw new Error('injected record 4 not read');

  const resumed = new KmsgReader({ resumeAfterSeq: fourth.seq }).open();
  t.teardown(() => resumed.close());
  const r = collector();
  resumed.drain(r.onRecord);
  t.equal(r.got[0]?.seq, fourth.seq + 1, 'delivery starts right after the resume point');
  t.ok(r.got.every((g) => g.seq > fourth.seq));
  t.same(r.got.map((g) => injectedIndex(g.text, token)).filter((i) => i >= 0), [5, 6, 7, 8, 9]);
  t.equal(resumed.lostRecords, 0);
  t.ok(resumed.lastSeq >= first.lastSeq, 'read at least as far as the first reader');

  // a reopened reader starts at the kernel's oldest record again, yet delivers only what is new
  resumed.close();
  resumed.close();
  resumed.open();
  const again = collector();
  resumed.drain(again.onRecord);
  t.ok(again.got.every((g) => g.seq > r.got.at(-1)!.seq), 'nothing delivered twice after reopen');
  t.ok(again.got.every((g) => injectedIndex(g.text, token) < 0));
});

t.test('overwritten records: EPIPE, and the exact number lost', async (t) => {
  if (!requireRealKernel(t, KMSG_ONLY)) return;
  const token = uniqueToken();
  const reader = new KmsgReader().open();
  t.teardown(() => reader.close());
  reader.skipToEnd();
  const before = reader.lastSeq;

  // opened now, first read later: its first read fails with EPIPE while it has no position
  const blind = new KmsgReader().open();
  t.teardown(() => blind.close());
  // opened now, but knows where the previous run stopped
  const resuming = new KmsgReader({ resumeAfterSeq: before }).open();
  t.teardown(() => resuming.close());

  // Write until the kernel has dropped the first injected record (a fresh fd starts past it), in small
  // batches with pauses so that readers in parallel test processes, which drain every few ms, keep up.
  const payload = 'x'.repeat(170);
  let injected = 0;
  while (oldestSeq() <= before + 1) {
    if (injected >= 4000) throw new Error(`4000 records of ~200 bytes did not overflow the ring buffer`);
    writeKmsg(Array.from({ length: 50 }, (_, i) => `seccomp-auditor-test ${token} ${injected + i} ${payload}`));
    injected += 50;
    await sleep(2);
  }

  const c = collector();
  const n = reader.drain(c.onRecord);
  t.ok(reader.overruns >= 1, 'the read hit EPIPE');
  t.ok(reader.lostEvents >= 1);
  // every seq after `before` was either delivered or counted lost, wherever other writers interleaved
  t.equal(reader.lostRecords, reader.lastSeq - before - n, 'lost == seqs passed - records delivered');
  t.equal(reader.lostRecords, c.got[0]!.seq - before - 1, 'one gap, right before the first survivor');

  const survivors = c.got.map((g) => injectedIndex(g.text, token)).filter((i) => i >= 0);
  const firstSurvivor = survivors[0]!;
  t.ok(firstSurvivor > 0, 'the oldest injected records are gone');
  t.same(survivors, Array.from({ length: injected - firstSurvivor }, (_, i) => firstSurvivor + i),
    'the survivors are the newest injected records, in order');
  if (c.got.every((g) => injectedIndex(g.text, token) >= 0)) {
    t.equal(reader.lostRecords, firstSurvivor, 'lost == injected records overwritten');
  } else {
    // other kernel messages interleaved; those lost too are in the count
    t.ok(reader.lostRecords >= firstSurvivor, 'lost covers every injected record overwritten');
  }
  const bytes = c.got.reduce((sum, g) => sum + Buffer.byteLength(g.text), 0);
  const sample = c.got.find((g) => injectedIndex(g.text, token) >= 0)!.text;
  t.comment(`overflow after ${injected} records of ${Buffer.byteLength(sample)} bytes; ` +
    `${c.got.length} records (${bytes} bytes of kmsg text) survived; lost ${reader.lostRecords}`);

  const blindGot = collector();
  blind.drain(blindGot.onRecord);
  t.equal(blind.overruns, 1, 'first read failed with EPIPE');
  t.equal(blind.lostEvents, 1, 'counted as an event');
  t.equal(blind.lostRecords, 0, 'with no position the number is unknown: 0');

  const resumingGot = collector();
  resuming.drain(resumingGot.onRecord);
  t.equal(resuming.overruns, 1);
  t.equal(resuming.lostRecords, resumingGot.got[0]!.seq - before - 1, 'resume point makes the gap exact');
  t.equal(resuming.lostEvents, 1);

  // started later from the saved position: no EPIPE, but the gap is known from the seqs
  const restarted = new KmsgReader({ resumeAfterSeq: before }).open();
  t.teardown(() => restarted.close());
  const restartedGot = collector();
  restarted.drain(restartedGot.onRecord);
  t.equal(restarted.overruns, 0);
  t.equal(restarted.lostRecords, restartedGot.got[0]!.seq - before - 1);
});

t.test('errors name the path and the fix', async (t) => {
  t.throws(() => new KmsgReader({ path: '/nonexistent/kmsg' }).open(),
    { message: /^cannot read \/nonexistent\/kmsg: no such file/, code: 'ENOENT' });
  const dir = new KmsgReader({ path: '/' }).open();
  t.teardown(() => dir.close());
  t.throws(() => dir.drain(() => {}), { message: /^cannot read \/: EISDIR/, code: 'EISDIR' });

  t.test('without privileges', async (t) => {
    if (!requireRealKernel(t, KMSG_ONLY)) return;
    // dmesg_restrict=1 (the default here) refuses unprivileged readers
    // `env -u`: tap adds its process-info hook to NODE_OPTIONS of every spawn, and as nobody that hook
    // fails writing to the root-owned .tap/
    const nobody = spawnSync('env', ['-u', 'NODE_OPTIONS', 'TSX_DISABLE_CACHE=1', process.execPath, '--import', 'tsx', '-e', `
      import('${path.resolve(HERE, '../../src/sources/kmsg-reader.ts')}').then(({ KmsgReader }) => {
        try { new KmsgReader().open(); console.log('opened'); } catch (e) { console.log(e.message); }
      });`], { uid: 65534, gid: 65534, encoding: 'utf8', cwd: path.resolve(HERE, '../..') });
    if (nobody.stdout.includes('opened')) {
      t.comment('this kernel lets unprivileged users read /dev/kmsg (dmesg_restrict=0)');
      return;
    }
    t.match(nobody.stdout, /^cannot read \/dev\/kmsg: permission denied; run as root or grant CAP_SYSLOG/,
      nobody.stderr);
  });
});

t.test('a process that read /dev/kmsg exits promptly', async (t) => {
  if (!requireRealKernel(t, KMSG_ONLY)) return;
  for (const mode of ['close-exit', 'natural', 'open-exit']) {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', EXIT_CHILD, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => { out += s; });
    child.stderr.setEncoding('utf8').on('data', (s: string) => { out += s; });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const hung = sleep(2000).then(() => 'hung' as const);
    const result = await Promise.race([exited, hung]);
    if (result === 'hung') child.kill('SIGKILL');
    t.equal(result, 0, `${mode}: exited with 0 within 2 s (${Date.now() - started} ms) ${out}`);
    t.match(out, /^drained \d+/);
  }
});
