import t from 'tap';
import { FramingTemplate } from '../../src/parse/framing-template.js';
import { SeccompLineParser } from '../../src/parse/seccomp-line-parser.js';
import { collect } from '../helpers/collect.js';

const KERNEL = 'audit: type=1326 audit(1795759595.762:3): auid=0 uid=0 gid=0 ses=1 pid=4101 comm="a" exe="/a" sig=0 arch=c000003e syscall=165 compat=0 ip=0x1 code=0x7ffc0000';
const LEGIT = 'Nov 27 07:21:26 node-1 kernel: [  391.088404] ';

/** the template learned from LEGIT, asked about `prefix` (followed by a record, as in a line) */
function matches(prefix: string): boolean {
  const tpl = new FramingTemplate();
  const learned = Buffer.from(LEGIT + KERNEL);
  tpl.remember(learned, 0, LEGIT.length);
  const b = Buffer.from(`xx${prefix}${KERNEL}`);
  return tpl.matches(b, 2, 2 + prefix.length);
}

t.test('a prefix that differs only in digits has the same framing; any other difference takes the full check', async (t) => {
  t.ok(matches(LEGIT), 'the same prefix');
  t.ok(matches('Nov 30 23:59:59 node-7 kernel: [  999.999999] '), 'other digits');
  t.notOk(matches('Nov 27 07:21:26 node-1 someus: [  391.088404] '), 'another tag of the same length');
  t.notOk(matches('Nov 27 07:21:26 node-1 kernel: [  391.0884 4] '), 'a space where a digit was: another field');
  t.notOk(matches('Nov 27 07:21:26 node-1 kernel: [  391.08840x] '), 'a letter where a digit was');
  t.notOk(matches('Nov 27 07:21:26 node-1 kernel: [ 391.088404] '), 'another length');
  t.notOk(matches('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx '), 'anything else');
  const tpl = new FramingTemplate();
  const b = Buffer.from(LEGIT + KERNEL);
  tpl.remember(b, 0, LEGIT.length);
  const cut = Buffer.from(LEGIT.slice(0, LEGIT.length - 1));
  t.notOk(tpl.matches(cut, 0, LEGIT.length), 'a buffer that ends within the last word is no match (and no read past it)');
  const long = 'x'.repeat(200);
  tpl.remember(Buffer.from(long + KERNEL), 0, long.length);
  t.notOk(tpl.matches(Buffer.from(long + KERNEL), 0, long.length), 'a prefix longer than the template holds is never matched');
});

t.test('through the parser: after a kernel line, a same-length line of another writer is still foreign', async (t) => {
  const lines = [
    `${LEGIT}${KERNEL}`,
    `Nov 27 07:21:26 node-1 someus: [  391.088404] ${KERNEL}`,
    `Nov 27 07:21:27 node-1 kernel: [  391.088405] ${KERNEL}`,
    `Nov 27 07:21:27 node-1 kernel: [  391.0884 5] ${KERNEL}`,
    `Nov 27 07:21:27 node-1 kernel: [  391.088406] ${KERNEL}`,
  ];
  const text = lines.join('\n') + '\n' + 'filler\n'.repeat(4000);
  for (const chunk of [1 << 20, 100]) {
    const got = collect(text, chunk);
    t.same(got.records.map((r) => r.line), [1, 3, 5], `chunks of ${chunk}: the kernel's lines`);
    t.equal(got.stats.foreign, 2, `chunks of ${chunk}: the other two are foreign`);
  }
});

t.test('a priority\'s digit is never free: after a kernel-facility line, one of facility 1 of the same length is foreign', async (t) => {
  const got = collect([
    `4,1234,391088404,-;${KERNEL}`,
    `9,1234,391088404,-;${KERNEL}`,
    `<4>[  391.088404] ${KERNEL}`,
    `<9>[  391.088404] ${KERNEL}`,
  ].join('\n') + '\n' + 'filler\n'.repeat(4000));
  t.same(got.records.map((r) => r.line), [1, 3]);
  t.equal(got.stats.foreign, 2);
  const one = new SeccompLineParser({ handler: { onRecord() {}, onLostSignal() {}, onMalformed() {} } });
  for (const [i, line] of [`4,1234,391088404,-;${KERNEL}`, `9,1234,391088404,-;${KERNEL}`, `8,1234,391088404,-;${KERNEL}`].entries()) {
    const b = Buffer.from(line);
    one.parseLine(b, 0, b.length, i + 1);
  }
  t.match(one.stats, { records: 1, foreign: 2 }, 'line by line, as the kmsg source hands them');
});
