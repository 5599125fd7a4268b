import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { prepareNodeLog } from './node-ingest-bench.js';

/**
 * The read side on a 30-day node (issue 14): the built daemon serving the database that
 * ingesting the generated 30-day log (bench/node-history.ts, ~10 000 containers) produces, over
 * real HTTP on loopback. Per route p50/p99, full pagination of all pods (time and exactness),
 * /metrics time and size, /healthz while 8 clients hammer the heavy routes, the daemon's peak RSS.
 *
 * The database is kept in bench/out/<log>/api.db beside the log it came from (ingesting takes a
 * minute); the daemon runs on a copy, so nothing it does (prune, migrations) changes the kept one.
 */
const HERE = dirname(fileURLToPath(import.meta.url));
const CLI = join(HERE, '..', 'dist', 'cli.js');
const CHURN_RECORDS = 6_000_000;

export const TARGETS = { pageP99Ms: 50, fullPaginationMs: 2000, metricsMs: 250, healthzP99Ms: 100, rssMiB: 256 } as const;

/**
 * A copy of the 30-day database in a temporary directory (a bench must not change the kept one),
 * and the per-container series window that covers the log's own last hour: the log ended days
 * ago, so a wall-clock hour would export no per-container series at all.
 */
export function copyOfApiDb(prefix: string): { dir: string; db: string; window: string } {
  const { db: kept } = prepareApiDb();
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const db = join(dir, 'api.db');
  copyFileSync(kept, db);
  const sqlite = new Database(db, { readonly: true });
  const lastSeen = sqlite.prepare('SELECT max(last_seen) FROM workloads').pluck().get() as number;
  sqlite.close();
  return { dir, db, window: `${Math.ceil((Date.now() - lastSeen) / 60_000) + 60}m` };
}

/** The 30-day database: the cached one, or one ingested now from the cached (or generated) log. */
export function prepareApiDb(): { db: string; generated: boolean } {
  const { dir } = prepareNodeLog('churn', CHURN_RECORDS);
  const db = join(dir, 'api.db');
  if (existsSync(db)) return { db, generated: false };
  const tmp = `${db}.tmp`;
  for (const f of [tmp, `${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  execFileSync(process.execPath, [CLI, 'ingest', join(dir, 'audit.log'), '--db', tmp, '--proc-root', join(dir, 'proc'), '--log-dir', join(dir, 'log')], { stdio: ['ignore', 'ignore', 'inherit'] });
  // the ingest closed it: the WAL is checkpointed into the main file, which alone is the database
  renameSync(tmp, db);
  for (const f of [`${tmp}-wal`, `${tmp}-shm`]) rmSync(f, { force: true });
  return { db, generated: true };
}

const quantile = (sorted: number[], q: number): number => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
export interface Timing { n: number; p50: number; p99: number; max: number; bytes: number }
function timing(ms: number[], bytes: number): Timing {
  const s = [...ms].sort((a, b) => a - b);
  return { n: s.length, p50: quantile(s, 0.5), p99: quantile(s, 0.99), max: s[s.length - 1]!, bytes };
}

async function get(url: string): Promise<{ ms: number; body: Buffer }> {
  const start = performance.now();
  const res = await fetch(url);
  const body = Buffer.from(await res.arrayBuffer());
  const ms = performance.now() - start;
  if (!res.ok) throw new Error(`GET ${url}: ${res.status} ${body.toString('utf8', 0, 300)}`);
  return { ms, body };
}

/** `n` sequential requests after 3 not counted (the daemon's first answer compiles its statements). */
async function sequential(url: string, n: number, budgetMs = 30_000): Promise<Timing> {
  for (let i = 0; i < 3; i++) await get(url);
  const ms: number[] = [];
  let bytes = 0;
  const until = performance.now() + budgetMs;
  for (let i = 0; i < n && performance.now() < until; i++) {
    const r = await get(url);
    ms.push(r.ms);
    bytes = r.body.length;
  }
  return timing(ms, bytes);
}

interface PodsPage { items: { namespace: string; pod: string; podUid: string | null; containers: unknown[] }[]; continue?: string }

/** Every page of /api/v1/pods at `limit`: the time, and what came back (checked against the database by the caller). */
async function paginate(base: string, limit: number): Promise<{ ms: number; pages: number; keys: string[] }> {
  const keys: string[] = [];
  let token: string | undefined;
  let pages = 0;
  const start = performance.now();
  do {
    const r = await get(`${base}/api/v1/pods?limit=${limit}${token !== undefined ? `&continue=${token}` : ''}`);
    const page = JSON.parse(r.body.toString('utf8')) as PodsPage;
    for (const p of page.items) keys.push(`${p.namespace}\u0000${p.pod}\u0000${p.podUid ?? ''}`);
    token = page.continue;
    pages++;
  } while (token !== undefined);
  return { ms: performance.now() - start, pages, keys };
}

/** The daemon's peak RSS so far (the kernel's high-water mark), MiB. */
function peakRssMiB(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? NaN : Math.round(Number(m[1]) / 1024);
}

export async function startDaemon(db: string, window: string): Promise<{ child: ChildProcess; base: string }> {
  const child = spawn(process.execPath, [CLI, 'run', '--source', 'none', '--db', db, '--listen', '127.0.0.1:0', '--kubelet-seccomp-dir', 'none',
    // the log's records are weeks old: a 30-day retention would prune them at start
    '--retention', '3650d', '--metrics-series-window', window], { stdio: ['ignore', 'pipe', 'inherit'] });
  const base = await new Promise<string>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`daemon exited ${code} before listening`)));
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const m = /"event":"started".*"listen":"([^"]+)"/.exec(l);
      if (m !== null) resolve(`http://${m[1]}`);
    });
  });
  return { child, base };
}

