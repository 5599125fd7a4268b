/**
 * A real Prometheus scrapes a real daemon fed real records: every documented family is stored
 * with its labels and its values agree with what was fed; promtool accepts the exposition; the
 * series cap holds as documented.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { DOCUMENTED_SERIES, TARGET_LABELS } from './documented-series.js';
import { DB, FedDaemon, WEB } from './fed-daemon.js';
import { PrometheusServer, PROMTOOL } from './prometheus-server.js';

const NODE = { node: 'node-a' };

t.test('every documented series, with its labels, from two scrapes of a fed daemon', async (t) => {
  const daemon = new FedDaemon();
  await daemon.start();
  t.teardown(() => daemon.stop());
  const prom = await PrometheusServer.start([{ job: 'seccomp-auditor', target: daemon.target, labels: NODE }]);
  t.teardown(() => prom.stop());
  // the fed records are committed (6 attributed, 2 unattributed) before the two scrapes counted
  await prom.until('sum(seccomp_auditor_container_syscall_records_total) + sum(seccomp_auditor_unattributed_records_total)', (r) => r[0]?.value[1] === '8');
  await prom.scrapes('seccomp-auditor', 2);

  const names = await prom.query('count by (__name__) ({__name__=~"seccomp_auditor_.+"})');
  t.same(names.map((s) => s.metric['__name__']).sort(), Object.keys(DOCUMENTED_SERIES).sort(), 'the documented families, no more, no fewer');
  for (const [name, labels] of Object.entries(DOCUMENTED_SERIES)) {
    const series = await prom.query(name);
    t.ok(series.length > 0, `${name} has series`);
    for (const s of series) {
      const { __name__: _, ...rest } = s.metric;
      t.same(Object.keys(rest).sort(), [...labels, ...TARGET_LABELS].sort(), `${name}: labels ${JSON.stringify(rest)}`);
    }
  }

  // the values are the fed records
  const one = async (q: string): Promise<number> => {
    const r = await prom.query(q);
    if (r.length !== 1) throw new Error(`${q}: ${r.length} samples`);
    return Number(r[0]!.value[1]);
  };
  const web = `namespace="shop",workload="web",pod="${WEB.pod}",container="nginx"`;
  t.equal(await one(`seccomp_auditor_container_syscall_records_total{${web},syscall="read",action="log"}`), 2);
  t.equal(await one(`seccomp_auditor_violations_total{${web},syscall="execve",action="errno"}`), 1);
  t.equal(await one(`seccomp_auditor_violations_total{namespace="shop",workload="db",pod="${DB.pod}",syscall="socket",action="kill_process"}`), 1);
  t.equal(await one(`seccomp_auditor_container_syscalls{${web}}`), 3, 'read, write, execve');
  t.equal(await one(`sum(seccomp_auditor_records_read_total{source="${daemon.source}"})`), 8);
  t.equal(await one(`seccomp_auditor_records_lost_total{reason="audit_lost"}`), 5);
  t.equal(await one(`seccomp_auditor_unattributed_process_records_total{reason="exited",comm="app",exe="/usr/bin/app"}`), 2);
  t.equal(await one('seccomp_auditor_database_up'), 1);
  t.equal(await one('seccomp_auditor_profiles_installed{source="builtin"}'), 1, 'the log-all profile');
  const lastNew = await one(`seccomp_auditor_container_last_new_syscall_timestamp_seconds{${web}}`);
  t.ok(Math.abs(lastNew - Date.now() / 1000) < 120, `the last new syscall was seen just now (${lastNew})`);
  // the kernel's audit_lost=5 came with no earlier count, so its records may be of any time before
  // it: every window up to it is incomplete, as the profile route would say (409)
  t.equal(await one(`seccomp_auditor_container_learning_complete{${web}}`), 0, 'learned over the loss the kernel reported');
  t.equal(await one(`seccomp_auditor_container_learning_young{${web}}`), 1, '4 records in one go: young');
  const answer = await fetch(`http://${daemon.target}/api/v1/namespaces/shop/pods/${WEB.pod}/profile`);
  t.equal(answer.status, 409, 'the profile route refuses it as incomplete');
  t.ok(await one('seccomp_auditor_database_commit_seconds_count') >= 1, 'commits were timed');
  t.equal(await one('seccomp_auditor_container_syscall_records_over_cap'), 0, 'under the cap');
});

t.test('promtool check metrics accepts /metrics (names, units, help, types)', async (t) => {
  const daemon = new FedDaemon();
  await daemon.start();
  t.teardown(() => daemon.stop());
  // once the fed records are committed, every family has series to check
  let text = '';
  for (let i = 0; i < 100 && !/seccomp_auditor_violations_total\{/.test(text); i++) {
    await new Promise((r) => setTimeout(r, 100));
    text = await (await fetch(`http://${daemon.target}/metrics`)).text();
  }
  t.match(text, /seccomp_auditor_container_syscall_records_total\{/, 'with the per-container families in it');
  const r = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8' });
  t.equal(r.error, undefined, 'promtool runs');
  t.equal(r.status, 0, `promtool check metrics: ${r.stdout}${r.stderr}`);
  t.equal(`${r.stdout}${r.stderr}`.trim(), '', 'not one warning');
});

t.test('the series cap as documented: --metrics-max-series N exports N series per family, the rest as records over the cap', async (t) => {
  const daemon = new FedDaemon(['--metrics-max-series', '2']);
  await daemon.start();
  t.teardown(() => daemon.stop());
  const prom = await PrometheusServer.start([{ job: 'capped', target: daemon.target, labels: NODE }]);
  t.teardown(() => prom.stop());
  // 6 attributed records in 5 series: 2 exported, the others' records counted over the cap
  await prom.until('sum(seccomp_auditor_container_syscall_records_total) + sum(seccomp_auditor_container_syscall_records_over_cap)', (r) => r[0]?.value[1] === '6');
  await prom.scrapes('capped', 2);
  const count = async (q: string): Promise<number> => Number((await prom.query(`count(${q})`))[0]?.value[1] ?? 0);
  t.equal(await count('seccomp_auditor_container_syscall_records_total'), 2);
  t.ok(await count('seccomp_auditor_violations_total') <= 2, 'violations under the cap too');
  t.ok(await count('seccomp_auditor_container_syscalls') <= 2, 'and the per-container gauges');
  const over = Number((await prom.query('seccomp_auditor_container_syscall_records_over_cap'))[0]!.value[1]);
  t.ok(over > 0 && over < 6, `records over the cap: ${over}`);
});
