import t from 'tap';
import { containerLabelText, escapeLabelValue, FamilyText } from '../../src/metrics/exposition-text.js';
import { parseExposition } from './exposition.js';

t.test('label values: backslash, double quote and line feed escaped, the rest as it is', (t) => {
  t.equal(escapeLabelValue('web-7d9f8b6c4-x2k4p'), 'web-7d9f8b6c4-x2k4p');
  t.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  t.equal(escapeLabelValue('\\\\"'), '\\\\\\\\\\"', 'each character on its own');
  t.equal(escapeLabelValue('ünïcode ✓ {}=,'), 'ünïcode ✓ {}=,', 'braces, commas and equals need nothing inside quotes');
  t.end();
});

t.test('a container\'s labels: sanitised, then escaped, with the workload from the pod\'s name', (t) => {
  t.equal(containerLabelText({ namespace: 'shop', pod: 'web-7d9f8b6c4-x2k4p', container: null }),
    'namespace="shop",workload="web",pod="web-7d9f8b6c4-x2k4p",container=""');
  t.equal(containerLabelText({ namespace: 'n"s', pod: 'p\\\n0', container: 'c\u001b' }),
    'namespace="n\\"s",workload="p\\\\?0",pod="p\\\\?0",container="c?"');
  t.end();
});

t.test('a family: HELP and TYPE as prom-client writes them, samples read back, no line feed at the end', (t) => {
  const f = new FamilyText({ name: 'x_total', help: 'A help\nwith a \\ in it.', type: 'counter' });
  t.equal(f.text(), '# HELP x_total A help\\nwith a \\\\ in it.\n# TYPE x_total counter', 'without samples: the two lines');
  f.sample('a="1"', 3);
  f.sample('', 0.25);
  f.sample('a="2"', Infinity);
  f.sample('a="3"', NaN);
  const text = f.text();
  t.notOk(text.endsWith('\n'));
  const e = parseExposition(text);
  t.same(e.samples.get('x_total')?.map((s) => [s.labels, s.value]), [[{ a: '1' }, 3], [{}, 0.25], [{ a: '2' }, Infinity], [{ a: '3' }, NaN]]);
  t.equal(e.types.get('x_total'), 'counter');
  t.end();
});
