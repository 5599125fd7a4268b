import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { inputChunks, InputError, mayBeLive } from '../../src/sources/input-chunks.js';
import { makeTempDir } from '../helpers/real-kernel.js';

const MiB = 1 << 20;

/** Every chunk copied as it comes (a chunk is valid only until the next is asked for). */
async function readAll(path: string, pause = false): Promise<{ bytes: Buffer; sizes: number[] }> {
  const parts: Buffer[] = [];
  for await (const chunk of inputChunks(path, process.stdin)) {
    parts.push(Buffer.from(chunk));
    // a consumer that awaits between chunks: the read ahead must not land in the chunk it holds
    if (pause) await sleep(1);
  }
  return { bytes: Buffer.concat(parts), sizes: parts.map((p) => p.length) };
}

t.test('a plain file comes whole and in order, in chunks of at most a megabyte', async (t) => {
  const dir = makeTempDir('sa-chunks-');
  const data = randomBytes(3 * MiB + 12_345);
  // a gzip's first byte alone does not make a gzip; the second is set too, or 1 run in 256
  // drew 0x8b and read the random bytes as a gzip
  data[0] = 0x1f;
  data[1] = 0x8a;
  writeFileSync(join(dir, 'plain.log'), data);
  for (const pause of [false, true]) {
    const { bytes, sizes } = await readAll(join(dir, 'plain.log'), pause);
    t.ok(bytes.equals(data), `same bytes (pause ${pause})`);
    t.ok(sizes.every((s) => s > 0 && s <= MiB), `chunks of at most 1 MiB: ${sizes.join(', ')}`);
  }
  writeFileSync(join(dir, 'empty.log'), '');
  t.same((await readAll(join(dir, 'empty.log'))).sizes, [], 'an empty file has no chunks');
  writeFileSync(join(dir, 'one.log'), 'x');
  t.equal((await readAll(join(dir, 'one.log'))).bytes.toString(), 'x', 'a one-byte file');
});

t.test('a gzip is told by its magic bytes and comes decompressed', async (t) => {
  const dir = makeTempDir('sa-chunks-');
  const data = Buffer.from('type=SECCOMP msg=audit(1.0:1): pid=1\n'.repeat(100_000));
  writeFileSync(join(dir, 'rotated.1'), gzipSync(data));
  t.ok((await readAll(join(dir, 'rotated.1'))).bytes.equals(data));
});

t.test('a file that cannot be read is an InputError that says what to do', async (t) => {
  const dir = makeTempDir('sa-chunks-');
  await t.rejects(readAll(join(dir, 'nope.log')), { constructor: InputError, message: /nope\.log: no such file; check the path/ });
  mkdirSync(join(dir, 'logs'));
  await t.rejects(readAll(join(dir, 'logs')), { constructor: InputError, message: /logs: is a directory; name the log files inside it/ });
});

/** A named pipe written by another process in pieces, a pause between them, as `<(ssh node cat ...)` is. */
function writeFifoSlowly(path: string, data: Buffer, pieces: number): Promise<void> {
  const out = createWriteStream(path);
  return (async () => {
    const step = Math.ceil(data.length / pieces);
    for (let i = 0; i < data.length; i += step) {
      if (!out.write(data.subarray(i, i + step))) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
      await sleep(20);
    }
    await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  })();
}

t.test('a pipe (a FIFO, process substitution) is read as it comes, gzip or not', async (t) => {
  const dir = makeTempDir('sa-chunks-');
  const fifo = join(dir, 'audit.fifo');
  execFileSync('mkfifo', [fifo]);
  const data = Buffer.from('type=SECCOMP msg=audit(1.0:1): pid=1\n'.repeat(60_000));
  // before: a read at an offset, which a pipe refuses: "cannot read (ESPIPE)"
  const [plain] = await Promise.all([readAll(fifo), writeFifoSlowly(fifo, data, 7)]);
  t.ok(plain.bytes.equals(data), `same bytes (${plain.sizes.length} chunks)`);
  const [gz] = await Promise.all([readAll(fifo), writeFifoSlowly(fifo, gzipSync(data), 3)]);
  t.ok(gz.bytes.equals(data), 'a gzip through a pipe comes decompressed');
  t.ok(mayBeLive(fifo), 'a pipe may be live');
  t.ok(mayBeLive('-'), 'stdin may be live');
  writeFileSync(join(dir, 'plain.log'), data);
  t.notOk(mayBeLive(join(dir, 'plain.log')), 'a regular file is the past');
  t.notOk(mayBeLive(join(dir, 'nope.log')), 'a missing file is not live (its read says what is wrong)');
  t.notOk(mayBeLive(dir), 'nor a directory');
});
