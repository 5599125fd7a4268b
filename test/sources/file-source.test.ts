import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { describeFileError, parseFilePosition } from '../../src/sources/file-position.js';
import { FileSource, type FileSourceEvent, type FileSourceOptions } from '../../src/sources/file-source.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The part of tap's `t` the helpers use. */
interface Test {
  teardown(fn: () => unknown): void;
  fail(message: string): unknown;
}

function tempDir(tt: Test): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'file-source-'));
  tt.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function inode(file: string): string {
  return fs.statSync(file, { bigint: true }).ino.toString();
}

interface Followed {
  source: FileSource;
  lines: string[];
  /** `position` read in each onBatchEnd */
  positions: string[];
  events: FileSourceEvent[];
  types(): string[];
}

/** A started source whose sink keeps each line as a string and the position after each batch. */
function follow(tt: Test, file: string, options: Partial<FileSourceOptions> = {}): Followed {
  const lines: string[] = [];
  const positions: string[] = [];
  const events: FileSourceEvent[] = [];
  const source: FileSource = new FileSource({
    path: file,
    pollMs: 50,
    retryMs: 50,
    ...options,
    sink: {
      onLine: (buf, start, end) => { lines.push(buf.toString('utf8', start, end)); },
      onBatchEnd: () => { positions.push(source.position); },
    },
    onEvent: (e) => { events.push(e); },
  });
  source.start();
  tt.teardown(() => source.stop());
  return { source, lines, positions, events, types: () => events.map((e) => e.type) };
}

/** Waits until `cond()` holds; fails the test after `ms` with `what` and the state it saw. */
async function waitFor(tt: Test, what: string, cond: () => boolean, ms = 3000, show?: () => unknown): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) {
      tt.fail(`timed out after ${ms} ms waiting for ${what}${show === undefined ? '' : `; saw ${JSON.stringify(show())}`}`);
      return false;
    }
    await sleep(5);
  }
  return true;
}

t.test('options are validated; the position before start is the saved one', async (t) => {
  const sink = { onLine: () => {} };
  for (const bad of ['abc', '12', '1:-1', '1:2:3', '1:99999999999999999', ' 1:2']) {
    t.throws(() => parseFilePosition(bad), RangeError, bad);
  }
  t.throws(() => new FileSource({ path: '', sink }), RangeError);
  t.throws(() => new FileSource({ path: '/x', sink, pollMs: 0 }), RangeError);
  t.equal(new FileSource({ path: '/x', sink }).position, '');
  t.equal(new FileSource({ path: '/x', sink, startPosition: '007:12' }).position, '7:12');
  t.equal(new FileSource({ path: '/var/log/x', sink }).name, 'file:/var/log/x');
  t.same(parseFilePosition('18446744073709551615:5'), { ino: '18446744073709551615', offset: 5 }, 'a 64-bit inode stays exact');
  t.match(describeFileError('/var/log/audit/audit.log', Object.assign(new Error('x'), { code: 'EACCES' })),
    /^\/var\/log\/audit\/audit\.log: permission denied; run the daemon as root/);
});

t.test('a malformed saved position is reported, and only new lines are read', async (t) => {
  const file = path.join(tempDir(t), 'audit.log');
  fs.writeFileSync(file, 'old\n');
  const f = follow(t, file, { startPosition: 'kmsg:17' });
  t.match(f.events, [{ type: 'error', detail: `${file}: the saved position "kmsg:17" is not "<inode>:<offset>"; reading only new lines` }]);
  t.equal(f.source.position, `${inode(file)}:4`);
  fs.appendFileSync(file, 'new\n');
  await waitFor(t, 'the new line', () => f.lines.length === 1);
  t.same(f.lines, ['new']);
});

