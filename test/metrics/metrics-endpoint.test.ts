/**
 * /metrics of a real daemon: the file source reads kernel-format lines from a real file, the
 * pipeline attributes them against a prepared proc root and kubelet log root, batches go to a
 * real SQLite file, and the exposition text is fetched over a real socket and read back.
 */
import t, { type Test } from 'tap';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Daemon } from '../../src/daemon.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { makeNode, MALFORMED_LINE, recordLine, type FakeContainer } from '../ingest/fake-node.js';
import { parseExposition, select, sum, value, type Exposition } from './exposition.js';

const WEB: FakeContainer = { namespace: 'shop', pod: 'web-1', podUid: '00000000-0000-0000-0000-00000000000a', container: 'nginx', id: 'a'.repeat(64), pid: 4101 };
const DB: FakeContainer = { namespace: 'shop', pod: 'db-0', podUid: '00000000-0000-0000-0000-00000000000b', container: 'postgres', id: 'b'.repeat(64), pid: 4102 };
const JOB: FakeContainer = { namespace: 'batch', pod: 'report-x2k4p', podUid: '00000000-0000-0000-0000-00000000000c', container: 'worker', id: 'c'.repeat(64), pid: 4103 };
/** its records come only in the second part of the cap test */
const LATE: FakeContainer = { namespace: 'shop', pod: 'late-1', podUid: '00000000-0000-0000-0000-00000000000d', container: 'app', id: 'd'.repeat(64), pid: 4104 };
/** WEB's container restarted: a new container id under the same names */
const WEB_AGAIN: FakeContainer = { ...WEB, id: 'f'.repeat(64), pid: 4105 };
const GONE = 9999;

/** 13 records: 11 of three pods' containers in 7 series (3 of them violations), 2 unattributed. */
function lines(): string {
  return [
    recordLine(WEB.pid, 0), recordLine(WEB.pid, 0), recordLine(WEB.pid, 0), recordLine(WEB.pid, 1), recordLine(WEB.pid, 1), recordLine(WEB.pid, 59, 'errno'),
    recordLine(DB.pid, 0), recordLine(DB.pid, 0), recordLine(DB.pid, 41, 'kill_process'), recordLine(DB.pid, 101, 'trap'),
    recordLine(JOB.pid, 2),
    recordLine(GONE, 0), recordLine(GONE, 0),
    MALFORMED_LINE,
    'audit: audit_lost=5 audit_rate_limit=0 audit_backlog_limit=64\n',
    'audit: audit_lost=8 audit_rate_limit=0 audit_backlog_limit=64\n',
    'kauditd_printk_skb: 7 callbacks suppressed\n',
  ].join('');
}

async function startDaemon(t: Test, maxSeries?: number) {
  const dir = makeTempDir('sa-metrics-e2e-');
  const { procRoot, logDir } = makeNode(dir, [WEB, DB, JOB, LATE, WEB_AGAIN]);
  const log = join(dir, 'audit.log');
  const daemon = new Daemon({
    sources: [`file:${log}`], host: '127.0.0.1', port: 0, procRoot, logDir, nodeName: 'node-a', logLevel: 'silent',
    dbPath: join(dir, 'auditor.db'), retentionMs: 86_400_000, ...(maxSeries !== undefined ? { metricsMaxSeries: maxSeries } : {}),
  });
  await daemon.start();
  t.teardown(() => daemon.stop());
  // a file that appears after the start is read from its beginning (one that was there, from its end)
  writeFileSync(log, lines());
  const address = daemon.app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('the daemon does not listen');
  const source = `file:${log}`;
  const scrape = async (): Promise<Exposition> => {
    const r = await fetch(`http://127.0.0.1:${address.port}/metrics`);
    if (r.status !== 200 || !/^text\/plain; version=0\.0\.4/.test(r.headers.get('content-type') ?? '')) {
      throw new Error(`/metrics answered ${r.status} ${r.headers.get('content-type')}`);
    }
    return parseExposition(await r.text());
  };
  /** scrapes until `ready` holds (the file read and the batch committed) */
  const scrapeUntil = async (ready: (e: Exposition) => boolean): Promise<Exposition> => {
    for (let i = 0; i < 100; i++) {
      const e = await scrape();
      if (ready(e)) return e;
      await delay(100);
    }
    throw new Error('the daemon did not get there within 10 s');
  };
  return { daemon, log, source, scrape, scrapeUntil, url: `http://127.0.0.1:${address.port}` };
}

