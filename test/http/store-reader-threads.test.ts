/**
 * Issue 14 item 2: the API's reads run on a read thread with its own read-only connection, so
 * health, readiness and commits never wait behind them. Real worker threads (under tsx), a real
 * SQLite file, real HTTP over loopback. A read held at a gate (gated-reads.ts) keeps the thread
 * busy for exactly as long as a test wants: the assertions are about order, not wall-clock time.
 */
import t, { type Test } from 'tap';
import { renameSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Registry } from 'prom-client';
import { Daemon } from '../../src/daemon.js';
import { buildApp } from '../../src/http/app.js';
import { ThreadStoreReader } from '../../src/http/thread-store-reader.js';
import { StoreError } from '../../src/store/store-error.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { batch, containerKey, syscall, workload } from '../store/batches.js';
import { corruptMiddle, fillDatabase } from '../store/damaged-database.js';
import { newGate, openGate, type READ_QUERIES as GATED_READS } from './gated-reads.js';

const GATED = new URL('./gated-reads.ts', import.meta.url);

/** Pod web-N, seen now (a daemon prunes what was not seen within its retention). */
function podBatch(n: number) {
  const key = containerKey(n);
  const now = Date.now();
  return batch({
    workloads: [workload(key, { namespace: 'shop', pod: `web-${n}`, podUid: `u-${n}`, container: 'nginx', firstSeen: now, lastSeen: now })],
    syscalls: [syscall(key, 0, { firstSeen: now, lastSeen: now }), syscall(key, 1, { firstSeen: now, lastSeen: now })],
  });
}

interface Served {
  url: string;
  store: SyscallStore;
  reader: ThreadStoreReader<typeof GATED_READS>;
  registry: Registry;
  storeErrors: StoreError[];
}

/** A database with `pods` pods, served by the app over HTTP with its reads on one read thread. */
async function serve(t: Test, options: { pods?: number; maxQueued?: number; path?: string; maxOldGenerationMb?: number; onThreadFailed?: (error: string) => void } = {}): Promise<Served> {
  const path = options.path ?? join(makeTempDir('sa-read-thread-'), 'api.db');
  const store = SyscallStore.open({ path });
  for (let n = 1; n <= (options.pods ?? 2); n++) store.commitBatch(podBatch(n));
  const registry = new Registry();
  const reader = new ThreadStoreReader<typeof GATED_READS>({
    store: () => store, registry, queries: GATED, ...(options.maxQueued !== undefined ? { maxQueued: options.maxQueued } : {}),
    ...(options.maxOldGenerationMb !== undefined ? { maxOldGenerationMb: options.maxOldGenerationMb } : {}),
    ...(options.onThreadFailed !== undefined ? { onThreadFailed: options.onThreadFailed } : {}),
  });
  const storeErrors: StoreError[] = [];
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store, reader, onStoreError: (e) => storeErrors.push(e) });
  await app.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(async () => {
    await reader.close();
    await app.close();
    store.close();
  });
  const address = app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('not listening');
  return { url: `http://127.0.0.1:${address.port}`, store, reader, registry, storeErrors };
}

async function metric(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const m = registry.getSingleMetric(name);
  if (m === undefined) throw new Error(`no metric ${name}`);
  const { values } = await m.get();
  return values.find((x) => Object.entries(labels).every(([k, l]) => x.labels[k] === l))?.value ?? 0;
}

/** How many times read `query` ran on a thread (the read_seconds histogram's count). */
async function runs(registry: Registry, query: string): Promise<number> {
  const { values } = await registry.getSingleMetric('seccomp_auditor_read_seconds')!.get();
  const counts = values as { metricName?: string; labels: Record<string, string | number>; value: number }[];
  return counts.find((v) => v.metricName === 'seccomp_auditor_read_seconds_count' && v.labels.query === query)?.value ?? 0;
}

async function until<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await probe();
    if (v !== undefined) return v;
    await delay(10);
  }
  throw new Error(`${what}: not within ${timeoutMs} ms`);
}

/** Holds the read thread at the gate until the returned function opens it; resolves once it is held. */
async function holdThread(reader: Served['reader']): Promise<{ gate: Int32Array; done: Promise<{ before: number; after: number }> }> {
  const gate = newGate();
  const done = reader.run('gated', { gate });
  await until('the read thread holds at the gate', () => (Atomics.load(gate, 0) === 1 ? true : undefined));
  return { gate, done };
}

const queued = (s: Served): Promise<number> => metric(s.registry, 'seccomp_auditor_read_queue_length');

