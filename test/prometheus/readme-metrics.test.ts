/**
 * The README's metrics list names every family the daemon exports (the list the real-Prometheus
 * test checks the exposition against), and every alert of the rules file is in its alert table.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { RULES_FILE } from '../../deploy/generate-components.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { DOCUMENTED_SERIES } from './documented-series.js';

const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');

t.test('every exported family is in the README', async (t) => {
  const families = new Set(Object.keys(DOCUMENTED_SERIES).map((n) => n.replace(/^seccomp_auditor_/, '').replace(/_(bucket|sum|count)$/, '')));
  for (const f of families) t.match(readme, new RegExp('`' + f + '[`{]'), `${f} is named`);
});

t.test('every alert is in the README\'s alert table', async (t) => {
  const alerts = (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { alert?: string }[] }[] }).groups.flatMap((g) => g.rules).flatMap((r) => r.alert ?? []);
  t.equal(alerts.length, 7);
  for (const a of alerts) t.match(readme, new RegExp('^\\| `' + a + '`', 'm'), `${a} has a row`);
});