t.test('starts at the end of an existing file; appends arrive promptly through the watcher', async (t) => {
  const file = path.join(tempDir(t), 'audit.log');
  fs.writeFileSync(file, 'old 1\nold 2\n');
  const ino = inode(file);
  // no safety poll within the test's time: only inotify can deliver
  const f = follow(t, file, { pollMs: 60_000 });
  t.equal(f.source.position, `${ino}:12`, 'position is the end right away');
  await waitFor(t, 'following', () => f.source.state === 'following'); // the watcher is in place once a file is open
  for (let i = 0; i < 5; i++) {
    const t0 = Date.now();
    fs.appendFileSync(file, `new ${i}\n`);
    await waitFor(t, `line ${i}`, () => f.lines.length === i + 1, 1000);
    t.ok(Date.now() - t0 < 1000, `line ${i} within a second (${Date.now() - t0} ms)`);
  }
  t.same(f.lines, ['new 0', 'new 1', 'new 2', 'new 3', 'new 4']);
  t.equal(f.source.position, `${ino}:42`);
  t.equal(f.source.lines, 5);
  t.equal(f.source.bytes, 30);
  t.equal(f.source.lastError, null);
  t.same(f.events, [{ type: 'start', detail: `${file}: no saved position; starting at its end (offset 12): the lines already in it are not read (--read-existing reads them)` }], 'says what happens to the lines already there');
});

t.test('readExisting without a saved position reads the lines already there, and says so', async (t) => {
  const file = path.join(tempDir(t), 'audit.log');
  fs.writeFileSync(file, 'old 1\nold 2\n');
  const f = follow(t, file, { readExisting: true });
  await waitFor(t, 'the old lines', () => f.lines.length === 2);
  fs.appendFileSync(file, 'new\n');
  await waitFor(t, 'the new line', () => f.lines.length === 3);
  t.same(f.lines, ['old 1', 'old 2', 'new']);
  t.same(f.events, [{ type: 'start', detail: `${file}: no saved position; reading the 12 bytes already in it from the start, then following it` }]);

  // a saved position wins (a restart never counts twice), and so does a malformed one
  const resumed = follow(t, file, { readExisting: true, startPosition: `${inode(file)}:6` });
  await waitFor(t, 'the lines after the position', () => resumed.lines.length === 2);
  t.same(resumed.lines, ['old 2', 'new']);
  t.same(resumed.events, []);
  const malformed = follow(t, file, { readExisting: true, startPosition: 'x' });
  t.same(malformed.types(), ['error'], 'the malformed position is the one thing said');
  t.equal(malformed.source.position, `${inode(file)}:16`, 'only new lines');
});

t.test('state: following once a file is open at a known offset; waiting, retrying, stopped', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'audit.log');
  fs.writeFileSync(file, '');
  const f = follow(t, file, { pollMs: 60_000 });
  t.equal(f.source.state, 'starting', 'the file is opened asynchronously');
  await waitFor(t, 'following', () => f.source.state === 'following');
  t.same(f.events, [], 'an empty file has no lines to speak of');
  // the promise readiness makes: a line written the moment it says following is read
  fs.appendFileSync(file, 'first\n');
  await waitFor(t, 'the line', () => f.lines.length === 1);
  await f.source.stop();
  t.equal(f.source.state, 'stopped');

  const missing = follow(t, path.join(dir, 'later.log'));
  await waitFor(t, 'waiting', () => missing.source.state === 'waiting');
  fs.writeFileSync(path.join(dir, 'later.log'), 'x\n');
  await waitFor(t, 'following the file that appeared', () => missing.source.state === 'following' && missing.lines.length === 1);

  const unreadable = path.join(dir, 'dir.log');
  fs.mkdirSync(unreadable);
  const bad = follow(t, unreadable);
  await waitFor(t, 'retrying', () => bad.source.state === 'retrying');
});

t.test('a partial line is held until its newline; positions are byte offsets', async (t) => {
  const file = path.join(tempDir(t), 'syslog');
  fs.writeFileSync(file, '');
  const ino = inode(file);
  const f = follow(t, file, { startPosition: `${ino}:0` });
  fs.appendFileSync(file, 'abc');
  await sleep(150);
  t.same(f.lines, [], 'nothing without a newline');
  t.equal(f.source.position, `${ino}:0`);
  fs.appendFileSync(file, 'déf\nghi');
  await waitFor(t, 'the first line', () => f.lines.length === 1);
  t.same(f.lines, ['abcdéf']);
  t.equal(f.source.position, `${ino}:8`, 'é is two bytes');
  fs.appendFileSync(file, '\n\nend\n');
  await waitFor(t, 'the rest', () => f.lines.length === 4);
  t.same(f.lines, ['abcdéf', 'ghi', '', 'end']);
  t.equal(f.positions.at(-1), `${ino}:17`);
});

