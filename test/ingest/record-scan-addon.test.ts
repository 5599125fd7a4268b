import t from 'tap';
import { recordScan } from '../../src/ingest/record-scan-addon.js';
import { rng } from '../helpers/rng.js';

// The C reader of native/record-scan.c on hostile bytes: lines mutated and cut anywhere, each
// input in a buffer of exactly its size, so a read past `end` would leave the allocation (valgrind
// memcheck found none over 3 000 such rounds; a crash here fails the whole file). What it reads is
// compared with the JavaScript parser in packed-records.test.ts; this checks it stays in bounds.
const GOOD = 'type=SECCOMP msg=audit(1795759595.762:3): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=2026 comm="true" exe="/usr/bin/true" sig=0 arch=c000003e syscall=12 compat=0 ip=0x7fcfd5ec1c47 code=0x7ffc0000\n';
const ENTRIES = 1024;

t.test('any bytes: it returns a position within the range and never writes past the entries it is given', async (t) => {
  const scan = recordScan();
  if (scan === null) return t.fail('the addon is not built (npm install builds it)');
  const next = rng(9);
  // one entry of room past maxEntries, filled with a marker: it must stay untouched
  const numbers = new Float64Array((ENTRIES + 1) * 12).fill(7.5);
  const ranges = new Int32Array((ENTRIES + 1) * 14).fill(75);
  const out = new Int32Array(2);
  let records = 0;
  for (let round = 0; round < 20_000; round++) {
    const parts: Buffer[] = [];
    for (let k = 0; k < 1 + Math.floor(next() * 4); k++) {
      const line = Buffer.from(GOOD);
      for (let m = 0; m < Math.floor(next() * 4); m++) line[Math.floor(next() * line.length)] = Math.floor(next() * 256);
      parts.push(next() < 0.3 ? line.subarray(0, Math.floor(next() * line.length)) : line);
    }
    const input = Buffer.concat(parts);
    const exact = Buffer.alloc(input.length);
    input.copy(exact);
    const pos = next() < 0.5 ? 0 : Math.floor(next() * exact.length);
    const maxEntries = 1 + Math.floor(next() * 3);
    const after = scan.scan(exact, pos, exact.length, numbers, ranges, 0, maxEntries, out);
    if (after < pos || after > exact.length || out[0]! < 0 || out[0]! > maxEntries || out[1]! < 0) {
      return t.fail(`round ${round}: scan returned ${after}, ${out[0]} entries, ${out[1]} skipped for ${JSON.stringify(exact.toString('latin1'))}`);
    }
    records += out[0]!;
  }
  t.ok(numbers.subarray(ENTRIES * 12).every((v) => v === 7.5) && ranges.subarray(ENTRIES * 14).every((v) => v === 75), 'nothing written past the entries given');
  t.ok(records > 2_000, `${records} records read from the intact lines among them`);
});

t.test('arguments out of range are refused, not followed', async (t) => {
  const scan = recordScan();
  if (scan === null) return t.fail('the addon is not built (npm install builds it)');
  const buf = Buffer.from(GOOD);
  const numbers = new Float64Array(12), ranges = new Int32Array(14), out = new Int32Array(2);
  t.throws(() => scan.scan(buf, 0, buf.length + 1, numbers, ranges, 0, 1, out), /out of bounds/, 'end past the buffer');
  t.throws(() => scan.scan(buf, 5, 4, numbers, ranges, 0, 1, out), /out of bounds/, 'end before pos');
  t.throws(() => scan.scan(buf, 0, buf.length, numbers, ranges, 0, 2, out), /out of bounds/, 'more entries than the arrays hold');
  t.throws(() => scan.scan(buf, 0, buf.length, new Float64Array(12), new Int32Array(13), 0, 1, out), /out of bounds/, 'ranges too short');
  t.throws(() => scan.scan(buf, 0, buf.length, numbers, ranges, 0, 1, new Int32Array(1)), /Int32Array of 2/, 'out too short');
  t.equal(scan.scan(buf, 0, buf.length, numbers, ranges, 0, 1, out), buf.length, 'in range: the line is read');
  t.equal(out[0], 1);
});
