import t from 'tap';
import { LineStaging } from '../../src/sources/line-staging.js';

function collector() {
  const lines: string[] = [];
  return { lines, sink: { onLine: (buf: Buffer, start: number, end: number) => { lines.push(buf.toString('utf8', start, end)); } } };
}

t.test('lines come out in order, in slices, past the first arena and offset capacity', async (t) => {
  const staging = new LineStaging(64 << 20);
  const src = Buffer.alloc(2000);
  const expected: string[] = [];
  // 6000 lines (> 4096 offsets) of up to 1 KiB (> 1 MiB in all): both grow while lines wait
  for (let i = 0; i < 6000; i++) {
    const line = `${i}:${'x'.repeat(i % 1000)}`;
    src.write(`junk${line}junk`, 0);
    staging.push(src, 4, 4 + Buffer.byteLength(line), 1000 + i);
    expected.push(line);
  }
  t.equal(staging.pending, 6000);
  const { lines, sink } = collector();
  t.equal(staging.handOn(sink, 256), 256, 'a slice at most');
  t.equal(staging.lastSeq, 1255, 'the sequence number of the last line handed on');
  while (staging.pending > 0) staging.handOn(sink, 256);
  t.same(lines, expected, 'every line, unchanged, in order');
  t.equal(staging.lastSeq, 6999);
  // once empty it starts again at the front: more lines reuse the arena
  staging.push(Buffer.from('again'), 0, 5, 7000);
  staging.handOn(sink, 10);
  t.equal(lines.at(-1), 'again');
});

t.test('full once the byte limit is reached', async (t) => {
  const staging = new LineStaging(100);
  const line = Buffer.from('y'.repeat(60));
  staging.push(line, 0, 60, 1);
  t.notOk(staging.full);
  staging.push(line, 0, 60, 2);
  t.ok(staging.full, 'the reader stops staging and lets the kernel count what it overwrites');
  const { sink } = collector();
  staging.handOn(sink, 10);
  t.notOk(staging.full, 'room again once handed on');
});