t.test('stop reads what is already in the file, and leaves a partial line for the next start', async (t) => {
  const file = path.join(tempDir(t), 'kern.log');
  fs.writeFileSync(file, 'a\n');
  const ino = inode(file);
  const f = follow(t, file, { startPosition: `${ino}:0`, pollMs: 60_000 });
  await waitFor(t, 'the first line', () => f.lines.length === 1);
  fs.appendFileSync(file, 'b\nc\nd\npart');
  await f.source.stop(); // before the watcher's event is handled
  t.same(f.lines, ['a', 'b', 'c', 'd']);
  t.equal(f.source.position, `${ino}:8`);
  fs.appendFileSync(file, 'ial\n');
  const g = follow(t, file, { startPosition: f.source.position });
  await waitFor(t, 'the completed line', () => g.lines.length === 1);
  t.same(g.lines, ['partial']);
});

t.test('restarts from saved positions while a writer appends: no line repeated or lost', async (t) => {
  const file = path.join(tempDir(t), 'messages');
  fs.writeFileSync(file, '');
  const ino = inode(file);
  const N = 20_000;
  const expected = Array.from({ length: N }, (_, i) => `type=SECCOMP msg=audit(1700000000.${i}:1) pid=${i} ${'x'.repeat(i % 41)}`);
  const text = `${expected.join('\n')}\n`;
  const got: string[] = [];
  let current: FileSource | null = null;
  let consumed = 0;
  let badPositions = 0;
  const sink = {
    onLine: (buf: Buffer, start: number, end: number) => {
      got.push(buf.toString('latin1', start, end));
      consumed += end - start + 1;
    },
    onBatchEnd: () => { if (current?.position !== `${ino}:${consumed}`) badPositions++; },
  };
  let written = 0;
  const writer = (async () => {
    while (written < text.length) {
      const n = 1 + Math.floor(Math.random() * 3000); // splits lines anywhere
      fs.appendFileSync(file, text.slice(written, written + n));
      written += n;
      await sleep(Math.random() < 0.1 ? 2 : 0);
    }
  })();
  let position = `${ino}:0`;
  for (let run = 0; run < 8; run++) {
    current = new FileSource({ path: file, sink, startPosition: position, pollMs: 50 });
    current.start();
    await sleep(10 + Math.floor(Math.random() * 40));
    await current.stop();
    position = current.position;
  }
  await writer;
  current = new FileSource({ path: file, sink, startPosition: position, pollMs: 50 });
  current.start();
  t.teardown(() => current?.stop());
  await waitFor(t, 'all lines', () => got.length >= N, 5000, () => got.length);
  await current.stop();
  t.equal(got.length, N, 'as many lines as written');
  t.ok(got.every((line, i) => line === expected[i]), 'the same lines in the same order');
  t.equal(badPositions, 0, 'the position after each batch is the byte after its last line');
  t.equal(current.position, `${ino}:${text.length}`);
});

t.test('rotation by rename: the old file is finished, lines written to it after the rename included', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'audit.log');
  fs.writeFileSync(file, '');
  const oldIno = inode(file);
  const writer = fs.openSync(file, 'a'); // a daemon that has not reopened its log yet
  t.teardown(() => fs.closeSync(writer));
  const f = follow(t, file, { startPosition: `${oldIno}:0` });
  fs.writeSync(writer, 'r1\nr2\n');
  await waitFor(t, 'r1 r2', () => f.lines.length === 2);
  fs.renameSync(file, `${file}.1`);
  fs.writeSync(writer, 'old after rename 1\n');
  fs.writeFileSync(file, ''); // logrotate's `create`: empty, so the old file is still the one written
  await sleep(30);
  fs.writeSync(writer, 'old after rename 2\n');
  fs.appendFileSync(file, 'n1\n'); // the writer reopened
  await waitFor(t, 'the first line of the new file', () => f.lines.includes('n1'), 3000, () => f.lines);
  t.same(f.lines, ['r1', 'r2', 'old after rename 1', 'old after rename 2', 'n1']);
  const newIno = inode(file);
  t.equal(f.source.position, `${newIno}:3`);
  t.same(f.types(), ['rotated']);
  t.match(f.events[0]!.detail, `finished the old file (inode ${oldIno}) at offset 44`);

  // again, quickly, then a file deleted and created anew (not kept as .1)
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, 'm1\nm2\n');
  await waitFor(t, 'the third file', () => f.lines.length === 7, 3000, () => f.lines);
  fs.unlinkSync(file);
  fs.writeFileSync(file, 'k1\n');
  await waitFor(t, 'the fourth file', () => f.lines.length === 8, 3000, () => f.lines);
  t.same(f.lines.slice(5), ['m1', 'm2', 'k1']);
  t.same(f.types(), ['rotated', 'rotated', 'replaced']);
  t.equal(f.source.position, `${inode(file)}:3`);
});

