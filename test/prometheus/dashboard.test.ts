/**
 * Every panel of the Grafana dashboard, run as Grafana runs it (variables substituted, range
 * queries for time series, instant ones for tables) against a real Prometheus scraping a fed
 * daemon: each query returns data for the fed records, so no panel shows "No data". The variable
 * queries list the fed node, namespace and workload. The alert rules load into the same
 * Prometheus and evaluate without error on the real series.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { DASHBOARD_FILE, RULES_FILE } from '../../deploy/generate-components.js';
import { recordLine } from '../ingest/fake-node.js';
import { DB, FedDaemon, WEB } from './fed-daemon.js';
import { PrometheusServer } from './prometheus-server.js';

interface Target { expr: string; instant?: boolean; range?: boolean; refId: string }
interface Panel { id: number; type: string; title: string; targets?: Target[] }
interface Variable { name: string; type: string; query?: { query: string } | string }
interface Dashboard { panels: Panel[]; templating: { list: Variable[] } }

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Dashboard;

/** What a user picks: the fed node, namespace and workload; every cluster. */
const PICKED: Record<string, string> = { cluster: 'test', node: 'node-a', namespace: 'shop', workload: 'web', __rate_interval: '1m' };

function substitute(expr: string): string {
  const out = expr.replace(/\$(\w+)/g, (whole, name: string) => PICKED[name] ?? whole);
  if (out.includes('$')) throw new Error(`a variable the test does not know in ${expr}`);
  return out;
}

/** `label_values(selector, label)` as PromQL: the label's values among the selector's series. */
function labelValuesQuery(q: string): { promql: string; label: string } {
  const m = /^label_values\((.+), *(\w+)\)$/.exec(q);
  if (m === null) throw new Error(`not a label_values() query: ${q}`);
  return { promql: `count by (${m[2]}) (${substitute(m[1]!)})`, label: m[2]! };
}

t.test('every panel returns data for the fed records; every variable lists them', async (t) => {
  const daemon = new FedDaemon();
  await daemon.start();
  t.teardown(() => daemon.stop());
  const prom = await PrometheusServer.start([{ job: 'seccomp-auditor', target: daemon.target, labels: { cluster: 'test', node: 'node-a' } }], [RULES_FILE]);
  t.teardown(() => prom.stop());
  await prom.until('sum(seccomp_auditor_container_syscall_records_total)', (r) => r[0]?.value[1] === '6');
  // records keep coming for a while, as on a node: rates, latency and new syscalls have
  // something to show (WEB calls five new syscalls, one a second, and is blocked once more)
  for (let i = 0; i < 12; i++) {
    daemon.append(recordLine(WEB.pid, 0) + recordLine(DB.pid, 0) + (i % 2 === 0 ? recordLine(WEB.pid, 2 + i / 2) : '') + (i === 6 ? recordLine(WEB.pid, 59, 'errno') : ''));
    await new Promise((r) => setTimeout(r, 1000));
  }
  await prom.scrapes('seccomp-auditor', 2);

  const panels = dashboard.panels.filter((p) => p.type !== 'row');
  t.ok(panels.length >= 10, `${panels.length} panels`);
  for (const panel of panels) {
    t.ok((panel.targets ?? []).length > 0, `${panel.title}: has a query`);
    for (const target of panel.targets ?? []) {
      const expr = substitute(target.expr);
      const name = `${panel.title} (${target.refId})`;
      if (target.instant === true) {
        const r = await prom.query(expr);
        t.ok(r.length > 0, `${name}: instant query returns data: ${expr}`);
        t.ok(r.some((s) => Number.isFinite(Number(s.value[1]))), `${name}: a number, not NaN`);
      } else {
        const r = await prom.queryRange(expr, 30);
        t.ok(r.length > 0, `${name}: range query returns series: ${expr}`);
        t.ok(r.some((s) => s.values.some(([, v]) => Number.isFinite(Number(v)))), `${name}: with numbers, not only NaN`);
      }
    }
  }

  // the panels that show what was fed say so in numbers
  const one = async (q: string): Promise<number> => Number((await prom.query(substitute(q)))[0]?.value[1]);
  t.equal(await one('max by (namespace, workload, container) (seccomp_auditor_container_syscalls{cluster=~"$cluster", node=~"$node", namespace=~"$namespace", workload=~"$workload"})'), 9,
    'web learned 9 distinct syscalls (read, write, execve, 2..7)');
  const newSyscalls = await prom.queryRange(substitute('sum by (namespace, workload) (clamp_min(delta(seccomp_auditor_container_syscalls{cluster=~"$cluster", node=~"$node", namespace=~"$namespace", workload=~"$workload"}[$__rate_interval]), 0))'), 30);
  t.ok(newSyscalls[0]!.values.some(([, v]) => Number(v) > 0), 'the new-syscalls panel shows the rise');

  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) {
    const q = typeof v.query === 'string' ? v.query : v.query!.query;
    const { promql, label } = labelValuesQuery(q);
    const values = (await prom.query(promql)).map((s) => s.metric[label]);
    t.ok(values.includes(PICKED[v.name]), `$${v.name} lists ${PICKED[v.name]}: ${JSON.stringify(values)}`);
  }

  const rules = await prom.rules();
  t.equal(rules.length, 8, 'every rule of the rules file loaded');
  t.same(rules.filter((r) => r.health !== 'ok' && r.health !== 'unknown').map((r) => `${r.name}: ${r.lastError}`), [], 'and evaluates without error');
  await prom.until('seccomp_auditor:converged_after_seconds', (r) => r[0]?.value[1] === '86400');
});