const SERIES = 'seccomp_auditor_container_syscall_records_total';
const VIOLATIONS = 'seccomp_auditor_violations_total';
const DROPPED = 'seccomp_auditor_container_syscall_records_over_cap';

t.test('per source, per action, per method, per container and syscall: the counts add up', async (t) => {
  const d = await startDaemon(t);
  const e = await d.scrapeUntil((e) => sum(select(e, SERIES)) === 11 && value(e, 'seccomp_auditor_records_read_total', { source: d.source }) === 13);
  const src = { source: d.source };
  t.equal(value(e, 'seccomp_auditor_source_up', src), 1);
  t.equal(value(e, 'seccomp_auditor_malformed_lines_total', src), 1);

  // per action: the filter's decision for every record read, attributed or not
  t.same(Object.fromEntries(select(e, 'seccomp_auditor_filter_actions_total', src).map((s) => [s.labels['action'], s.value])),
    { log: 10, errno: 1, kill_process: 1, trap: 1 });
  t.equal(sum(select(e, 'seccomp_auditor_filter_actions_total', src)), value(e, 'seccomp_auditor_records_read_total', src), 'actions add up to the records read');

  // per method: every record read is attributed one way or counted as unattributed
  const unattributed = sum(select(e, 'seccomp_auditor_unattributed_records_total'));
  t.equal(unattributed, 2);
  t.equal(value(e, 'seccomp_auditor_unattributed_records_total', { reason: 'exited' }), 2, 'a pid with no process');
  const methods = select(e, 'seccomp_auditor_attributed_records_total', src);
  t.equal(sum(methods), 13 - unattributed, 'the methods add up to the records attributed');
  t.equal(value(e, 'seccomp_auditor_attributed_records_total', { ...src, method: 'proc' }), 3, 'one /proc read per process');
  t.equal(value(e, 'seccomp_auditor_attributed_records_total', { ...src, method: 'cache' }), 8);
  t.same(methods.map((m) => m.labels['method']).sort(), ['cache', 'label', 'lineage', 'proc'], 'every method has its series, zero or not');
  t.equal(sum(select(e, SERIES)), sum(methods), 'what the database holds per container is what was attributed');

  // per container, syscall and action, by name
  const series = select(e, SERIES);
  t.equal(series.length, 7);
  t.equal(value(e, SERIES, { namespace: 'shop', pod: 'web-1', container: 'nginx', syscall: 'read', action: 'log' }), 3);
  t.equal(value(e, SERIES, { namespace: 'shop', pod: 'web-1', container: 'nginx', syscall: 'execve', action: 'errno' }), 1);
  t.equal(value(e, SERIES, { namespace: 'batch', pod: 'report-x2k4p', container: 'worker', syscall: 'open', action: 'log' }), 1);
  t.equal(value(e, DROPPED), 0);

  // violations: only what the filter acted on
  const violations = select(e, VIOLATIONS);
  t.same(violations.map((v) => `${v.labels['pod']}/${v.labels['syscall']}/${v.labels['action']}=${v.value}`).sort(),
    ['db-0/ptrace/trap=1', 'db-0/socket/kill_process=1', 'web-1/execve/errno=1']);
  t.ok(violations.every((v) => v.labels['action'] !== 'log'), 'no log action among the violations');
  t.equal(sum(violations), sum(series.filter((s) => s.labels['action'] !== 'log')), 'violations are the non-log part of the records');

  t.equal(value(e, 'seccomp_auditor_container_syscalls', { namespace: 'shop', pod: 'web-1', container: 'nginx' }), 3, 'distinct syscalls');
  t.equal(value(e, 'seccomp_auditor_records_lost_total', { ...src, reason: 'audit_lost' }), 8, 'the kernel\'s audit_lost total, counted once');
  t.equal(value(e, 'seccomp_auditor_records_lost_total', { ...src, reason: 'printk_suppressed' }), 7);

  const lag = value(e, 'seccomp_auditor_source_lag_seconds', src);
  t.ok(lag !== undefined && Number.isFinite(lag) && lag >= 0 && lag < 60, `lag is a finite non-negative number of seconds: ${lag}`);
  t.equal(e.types.get('seccomp_auditor_source_lag_seconds'), 'gauge');
  // the records the cap kept out can fall (a container leaves the window): a gauge, not a counter
  t.equal(e.types.get(DROPPED), 'gauge');
  for (const name of ['seccomp_auditor_filter_actions_total', 'seccomp_auditor_malformed_lines_total', 'seccomp_auditor_attributed_records_total', SERIES, VIOLATIONS]) {
    t.equal(e.types.get(name), 'counter', `${name} is a counter`);
    t.ok((e.help.get(name) ?? '').length > 20, `${name} says what it counts`);
  }

  // the same counts per source on /api/v1/status, for people rather than Prometheus
  const status = await (await fetch(`${d.url}/api/v1/status`)).json() as { sources: Record<string, unknown>[] };
  const file = status.sources.find((x) => x['name'] === d.source);
  t.match(file, {
    ok: true, records: 13, malformedLines: 1, actions: { log: 10, errno: 1, kill_process: 1, trap: 1 },
    attribution: { proc: 3, cache: 8 },
  }, '/api/v1/status: records, malformed lines, actions and attribution by method per source');
  t.ok(typeof file?.['lagSeconds'] === 'number' && (file['lagSeconds'] as number) >= 0, 'and the lag');
  t.match(status.sources.find((x) => x['name'] === 'store'), { ok: true }, 'the store is listed, without counters');
});