t.test('rotations and restarts while a writer appends and reopens: every line once, in order', async (t) => {
  const file = path.join(tempDir(t), 'audit.log');
  fs.writeFileSync(file, '');
  const got: number[] = [];
  const sink = { onLine: (buf: Buffer, start: number, end: number) => { got.push(Number(buf.toString('latin1', start + 5, buf.indexOf(0x20, start + 5)))); } };
  let position = `${inode(file)}:0`;
  let source = new FileSource({ path: file, sink, startPosition: position, pollMs: 50 });
  source.start();
  t.teardown(() => source.stop());
  let fd = fs.openSync(file, 'a');
  let i = 0;
  let rotations = 0;
  const N = 30_000;
  let lastRotation = Date.now();
  const restarts = (async () => {
    while (i < N) {
      await sleep(5 + Math.random() * 20);
      await source.stop();
      position = source.position;
      source = new FileSource({ path: file, sink, startPosition: position, pollMs: 50 });
      source.start();
    }
  })();
  while (i < N) {
    let chunk = '';
    for (let k = 1 + Math.floor(Math.random() * 60); k > 0 && i < N; k--, i++) chunk += `line ${i} ${'z'.repeat(i % 50)}\n`;
    const cut = Math.floor(Math.random() * chunk.length);
    fs.writeSync(fd, chunk.slice(0, cut));
    fs.writeSync(fd, chunk.slice(cut));
    // logrotate with `create` and a postrotate that makes the writer reopen; not before the source has
    // moved on to the current file: a file rotated twice before that is gone from `<path>.1` (as for tail -F)
    const caughtUp = source.position.startsWith(`${inode(file)}:`);
    if (caughtUp && Date.now() - lastRotation > 40 && Math.random() < 0.1) {
      fs.renameSync(file, `${file}.1`);
      fs.writeSync(fd, `line ${i++} after the rename\n`);
      fs.writeFileSync(file, '');
      fs.writeSync(fd, `line ${i++} after the create\n`);
      fs.closeSync(fd);
      fd = fs.openSync(file, 'a');
      rotations++;
      lastRotation = Date.now();
    }
    await sleep(0);
  }
  fs.closeSync(fd);
  await restarts;
  await waitFor(t, 'all lines', () => got.length >= i, 5000, () => got.length);
  t.equal(got.length, i, `${i} lines through ${rotations} rotations`);
  t.ok(got.every((n, k) => n === k), 'each once, in order');
});

t.test('copytruncate while running: read again from 0', async (t) => {
  const file = path.join(tempDir(t), 'syslog');
  fs.writeFileSync(file, '');
  const ino = inode(file);
  const f = follow(t, file, { startPosition: `${ino}:0` });
  fs.appendFileSync(file, 'a long line before the copy\nanother one\n');
  await waitFor(t, 'two lines', () => f.lines.length === 2);
  fs.copyFileSync(file, `${file}.1`);
  fs.truncateSync(file, 0);
  fs.appendFileSync(file, 'after 1\n');
  await waitFor(t, 'the line after truncation', () => f.lines.length === 3, 3000, () => f.lines);
  fs.appendFileSync(file, 'after 2\n');
  await waitFor(t, 'the next', () => f.lines.length === 4);
  t.same(f.lines.slice(2), ['after 1', 'after 2']);
  t.same(f.types(), ['truncated']);
  t.equal(f.source.position, `${ino}:16`, 'same inode, offset in the truncated file');
});

