import t from 'tap';
import { join } from 'node:path';
import { buildApp } from '../../src/http/app.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { containerKey, syscall, workload } from '../store/batches.js';

const TOKEN = 'f'.repeat(32);

function setup(token: string | null = TOKEN) {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-api-'), 'api.db') });
  const web = containerKey(1);
  store.commitBatch({
    workloads: [workload(web, { namespace: 'shop', pod: 'web-1', container: 'nginx' })],
    syscalls: [syscall(web, 0, { count: 4 }), syscall(web, 59, { count: 2, action: 'errno' }), syscall(web, 101, { count: 1, action: 'kill_process' })],
    executables: [],
    unattributed: [{ comm: 'ls', exe: '/bin/ls', reason: 'exited', count: 3, firstSeen: 1000, lastSeen: 2000 }],
    lost: [{ source: 'kmsg', reason: 'overwritten', count: 7 }],
    positions: [{ source: 'kmsg', position: 'boot:42' }],
  });
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [{ name: 'kmsg', ok: true, error: null }] }) }, store: () => store, token });
  return { app, store };
}

t.test('violations: what the filter acted on, per pod, container and syscall', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const r = await app.inject('/api/v1/violations');
  t.equal(r.statusCode, 200);
  t.match(r.json(), { items: [
    { namespace: 'shop', pod: 'web-1', container: 'nginx', syscall: 'execve', action: 'errno', count: 2 },
    { namespace: 'shop', pod: 'web-1', container: 'nginx', syscall: 'ptrace', action: 'kill_process', count: 1 },
  ] });
  t.equal((r.json() as { items: unknown[] }).items.length, 2, 'log records are not violations');
});

t.test('unattributed and status', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  t.same((await app.inject('/api/v1/unattributed')).json(), { items: [{ comm: 'ls', exe: '/bin/ls', reason: 'exited', count: 3, firstSeen: '1970-01-01T00:00:01.000Z', lastSeen: '1970-01-01T00:00:02.000Z' }] });
  const status = (await app.inject('/api/v1/status')).json() as Record<string, unknown>;
  t.match(status, { ready: true, sources: [{ name: 'kmsg', ok: true }], positions: [{ source: 'kmsg', position: 'boot:42' }], lost: [{ source: 'kmsg', reason: 'overwritten', count: 7 }] });
  t.ok((status['databaseBytes'] as number) > 0);
});

t.test('DELETE needs the token; without a configured token mutations are off', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const url = '/api/v1/namespaces/shop/pods/web-1';
  t.match((await app.inject({ method: 'DELETE', url })).json(), { code: 'SA_UNAUTHORIZED' });
  const wrong = await app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${'e'.repeat(32)}` } });
  t.equal(wrong.statusCode, 401);
  t.equal(store.workloadsOfPod('shop', 'web-1').length, 1, 'nothing forgotten without the token');
  const ok = await app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(ok.statusCode, 200);
  t.same(ok.json(), { namespace: 'shop', pod: 'web-1', forgotten: 1 });
  t.equal(store.workloadsOfPod('shop', 'web-1').length, 0, 'forgotten');
  t.equal((await app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 404, 'twice: nothing left');
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/namespaces/Bad_NS/pods/x', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 400);

  const off = setup(null);
  t.teardown(async () => { await off.app.close(); off.store.close(); });
  const r = await off.app.inject({ method: 'DELETE', url, headers: { authorization: `Bearer ${TOKEN}` } });
  t.equal(r.statusCode, 403);
  t.match(r.json(), { code: 'SA_MUTATIONS_OFF', message: /--token-file/ });
});

t.test('the OpenAPI document comes from the route schemas', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const doc = (await app.inject('/openapi.json')).json() as { openapi: string; paths: Record<string, Record<string, { parameters?: { name: string; schema: { pattern?: string } }[] }>> };
  t.match(doc.openapi, /^3\./);
  for (const path of ['/api/v1/pods', '/api/v1/namespaces/{namespace}/pods/{pod}/syscalls', '/api/v1/violations', '/api/v1/unattributed', '/api/v1/status', '/api/v1/namespaces/{namespace}/pods/{pod}']) {
    t.ok(doc.paths[path], `documents ${path}`);
  }
  const params = doc.paths['/api/v1/namespaces/{namespace}/pods/{pod}/syscalls']!['get']!.parameters!;
  t.match(params.find((p) => p.name === 'pod')?.schema, { pattern: /\^\[a-z0-9\]/ }, 'with the same validation the route applies');
  t.notOk(doc.paths['/openapi.json'], 'the document itself is not an API route');
});

t.test('with protectReads the read routes need the token; probes and metrics stay open', async (t) => {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-api-'), 'p.db') });
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store, token: TOKEN, protectReads: true });
  t.teardown(async () => { await app.close(); store.close(); });
  t.equal((await app.inject('/api/v1/pods')).statusCode, 401);
  t.equal((await app.inject({ url: '/api/v1/pods', headers: { authorization: `Bearer ${TOKEN}` } })).statusCode, 200);
  t.equal((await app.inject('/healthz')).statusCode, 200);
  t.equal((await app.inject('/readyz')).statusCode, 200);
  t.throws(() => buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, protectReads: true }), /needs a token/);
});