t.test('the series cap: a low --metrics-max-series exports that many series and counts the rest', async (t) => {
  const d = await startDaemon(t, 3);
  const first = await d.scrapeUntil((e) => value(e, DROPPED) !== undefined && (value(e, DROPPED)! + sum(select(e, SERIES))) === 11);
  const exported = select(first, SERIES);
  t.equal(exported.length, 3, 'exported series == the cap');
  t.equal(value(first, DROPPED), 11 - sum(exported), 'with the exported series, every record of every pod');
  t.ok(value(first, DROPPED)! > 0);
  // which containers keep their series (the newest) is tested with distinct last-seen times in
  // container-syscall-series.test.ts: here every record is written within a few ms
  t.same(select(first, VIOLATIONS).map((v) => `${v.labels['pod']}/${v.labels['syscall']}/${v.labels['action']}`).sort(),
    ['db-0/ptrace/trap', 'db-0/socket/kill_process', 'web-1/execve/errno'], 'the three violations fit under the cap of 3');

  // a new pod comes, the old ones go on and web-1's container restarts (its old instance's last
  // record first): still the cap, and every record of each container's newest instance is either
  // exported or dropped (16 records in all, 7 of them the old web-1 instance's)
  appendFileSync(d.log, [recordLine(LATE.pid, 0), recordLine(LATE.pid, 3), recordLine(LATE.pid, 3), recordLine(WEB.pid, 0), recordLine(WEB_AGAIN.pid, 0)].join(''));
  const second = await d.scrapeUntil((e) => value(e, DROPPED)! + sum(select(e, SERIES)) === 9);
  t.equal(select(second, SERIES).length, 3, 'still the cap');
  const web = value(second, SERIES, { pod: 'web-1', syscall: 'read', action: 'log' });
  t.ok(web === undefined || web === 1, 'web-1\'s read, when exported, is its restarted container\'s alone: the counter starts again');
});

t.test('--metrics-max-series 0 exports no per-container syscall series at all', async (t) => {
  const d = await startDaemon(t, 0);
  const e = await d.scrapeUntil((e) => value(e, DROPPED) === 11);
  t.equal(select(e, SERIES).length, 0);
  t.equal(select(e, VIOLATIONS).length, 0);
});
