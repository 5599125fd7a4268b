import t from 'tap';
import { labelValue, MAX_LABEL_LENGTH } from '../../src/metrics/label-value.js';

t.test('printable text passes as it is', (t) => {
  for (const v of ['nginx', 'web-7d9f8b6c4-x2k4p', '/usr/bin/python3.11', 'file:/var/log/audit/audit.log', 'ünïcode ✓', '']) t.equal(labelValue(v), v);
  t.end();
});

t.test('control characters and lone surrogates become ?', (t) => {
  // what a process can name itself with prctl(PR_SET_NAME) or a path it execs
  t.equal(labelValue('evil\nname'), 'evil?name');
  t.equal(labelValue('\u001b[31mred\u001b[0m'), '?[31mred?[0m');
  t.equal(labelValue('a\u0000b\u007fc\u0085d'), 'a?b?c?d');
  t.equal(labelValue('x\ud800y'), 'x?y', 'a high surrogate alone');
  t.equal(labelValue('x\udc00'), 'x?', 'a low surrogate alone');
  t.equal(labelValue('😀'), '😀', 'a pair is kept');
  t.equal(labelValue('ok\n'), 'ok?', 'and the next call starts afresh (the /g regular expression is reset)');
  t.equal(labelValue('ok'), 'ok');
  t.end();
});

t.test('long values are cut at MAX_LABEL_LENGTH characters, the cut marked, a pair never split', (t) => {
  const cut = labelValue('/'.repeat(1000));
  t.equal(cut.length, MAX_LABEL_LENGTH);
  t.ok(cut.endsWith('…'));
  const emoji = labelValue('a' + '😀'.repeat(200));
  t.ok(emoji.length <= MAX_LABEL_LENGTH);
  t.notMatch(emoji, /[\ud800-\udbff]…$/, 'no high surrogate left before the mark');
  t.equal(labelValue('a'.repeat(MAX_LABEL_LENGTH)), 'a'.repeat(MAX_LABEL_LENGTH), 'exactly the limit is not cut');
  t.end();
});
