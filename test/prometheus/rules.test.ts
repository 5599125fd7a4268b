/**
 * The alerts: promtool accepts the rules file and the PrometheusRule's groups (the same, generated),
 * and the unit tests beside the rules (deploy/prometheus/seccomp-auditor-rules.test.yaml: each
 * alert fires where it should and stays quiet where it should not) pass.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse, stringify } from 'yaml';
import { PROMETHEUS_RULE_FILE, RULES_FILE } from '../../deploy/generate-components.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { PROMTOOL } from './prometheus-server.js';

function promtool(args: string[], cwd: string): { code: number | null; out: string } {
  const r = spawnSync(PROMTOOL, args, { cwd, encoding: 'utf8', timeout: 60_000 });
  if (r.error) throw r.error;
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

t.test('promtool check rules: the plain file and the PrometheusRule\'s groups', async (t) => {
  const plain = promtool(['check', 'rules', RULES_FILE], dirname(RULES_FILE));
  t.equal(plain.code, 0, plain.out);
  t.match(plain.out, /SUCCESS: 8 rules found/, 'one recording rule (the converged time) and seven alerts');
  const dir = makeTempDir('sa-rules-');
  const spec = (parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')) as { spec: unknown }).spec;
  writeFileSync(join(dir, 'from-prometheusrule.yaml'), stringify(spec));
  const operator = promtool(['check', 'rules', 'from-prometheusrule.yaml'], dir);
  t.equal(operator.code, 0, operator.out);
  t.notMatch(`${plain.out}${operator.out}`, /WARNING|lint/i, 'and no lint warning');
});

t.test('promtool test rules: every alert fires and stays quiet where it should', async (t) => {
  const tests = join(dirname(RULES_FILE), 'seccomp-auditor-rules.test.yaml');
  const r = promtool(['test', 'rules', tests], dirname(RULES_FILE));
  t.equal(r.code, 0, r.out);
  t.match(r.out, /SUCCESS/);
  // every alert of the rules file has a test that expects it to fire, and one moment where it must not
  const alerts = (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: { alert?: string }[] }[] }).groups
    .flatMap((g) => g.rules).map((rule) => rule.alert).filter((a): a is string => a !== undefined);
  const cases = (parse(readFileSync(tests, 'utf8')) as { tests: { alert_rule_test: { alertname: string; exp_alerts?: unknown[] }[] }[] }).tests
    .flatMap((x) => x.alert_rule_test);
  for (const alert of alerts) {
    t.ok(cases.some((c) => c.alertname === alert && (c.exp_alerts?.length ?? 0) > 0), `${alert}: a case where it fires`);
    t.ok(cases.some((c) => c.alertname === alert && (c.exp_alerts?.length ?? 0) === 0), `${alert}: a case where it stays quiet`);
  }
});
