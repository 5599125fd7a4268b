/**
 * The kustomize components made from the plain files, which stay the sources:
 *   deploy/prometheus/seccomp-auditor-rules.yaml  → components/prometheus-rules/prometheusrule.yaml
 *   deploy/grafana/seccomp-auditor.json           → components/grafana-dashboard/configmap.yaml
 * (kustomize loads no file from outside a kustomization's directory, so a generator there could
 * not read them). `npm run gen:deploy` writes both; test/prometheus/deploy-components.test.ts
 * fails when a committed one differs from what this makes.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';

const DEPLOY = fileURLToPath(new URL('.', import.meta.url));
export const RULES_FILE = `${DEPLOY}prometheus/seccomp-auditor-rules.yaml`;
export const DASHBOARD_FILE = `${DEPLOY}grafana/seccomp-auditor.json`;
export const PROMETHEUS_RULE_FILE = `${DEPLOY}kubernetes/components/prometheus-rules/prometheusrule.yaml`;
export const DASHBOARD_CONFIGMAP_FILE = `${DEPLOY}kubernetes/components/grafana-dashboard/configmap.yaml`;

const HEADER = (from: string): string => `# Generated from ${from} by npm run gen:deploy: edit that file, not this one.\n`;
const LABELS = { 'app.kubernetes.io/name': 'seccomp-auditor' };

export function prometheusRule(): string {
  const rules = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: unknown[] };
  const object = {
    apiVersion: 'monitoring.coreos.com/v1',
    kind: 'PrometheusRule',
    metadata: { name: 'seccomp-auditor', labels: LABELS },
    spec: { groups: rules.groups },
  };
  return HEADER('deploy/prometheus/seccomp-auditor-rules.yaml') + stringify(object, { lineWidth: 0 });
}

export function dashboardConfigMap(): string {
  const json = readFileSync(DASHBOARD_FILE, 'utf8');
  JSON.parse(json); // a broken dashboard is an error here, not in Grafana's log
  const object = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'seccomp-auditor-dashboard',
      // what Grafana's dashboard sidecar (kiwigrid k8s-sidecar, the Grafana Helm chart and
      // kube-prometheus-stack) looks for by default
      labels: { ...LABELS, grafana_dashboard: '1' },
    },
    data: { 'seccomp-auditor.json': json },
  };
  return HEADER('deploy/grafana/seccomp-auditor.json') + stringify(object, { lineWidth: 0 });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(PROMETHEUS_RULE_FILE, prometheusRule());
  writeFileSync(DASHBOARD_CONFIGMAP_FILE, dashboardConfigMap());
}