/** The heavy routes, for the load clients. */
function heavyUrls(base: string, ns: string, workload: string): string[] {
  return [
    `${base}/api/v1/pods`, `${base}/api/v1/pods?limit=5000`, `${base}/api/v1/pods?namespace=${ns}&limit=5000`,
    `${base}/api/v1/violations?limit=5000`, `${base}/api/v1/namespaces/${ns}/workloads/${workload}/profile`, `${base}/metrics`,
  ];
}

/** A load client process: CLIENTS concurrent loops over the URLs until `ms` or `max` requests each. */
async function loadChild(urls: string[], clients: number, ms: number, max: number): Promise<void> {
  const until = performance.now() + ms;
  let done = 0;
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; i < max && performance.now() < until; i++) {
      await get(urls[(c + i) % urls.length]!);
      done++;
    }
  }));
  console.log(JSON.stringify({ done }));
}

export interface ApiBenchResult {
  containers: number; podIncarnations: number; syscallRows: number; dbMiB: number;
  routes: { name: string; t: Timing }[];
  pagination: { limit: number; ms: number; pages: number; items: number; expected: number; exact: boolean }[];
  metrics: Timing & { samples: number; window: string };
  healthz: Timing & { loadRequests: number; loadMs: number };
  rssMiB: number;
  /** the peak before the 8 clients started: sequential pages, pagination and /metrics only */
  rssBeforeLoadMiB: number;
  loadavg: number[];
}

