import t from 'tap';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { inputChunks, InputError } from '../../src/sources/input-chunks.js';
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