t.test('truncated while stopped: a saved offset beyond the end starts over', async (t) => {
  const file = path.join(tempDir(t), 'syslog');
  fs.writeFileSync(file, 'x1\nx2\n');
  const ino = inode(file);
  const f = follow(t, file, { startPosition: `${ino}:500` });
  await waitFor(t, 'the lines', () => f.lines.length === 2);
  t.same(f.lines, ['x1', 'x2']);
  t.same(f.types(), ['truncated']);
  t.equal(f.source.position, `${ino}:6`);
});

t.test('a file that appears later is read from its start', async (t) => {
  const file = path.join(tempDir(t), 'audit.log');
  const f = follow(t, file);
  await waitFor(t, 'waiting', () => f.types().includes('waiting'));
  t.equal(f.source.position, '0:0', 'from the start of whatever file appears');
  t.match(f.source.lastError, /audit\.log: does not exist yet; waiting/);
  await sleep(100);
  fs.writeFileSync(file, 'w1\nw2\n');
  await waitFor(t, 'the lines', () => f.lines.length === 2);
  t.same(f.lines, ['w1', 'w2']);
  t.same(f.types(), ['waiting', 'appeared'], 'waiting reported once');
  t.equal(f.source.lastError, null);
  t.equal(f.source.position, `${inode(file)}:6`);
});

t.test('the path missing but <path>.1 there: only what is still written to .1, then the path', async (t) => {
  const file = path.join(tempDir(t), 'audit.log');
  fs.writeFileSync(`${file}.1`, 'already rotated\n');
  const f = follow(t, file);
  await waitFor(t, 'waiting', () => f.types().includes('waiting'));
  await sleep(50);
  fs.appendFileSync(`${file}.1`, 'late\n');
  await waitFor(t, 'the late line', () => f.lines.length === 1);
  fs.writeFileSync(file, 'first\n');
  await waitFor(t, 'the new file', () => f.lines.length === 2);
  t.same(f.lines, ['late', 'first']);
  t.same(f.types(), ['waiting', 'appeared']);
});

t.test('rotated while stopped: the rotated file is finished from the saved offset, then the new one', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'audit.log');
  fs.writeFileSync(file, 'a1\na2\n');
  const oldIno = inode(file);
  fs.appendFileSync(file, 'a3\n');
  fs.renameSync(file, `${file}.1`);
  fs.writeFileSync(file, 'b1\nb2\n');
  const f = follow(t, file, { startPosition: `${oldIno}:3` });
  await waitFor(t, 'all lines', () => f.lines.length === 4, 3000, () => f.lines);
  t.same(f.lines, ['a2', 'a3', 'b1', 'b2']);
  t.same(f.types(), ['rotated', 'rotated']); // once at the start, once when moving on to the path
  t.equal(f.source.position, `${inode(file)}:6`);
  t.same(f.positions, [`${oldIno}:9`, `${inode(file)}:6`]);

  // the rotated file is gone too: all of the current file
  await f.source.stop();
  fs.rmSync(`${file}.1`);
  const g = follow(t, file, { startPosition: `${oldIno}:3` });
  await waitFor(t, 'the current file', () => g.lines.length === 2);
  t.same(g.lines, ['b1', 'b2']);
  t.same(g.types(), ['replaced']);
});

t.test('a missing directory: waits for it, says which, then reads', async (t) => {
  const dir = tempDir(t);
  const parent = path.join(dir, 'var', 'log', 'audit');
  const file = path.join(parent, 'audit.log');
  const f = follow(t, file);
  await waitFor(t, 'waiting', () => f.types().includes('waiting'));
  t.match(f.source.lastError, `${parent}: directory does not exist`);
  fs.mkdirSync(parent, { recursive: true });
  fs.writeFileSync(file, 'd1\n');
  await waitFor(t, 'the first line (found by the poll)', () => f.lines.length === 1);
  fs.appendFileSync(file, 'd2\n');
  await waitFor(t, 'the second line', () => f.lines.length === 2);
  t.same(f.lines, ['d1', 'd2']);
  t.same(f.types(), ['waiting', 'appeared']);
  t.equal(f.source.lastError, null);
});