export async function apiBench(): Promise<ApiBenchResult> {
  const { dir, db, window } = copyOfApiDb('sa-api-bench-');
  let daemon: ChildProcess | null = null;
  try {
    // what to ask for, and what the answers must hold, from the database itself
    const sqlite = new Database(db, { readonly: true });
    const one = <T>(sql: string): T => sqlite.prepare(sql).get() as T;
    const count = (sql: string): number => sqlite.prepare(sql).pluck().get() as number;
    const containers = count("SELECT count(*) FROM workloads WHERE kind = 'container'");
    const syscallRows = count('SELECT count(*) FROM syscalls');
    const expectedKeys = (sqlite.prepare(`SELECT DISTINCT namespace, pod, ifnull(pod_uid, '') AS uid FROM workloads
      WHERE namespace IS NOT NULL AND pod IS NOT NULL`).all() as { namespace: string; pod: string; uid: string }[])
      .map((r) => `${r.namespace}\u0000${r.pod}\u0000${r.uid}`);
    const bigNs = one<{ namespace: string }>(`SELECT namespace, count(DISTINCT pod) AS n FROM workloads WHERE namespace IS NOT NULL GROUP BY namespace ORDER BY n DESC LIMIT 1`).namespace;
    // the workload with the most pods (a Deployment rolled over the month)
    const workload = one<{ namespace: string; owner_name: string } | undefined>(`SELECT namespace, owner_name, count(DISTINCT pod) AS n FROM workloads
      WHERE owner_name IS NOT NULL GROUP BY namespace, owner_name ORDER BY n DESC LIMIT 1`);
    const aPod = one<{ namespace: string; pod: string }>(`SELECT w.namespace, w.pod FROM workloads w JOIN workload_summaries s ON s.workload_id = w.id
      WHERE w.pod IS NOT NULL ORDER BY s.syscalls DESC LIMIT 1`);
    sqlite.close();
    // without owners (no Kubernetes API at ingest) the route derives the workload from pod names
    const wl = workload ?? (() => { const m = /^(.*)-[a-z0-9]{5,10}-[a-z0-9]{5}$/.exec(aPod.pod); return { namespace: aPod.namespace, owner_name: m?.[1] ?? aPod.pod }; })();

    const started = await startDaemon(db, window);
    daemon = started.child;
    const base = started.base;

    // a middle page: the continue of the page halfway through a pass at limit=100
    let middle = '';
    {
      let token: string | undefined;
      const half = Math.floor(expectedKeys.length / 100 / 2);
      for (let i = 0; i < half; i++) {
        token = (JSON.parse((await get(`${base}/api/v1/pods?limit=100${token !== undefined ? `&continue=${token}` : ''}`)).body.toString('utf8')) as PodsPage).continue;
      }
      middle = token ?? '';
    }
    const routes: { name: string; t: Timing }[] = [];
    const route = async (name: string, path: string, n = 100): Promise<void> => {
      routes.push({ name, t: await sequential(`${base}${path}`, n) });
      process.stderr.write(`api-bench: ${name} done\n`);
    };
    await route('pods, first page (default limit)', '/api/v1/pods');
    await route('pods, first page, limit=100', '/api/v1/pods?limit=100');
    await route('pods, a middle page, limit=100', `/api/v1/pods?limit=100&continue=${middle}`);
    await route(`pods ?namespace=${bigNs} (default limit)`, `/api/v1/pods?namespace=${bigNs}`);
    await route('violations, first page (default limit)', '/api/v1/violations');
    await route('unattributed, first page (default limit)', '/api/v1/unattributed');
    await route('units', '/api/v1/units');
    await route(`workload profile ${wl.namespace}/${wl.owner_name}`, `/api/v1/namespaces/${wl.namespace}/workloads/${wl.owner_name}/profile`, 50);
    await route(`pod profile ${aPod.namespace}/${aPod.pod}`, `/api/v1/namespaces/${aPod.namespace}/pods/${aPod.pod}/profile`);

    const expected = new Set(expectedKeys);
    const pagination: ApiBenchResult['pagination'] = [];
    for (const limit of [100, 500]) {
      const p = await paginate(base, limit);
      // exact: every incarnation once, nothing else, in key order (the keyset cursor's promise)
      const seen = new Set(p.keys);
      const exact = seen.size === p.keys.length && p.keys.length === expected.size && p.keys.every((k) => expected.has(k));
      pagination.push({ limit, ms: p.ms, pages: p.pages, items: p.keys.length, expected: expected.size, exact });
    }

    const m = await sequential(`${base}/metrics`, 20);
    const metricsText = (await get(`${base}/metrics`)).body.toString('utf8');
    const samples = metricsText.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length;

    const rssBeforeLoadMiB = peakRssMiB(daemon.pid!);
    // /healthz every 20 ms from here while another process runs 8 clients over the heavy routes
    const LOAD_MS = 15_000;
    const load = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), 'load', String(LOAD_MS), ...heavyUrls(base, wl.namespace, wl.owner_name)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let loadOut = '';
    load.stdout!.on('data', (d: Buffer) => { loadOut += d.toString(); });
    const loadDone = new Promise<void>((resolve) => load.once('exit', () => resolve()));
    const loadStart = performance.now();
    await new Promise((r) => setTimeout(r, 1000)); // the client process starts (tsx) and its clients are busy
    const probes: number[] = [];
    let finished = false;
    void loadDone.then(() => { finished = true; });
    while (!finished && probes.length < 2000) {
      probes.push((await get(`${base}/healthz`)).ms);
      await new Promise((r) => setTimeout(r, 20));
    }
    await loadDone;
    const loadMs = performance.now() - loadStart;
    const loadRequests = (JSON.parse(loadOut.trim().split('\n').pop() ?? '{"done":0}') as { done: number }).done;

    const rssMiB = peakRssMiB(daemon.pid!);
    return {
      containers, podIncarnations: expected.size, syscallRows, dbMiB: Math.round(statSync(db).size / 1048576),
      routes, pagination, metrics: { ...m, samples, window }, healthz: { ...timing(probes, 0), loadRequests, loadMs }, rssMiB, rssBeforeLoadMiB, loadavg: loadavg(),
    };
  } finally {
    if (daemon !== null && daemon.exitCode === null) {
      const exited = new Promise((r) => daemon!.once('exit', r));
      daemon.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

const ok = (met: boolean): string => met ? 'met' : 'NOT met';
const f = (ms: number): string => ms.toFixed(ms < 10 ? 1 : 0);

/** The lines `npm run bench` prints: each figure beside its target. */
export function printApiBench(r: ApiBenchResult): void {
  console.log(`read side on a 30-day node: ${r.containers.toLocaleString('en')} containers, ${r.podIncarnations.toLocaleString('en')} pod incarnations, ` +
    `${r.syscallRows.toLocaleString('en')} syscall rows, database ${r.dbMiB} MiB; load average ${r.loadavg.map((l) => l.toFixed(2)).join(' ')}`);
  for (const { name, t } of r.routes) {
    console.log(`  ${name}: p50 ${f(t.p50)} ms, p99 ${f(t.p99)} ms (n ${t.n}, ${(t.bytes / 1024).toFixed(0)} KiB) - target p99 <= ${TARGETS.pageP99Ms} ms: ${ok(t.p99 <= TARGETS.pageP99Ms)}`);
  }
  for (const p of r.pagination) {
    console.log(`  all pods at limit=${p.limit}: ${p.pages} pages in ${f(p.ms)} ms, ${p.items} items of ${p.expected}, ${p.exact ? 'exact' : 'NOT EXACT'} - ` +
      `target <= ${TARGETS.fullPaginationMs} ms and exact: ${ok(p.ms <= TARGETS.fullPaginationMs && p.exact)}`);
  }
  const m = r.metrics;
  console.log(`  /metrics (series window ${m.window} = the log's last hour): p50 ${f(m.p50)} ms, p99 ${f(m.p99)} ms, ${(m.bytes / 1024).toFixed(0)} KiB, ${m.samples.toLocaleString('en')} samples - ` +
    `target <= ${TARGETS.metricsMs} ms: ${ok(m.p99 <= TARGETS.metricsMs)}`);
  const h = r.healthz;
  console.log(`  /healthz while 8 clients hammer the heavy routes (${h.loadRequests} heavy requests in ${f(h.loadMs)} ms): p50 ${f(h.p50)} ms, p99 ${f(h.p99)} ms, max ${f(h.max)} ms (n ${h.n}) - ` +
    `target p99 <= ${TARGETS.healthzP99Ms} ms: ${ok(h.p99 <= TARGETS.healthzP99Ms)}`);
  console.log(`  daemon peak RSS ${r.rssMiB} MiB (${r.rssBeforeLoadMiB} MiB before the 8 clients) - target <= ${TARGETS.rssMiB} MiB: ${ok(r.rssMiB <= TARGETS.rssMiB)}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, ...rest] = process.argv.slice(2);
  if (mode === 'load') await loadChild(rest.slice(1), 8, Number(rest[0]), 10_000);
  else {
    // `npx tsx bench/api-bench.ts [json]`: this case on its own
    const r = await apiBench();
    if (mode === 'json') console.log(JSON.stringify(r));
    printApiBench(r);
  }
}