t.test('health, readiness and a commit go on while the read thread is busy; the read waiting behind it runs once the thread is free', async (t) => {
  const s = await serve(t);
  const { gate, done } = await holdThread(s.reader);
  let podsAnswered = false;
  const pods = fetch(`${s.url}/api/v1/pods`).then(async (r) => { podsAnswered = true; return { status: r.status, body: await r.json() as { items: unknown[] } }; });
  await until('the pods read waits for the thread', async () => ((await queued(s)) === 1 ? true : undefined));

  const health = await fetch(`${s.url}/healthz`);
  t.equal(health.status, 200, '/healthz answers');
  t.equal((await fetch(`${s.url}/readyz`)).status, 200, '/readyz answers');
  // the ingest's commit, on this thread, while the read thread holds a snapshot open (WAL)
  s.store.commitBatch(podBatch(3));
  t.equal(Atomics.load(gate, 1), 0, 'all of that while the read thread was still held');
  t.notOk(podsAnswered, 'the pods read still waits');

  openGate(gate);
  t.same(await done, { before: 2, after: 2 }, 'the held read kept its snapshot: the commit made meanwhile is not in it');
  const answer = await pods;
  t.equal(answer.status, 200);
  t.equal(answer.body.items.length, 3, 'the read that waited sees the commit');
  t.equal(await runs(s.registry, 'podsPage'), 1);
});

t.test('a read whose client goes away while it waits is never run; one that is running finishes and its answer is dropped', async (t) => {
  const s = await serve(t);
  const { gate, done } = await holdThread(s.reader);
  // a raw request, so the test can close its socket the way a client that gives up does
  const req = request(`${s.url}/api/v1/pods`);
  req.on('error', () => {});
  req.end();
  await until('the pods read waits for the thread', async () => ((await queued(s)) === 1 ? true : undefined));
  req.destroy();
  await until('the abandoned read leaves the queue', async () => ((await queued(s)) === 0 ? true : undefined));
  t.equal(await metric(s.registry, 'seccomp_auditor_read_requests_abandoned_total', { stage: 'queued' }), 1, 'counted as abandoned while queued');

  openGate(gate);
  await done;
  // the thread is free: had the abandoned read been kept, it would run now, before this one
  t.equal((await fetch(`${s.url}/api/v1/pods`)).status, 200);
  t.equal(await runs(s.registry, 'podsPage'), 1, 'the pods read ran once: for the second client, never for the one that went away');

  // a read the client abandons while it runs: it finishes (its work is bounded), the answer is dropped
  const held = newGate();
  const gone = new AbortController();
  const running = s.reader.run('gated', { gate: held }, gone.signal);
  await until('held', () => (Atomics.load(held, 0) === 1 ? true : undefined));
  gone.abort();
  openGate(held);
  t.same(await running, { before: 2, after: 2 }, 'the running read finished');
  t.equal(await metric(s.registry, 'seccomp_auditor_read_requests_abandoned_total', { stage: 'running' }), 1, 'counted as abandoned while running');
  t.equal(await runs(s.registry, 'gated'), 2);
});

t.test('past the queue\'s bound a read is refused at once: 503 SA_BUSY with Retry-After', async (t) => {
  const s = await serve(t, { maxQueued: 2 });
  const { gate, done } = await holdThread(s.reader);
  const waiting = [fetch(`${s.url}/api/v1/pods`), fetch(`${s.url}/api/v1/violations`)];
  await until('two reads wait', async () => ((await queued(s)) === 2 ? true : undefined));
  const refused = await fetch(`${s.url}/api/v1/units`);
  t.equal(refused.status, 503);
  t.equal(refused.headers.get('retry-after'), '1');
  const body = await refused.json() as { code: string; message: string };
  t.equal(body.code, 'SA_BUSY');
  t.match(body.message, /^the daemon is busy serving reads \(2 wait for its read thread\): retry after a second/);
  t.equal(await metric(s.registry, 'seccomp_auditor_read_queue_rejected_total'), 1);
  t.equal((await fetch(`${s.url}/healthz`)).status, 200, 'health is not queued');

  openGate(gate);
  await done;
  t.same((await Promise.all(waiting)).map((r) => r.status), [200, 200], 'the reads within the bound are answered');
});

t.test('/api/v1/status answers while the read thread is held and its queue is full: its store part is read on the main thread', async (t) => {
  const s = await serve(t, { maxQueued: 1 });
  s.store.commitBatch(batch({ positions: [{ source: 'kmsg', position: 'boot:41' }] }));
  const { gate, done } = await holdThread(s.reader);
  const waiting = fetch(`${s.url}/api/v1/pods`);
  await until('a read waits', async () => ((await queued(s)) === 1 ? true : undefined));
  t.equal((await fetch(`${s.url}/api/v1/units`)).status, 503, 'the queue is full: a page is refused');
  const status = await fetch(`${s.url}/api/v1/status`);
  t.equal(status.status, 200, 'the status is not');
  const body = await status.json() as { positions: { source: string; position: string }[]; databaseBytes: number };
  t.same(body.positions.map((p) => [p.source, p.position]), [['kmsg', 'boot:41']], 'with what the database holds');
  t.ok(body.databaseBytes > 0);
  t.equal(Atomics.load(gate, 1), 0, 'while the read thread was still held');
  openGate(gate);
  await done;
  t.equal((await waiting).status, 200);
  t.equal(await runs(s.registry, 'statusOfStore'), 0, 'no status read went to a read thread');
});