t.test('a path that cannot be read: a clear error, reported once, and recovery', async (t) => {
  const file = path.join(tempDir(t), 'audit.log');
  fs.mkdirSync(file);
  const f = follow(t, file);
  await waitFor(t, 'the error', () => f.source.lastError !== null);
  t.match(f.source.lastError, `${file}: is a directory; name the log file inside it`);
  await sleep(300); // several retries
  t.same(f.types(), ['error'], 'a lasting error is reported once');
  fs.rmdirSync(file);
  fs.writeFileSync(file, 'ok\n');
  await waitFor(t, 'the line', () => f.lines.length === 1);
  t.same(f.lines, ['ok']);
  t.equal(f.source.lastError, null);
});

t.test('lines longer than the buffer grow it; longer than the limit are skipped', async (t) => {
  const file = path.join(tempDir(t), 'syslog');
  const long = 'L'.repeat(300);
  const huge = 'H'.repeat(5000);
  fs.writeFileSync(file, `s1\n${long}\n${huge}\ns2\n`);
  const f = follow(t, file, { startPosition: `${inode(file)}:0`, bufferBytes: 64, maxLineBytes: 1024 });
  await waitFor(t, 'the lines', () => f.lines.length === 3, 3000, () => f.lines);
  t.same(f.lines, ['s1', long, 's2']);
  t.match(f.events, [{ type: 'error', detail: /offset 304 is longer than 1024 bytes; skipped/ }]);
  t.equal(f.source.position, `${inode(file)}:${fs.statSync(file).size}`);
});

t.test('a large file: 200 000 lines complete, in order, with exact offsets', async (t) => {
  const file = path.join(tempDir(t), 'audit.log');
  const N = 200_000;
  const expected: Buffer[] = [];
  for (let i = 0; i < N; i++) {
    expected.push(Buffer.from(`type=SECCOMP msg=audit(1700000000.${i % 1000}:${i}): pid=${i} comm="wörker" ${'a'.repeat(i % 97)}`));
  }
  fs.writeFileSync(file, Buffer.concat(expected.flatMap((b) => [b, Buffer.from('\n')])));
  const ino = inode(file);
  let n = 0;
  let wrong = 0;
  let offset = 0;
  let badPositions = 0;
  let batches = 0;
  const source: FileSource = new FileSource({
    path: file,
    startPosition: `${ino}:0`,
    sink: {
      onLine: (buf, start, end) => {
        if (buf.compare(expected[n]!, 0, expected[n]!.length, start, end) !== 0) wrong++;
        offset += end - start + 1;
        n++;
      },
      onBatchEnd: () => {
        batches++;
        if (source.position !== `${ino}:${offset}`) badPositions++;
      },
    },
  });
  const t0 = Date.now();
  source.start();
  t.teardown(() => source.stop());
  await waitFor(t, 'all lines', () => n >= N, 10_000, () => n);
  const ms = Date.now() - t0;
  await source.stop();
  t.equal(n, N);
  t.equal(wrong, 0, 'each line has the bytes written');
  t.equal(badPositions, 0, `each of ${batches} batches ends at the byte after its last line`);
  t.equal(source.position, `${ino}:${fs.statSync(file).size}`);
  t.equal(source.bytes, fs.statSync(file).size);
  t.comment(`${N} lines, ${fs.statSync(file).size} bytes in ${ms} ms`);
});

t.test('stop lets the process exit on its own', async (t) => {
  const file = path.join(tempDir(t), 'exit.log');
  fs.writeFileSync(file, '');
  const code = `
    import fs from 'node:fs';
    import { FileSource } from ${JSON.stringify(path.join(REPO, 'src/sources/file-source.ts'))};
    const keep = setInterval(() => {}, 1000);
    const s = new FileSource({ path: ${JSON.stringify(file)}, sink: { onLine: (b, a, e) => {
      console.log('line', b.toString('utf8', a, e));
      void s.stop().then(() => { console.log('stopped'); clearInterval(keep); });
    } } });
    s.start();
    setTimeout(() => fs.appendFileSync(${JSON.stringify(file)}, 'hello\\n'), 50);
  `;
  const child = spawn(process.execPath, ['--import=tsx', '--input-type=module', '-e', code], { cwd: REPO });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
  const killer = setTimeout(() => child.kill('SIGKILL'), 8000);
  const exit = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  clearTimeout(killer);
  t.equal(exit, 0, out);
  t.match(out, /line hello\nstopped\n/);
});
