import t from 'tap';
import { parseSourceSpec } from '../../src/sources/source-spec.js';

t.test('--source values: kind and path, or null for what nothing reads', async (t) => {
  t.same(['kmsg', 'none', '-', 'journal', 'journal:/j', 'file:/x', 'file:', 'journal:', 'syslog', 'File:/x'].map(parseSourceSpec), [
    { kind: 'kmsg', path: null }, { kind: 'none', path: null }, { kind: 'stdin', path: null }, { kind: 'journal', path: null },
    { kind: 'journal', path: '/j' }, { kind: 'file', path: '/x' }, null, null, null, null,
  ]);
});