t.test('errors thrown on the read thread reach the client as on the main thread: ApiError codes, StoreError as 503 told to the daemon', async (t) => {
  const s = await serve(t);
  const missing = await fetch(`${s.url}/api/v1/namespaces/shop/pods/nope/syscalls`);
  t.equal(missing.status, 404);
  t.same(await missing.json(), { code: 'SA_POD_NOT_FOUND', message: 'no observations for pod shop/nope' });
  const badToken = await fetch(`${s.url}/api/v1/pods?continue=bm90LWEtdG9rZW4`);
  t.equal(badToken.status, 400);
  t.match(await badToken.json(), { code: 'SA_BAD_REQUEST', message: /^continue: not a token of pods from this server/ });
  const workload = await fetch(`${s.url}/api/v1/namespaces/shop/workloads/web/profile?allowIncomplete=true`);
  t.equal(workload.status, 200, 'a profile built on the read thread');
  t.equal(workload.headers.get('x-learned-records'), '4', 'with its X-Learned-* headers');

  // a damaged file: the read thread's connection reaches the bad pages
  const damagedPath = join(makeTempDir('sa-read-thread-damaged-'), 'auditor.db');
  fillDatabase(damagedPath, 2000);
  const d = await serve(t, { path: damagedPath, pods: 0 });
  corruptMiddle(damagedPath);
  const read = await fetch(`${d.url}/api/v1/pods?limit=5000`);
  t.equal(read.status, 503);
  const failed = await read.json() as { code: string; message: string };
  t.equal(failed.code, 'SA_STORE_UNAVAILABLE');
  t.match(failed.message, `${damagedPath} is not a seccomp-auditor database or is corrupt`, 'the store\'s own message, naming the file and the fix');
  t.equal(d.storeErrors.length, 1, 'the daemon is told');
  t.ok(d.storeErrors[0] instanceof StoreError, 'as a StoreError');
  t.equal(d.storeErrors[0]?.code, 'SA_DB_CORRUPT');
});

t.test('the read thread follows the daemon when its database file is replaced: it reads the new file, never the old one again', async (t) => {
  const dir = makeTempDir('sa-read-thread-replaced-');
  const dbPath = join(dir, 'auditor.db');
  const write = (path: string, pod: number): void => {
    const store = SyscallStore.open({ path });
    store.commitBatch(podBatch(pod));
    store.close();
  };
  write(dbPath, 1);
  const daemon = new Daemon({ sources: ['none'], host: '127.0.0.1', port: 0, procRoot: dir, logDir: dir, nodeName: 'node-a', logLevel: 'silent', dbPath, retentionMs: 86_400_000 });
  await daemon.start();
  t.teardown(() => daemon.stop());
  const address = daemon.app.server.address();
  if (address === null || typeof address !== 'object') throw new Error('not listening');
  const pods = async (): Promise<string[]> => {
    const res = await fetch(`http://127.0.0.1:${address.port}/api/v1/pods`);
    return res.status === 200 ? ((await res.json()) as { items: { pod: string }[] }).items.map((p) => p.pod) : [`HTTP ${res.status}`];
  };
  t.same(await pods(), ['web-1'], 'the read thread reads the database the daemon opened');

  // another seccomp-auditor database moved over the path (a restore from a backup, say)
  write(join(dir, 'restored.db'), 2);
  renameSync(join(dir, 'restored.db'), dbPath);
  const seen: string[][] = [];
  await until('the read thread reads the new file', async () => {
    const now = await pods();
    seen.push(now);
    return now.includes('web-2') ? true : undefined;
  });
  t.same(await pods(), ['web-2'], 'and only it');
  const afterNew = seen.slice(seen.findIndex((p) => p.includes('web-2')));
  t.notOk(afterNew.some((p) => p.includes('web-1')), 'the old file is not read again once the new one was');
});

/** Paths in `value` that `schema` (a route's response schema, from the OpenAPI document) does not declare, or declares with another type. */
function undeclared(value: unknown, schema: Record<string, unknown> | undefined, at: string): string[] {
  if (schema === undefined) return [at];
  // OpenAPI 3.0 writes ['string', 'null'] as type: string, nullable: true
  const types = [...[schema.type ?? []].flat() as string[], ...(schema.nullable === true ? ['null'] : [])];
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : Number.isInteger(value) ? 'integer' : typeof value;
  if (types.length > 0 && !types.includes(type) && !(type === 'integer' && types.includes('number'))) return [`${at}: ${type}, declared ${types.join('|')}`];
  if (Array.isArray(value)) return value.flatMap((v, i) => undeclared(v, schema.items as Record<string, unknown>, `${at}[${i}]`));
  if (type !== 'object') return [];
  const properties = (schema.properties ?? {}) as Record<string, Record<string, unknown>>;
  const extra = typeof schema.additionalProperties === 'object' ? schema.additionalProperties as Record<string, unknown> : undefined;
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => undeclared(v, properties[k] ?? extra, `${at}.${k}`));
}

