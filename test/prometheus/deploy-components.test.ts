/**
 * The kustomize components for Prometheus and Grafana are what deploy/generate-components.ts makes
 * from the plain files (kustomize cannot read files outside a component, so they are committed
 * copies), and they build into one PrometheusRule and one sidecar-labelled ConfigMap.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parse } from 'yaml';
import { DASHBOARD_CONFIGMAP_FILE, DASHBOARD_FILE, dashboardConfigMap, PROMETHEUS_RULE_FILE, prometheusRule, RULES_FILE } from '../../deploy/generate-components.js';
import { buildKustomization } from '../deploy/kustomize-build.js';
import { schemaErrors } from '../deploy/kube-schema.js';

t.test('the committed components are the generated ones (npm run gen:deploy after editing a source)', async (t) => {
  t.equal(readFileSync(PROMETHEUS_RULE_FILE, 'utf8'), prometheusRule(), 'prometheusrule.yaml');
  t.equal(readFileSync(DASHBOARD_CONFIGMAP_FILE, 'utf8'), dashboardConfigMap(), 'configmap.yaml');
  const rule = parse(readFileSync(PROMETHEUS_RULE_FILE, 'utf8')) as { spec: unknown };
  t.same(rule.spec, { groups: (parse(readFileSync(RULES_FILE, 'utf8')) as { groups: unknown }).groups }, 'the same groups as the plain rules file');
  const cm = parse(readFileSync(DASHBOARD_CONFIGMAP_FILE, 'utf8')) as { data: Record<string, string> };
  t.same(JSON.parse(cm.data['seccomp-auditor.json']!), JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')), 'the same dashboard');
});

t.test('the example overlay brings one PrometheusRule and one sidecar-labelled ConfigMap, valid against the API\'s schema', async (t) => {
  // a component builds only inside a kustomization: the example overlay lists both
  const objects = buildKustomization(join(dirname(PROMETHEUS_RULE_FILE), '../../overlays/example'));
  const rules = objects.filter((o) => o['kind'] === 'PrometheusRule');
  t.same(rules.map((o) => `${o['metadata'].namespace}/${o['metadata'].name}`), ['seccomp-auditor/seccomp-auditor']);
  t.same(schemaErrors(rules[0]!), []);
  const dashboards = objects.filter((o) => o['kind'] === 'ConfigMap' && o['metadata'].labels?.grafana_dashboard === '1');
  t.same(dashboards.map((o) => `${o['metadata'].namespace}/${o['metadata'].name}`), ['seccomp-auditor/seccomp-auditor-dashboard'], 'with the label Grafana\'s sidecar looks for');
  t.same(schemaErrors(dashboards[0]!), []);
  // a ConfigMap holds at most 1 MiB; the dashboard is far from it, but say so before it grows
  t.ok(Buffer.byteLength(readFileSync(DASHBOARD_CONFIGMAP_FILE)) < 512 * 1024, 'well under a ConfigMap\'s 1 MiB');
});