t.test('what the read thread serializes holds only what each route\'s response schema declares, with the declared types', async (t) => {
  const now = Date.now();
  const path = join(makeTempDir('sa-read-thread-schema-'), 'api.db');
  // one unattributed group fits: the second is counted as overflow
  const store = SyscallStore.open({ path, caps: { maxUnattributedKeys: 1 } });
  const web = containerKey(1), unit = 'unit:nginx.service';
  store.commitBatch(batch({
    workloads: [
      workload(web, { namespace: 'shop', pod: 'web-7d9f8-abcde', podUid: 'u-1', container: 'nginx', ownerKind: 'Deployment', ownerName: 'web', firstSeen: now, lastSeen: now }),
      workload(containerKey(2), { namespace: 'shop', pod: 'db-0', container: 'postgres', firstSeen: now, lastSeen: now }),
      workload(unit, { firstSeen: now, lastSeen: now }),
    ],
    syscalls: [syscall(web, 0, { firstSeen: now, lastSeen: now }), syscall(web, 59, { action: 'errno', firstSeen: now, lastSeen: now }), syscall(unit, 1, { firstSeen: now, lastSeen: now })],
    executables: [{ workload: web, exe: '/usr/sbin/nginx', count: 2, firstSeen: now, lastSeen: now }],
    unattributed: [
      { comm: 'sh', exe: '/bin/sh', reason: 'process_gone', count: 3, firstSeen: now, lastSeen: now },
      { comm: 'ls', exe: null, reason: 'process_gone', count: 1, firstSeen: now, lastSeen: now },
    ],
  }));
  store.close();
  const s = await serve(t, { path, pods: 0 });
  const openapi = await (await fetch(`${s.url}/openapi.json`)).json() as { paths: Record<string, { get: { responses: Record<string, { content: Record<string, { schema: Record<string, unknown> }> }> } }> };
  const routes: [string, string][] = [
    ['/api/v1/pods', '/api/v1/pods?limit=1'],
    ['/api/v1/namespaces/{namespace}/pods/{pod}/syscalls', '/api/v1/namespaces/shop/pods/web-7d9f8-abcde/syscalls'],
    ['/api/v1/violations', '/api/v1/violations'],
    ['/api/v1/unattributed', '/api/v1/unattributed'],
    ['/api/v1/units', '/api/v1/units'],
  ];
  for (const [route, url] of routes) {
    const res = await fetch(`${s.url}${url}`);
    t.equal(res.status, 200, url);
    t.equal(res.headers.get('content-type'), 'application/json; charset=utf-8', `${url}: the type a serialized answer had`);
    const answer = await res.json() as Record<string, unknown>;
    t.ok(JSON.stringify(answer).length > 20, `${url}: not empty`);
    t.same(undeclared(answer, openapi.paths[route]!.get.responses['200']!.content['application/json']!.schema, url), [], `${url}: everything in it is declared`);
  }
  const pods = await (await fetch(`${s.url}/api/v1/pods?limit=1`)).json() as { continue?: string; items: { owner: unknown }[] };
  t.type(pods.continue, 'string', 'a page with a next one has its token');
  t.same(pods.items[0]?.owner, null, 'db-0 first: no owner');
  t.same((await (await fetch(`${s.url}/api/v1/unattributed`)).json() as { overflow?: unknown }).overflow, { process_gone: 1 }, 'the overflow is there');
});

t.test('a read that outgrows the read thread\'s heap bound ends that thread, not the daemon: it fails, the next read runs on a new thread', async (t) => {
  const failures: string[] = [];
  const s = await serve(t, { maxOldGenerationMb: 32, onThreadFailed: (e) => failures.push(e) });
  await t.rejects(s.reader.run('hog', undefined), /read thread ended/);
  t.equal(failures.length, 1, 'the daemon is told (it logs read_thread_failed)');
  t.match(failures[0], /out of memory|ERR_WORKER_OUT_OF_MEMORY/i, failures[0]);
  t.equal((await fetch(`${s.url}/healthz`)).status, 200, 'the main thread lives on');
  const pods = await fetch(`${s.url}/api/v1/pods`);
  t.equal(pods.status, 200, 'the next read is answered by a new thread');
  t.equal(((await pods.json()) as { items: unknown[] }).items.length, 2);
});
