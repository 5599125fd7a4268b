/**
 * Pod owners from the Kubernetes API, end to end short of the kernel: a stand-in API server (plain
 * HTTP on loopback, serving the pod fixtures as a list and an open watch) read by the real
 * KubeApiPods, the real pipeline attributing kernel-format lines against a prepared proc root and
 * kubelet log root, batches committed to a real SQLite file, and the REST routes reading it.
 */
import t, { type Test } from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { KubeApiPods } from '../../src/attribute/kube-api-pods.js';
import { buildApp } from '../../src/http/app.js';
import { RecordPipeline } from '../../src/ingest/record-pipeline.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { runCli } from '../helpers/cli.js';
import { FIXTURES } from '../helpers/paths.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { makeNode, recordLine, type FakeContainer } from './fake-node.js';

type PodObject = { metadata: Record<string, any> } & Record<string, any>;
const fixture = (name: string): PodObject => JSON.parse(readFileSync(join(FIXTURES, 'kube-api', `${name}.json`), 'utf8')) as PodObject;

const deployment = fixture('deployment-pod');   // shop/web-7d4b9c8f6d-x2x9z, ReplicaSet web-7d4b9c8f6d → Deployment web
const statefulset = fixture('statefulset-pod'); // shop/db-0, StatefulSet db
// a bare pod whose name looks like a StatefulSet `web`'s pod: its owner (itself) must win over its name
const bare = fixture('bare-pod');
bare.metadata['name'] = 'web-0';
bare.metadata['namespace'] = 'shop';

const NGINX: FakeContainer = { namespace: 'shop', pod: 'web-7d4b9c8f6d-x2x9z', podUid: deployment.metadata['uid'], container: 'nginx', id: '3'.repeat(64), pid: 4201 };
/** the kubelet's log directory does not know it: names and owner from the API alone */
const APP: FakeContainer = { namespace: 'shop', pod: 'web-7d4b9c8f6d-x2x9z', podUid: deployment.metadata['uid'], container: 'app', id: '2'.repeat(64), pid: 4202, kubelet: false };
const POSTGRES: FakeContainer = { namespace: 'shop', pod: 'db-0', podUid: statefulset.metadata['uid'], container: 'postgres', id: '4'.repeat(64), pid: 4203 };
const SHELL: FakeContainer = { namespace: 'shop', pod: 'web-0', podUid: bare.metadata['uid'], container: 'shell', id: '8'.repeat(64), pid: 4204 };
/** a pod the API does not list (gone from it, or no API): its workload comes from its name */
const OLD: FakeContainer = { namespace: 'shop', pod: 'web-5c8d7f9b6-qwxbz', podUid: '00000000-0000-0000-0000-0000000000ee', container: 'nginx', id: 'e'.repeat(64), pid: 4205 };
const CONTAINERS = [NGINX, APP, POSTGRES, SHELL, OLD];

/** The API server's pod list for node-a and a watch that stays open without events. */
async function fakeApiServer(t: Test, pods: PodObject[]): Promise<string> {
  const watches = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== '/api/v1/pods' || url.searchParams.get('fieldSelector') !== 'spec.nodeName=node-a' || req.headers.authorization !== 'Bearer test-token') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    if (url.searchParams.get('watch') === '1') {
      watches.add(res);
      return;
    }
    res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: '1000' }, items: pods }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => {
    for (const w of watches) w.destroy();
    server.close(() => resolve());
  }));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function setup(t: Test) {
  const dir = makeTempDir('sa-owner-');
  const node = makeNode(dir, CONTAINERS);
  const tokenFile = join(dir, 'token');
  writeFileSync(tokenFile, 'test-token\n');
  const api = new KubeApiPods({ nodeName: 'node-a', apiServer: await fakeApiServer(t, [deployment, statefulset, bare]), tokenFile });
  t.teardown(() => api.stop());
  const pipeline = new RecordPipeline({
    source: 'kmsg', kubeApi: api, procRoot: node.procRoot, logDir: node.logDir, nodeName: 'node-a',
    events: { onNewSyscall() {}, onLostSignal() {}, onMalformed() {} },
  });
  pipeline.start({ watch: false });
  t.teardown(() => pipeline.stop());
  const store = SyscallStore.open({ path: join(dir, 'auditor.db') });
  t.teardown(() => store.close());
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store });
  t.teardown(() => app.close());
  const feed = (...lines: string[]): void => {
    pipeline.push(Buffer.from(lines.join('')));
    pipeline.end();
    pipeline.onBatchEnd();
    const batch = pipeline.takeBatch([]);
    if (batch !== null) store.commitBatch(batch);
  };
  return { api, pipeline, store, app, feed, dbPath: join(dir, 'auditor.db') };
}

// the learned names alone, without a runtime's baseline
const names = async (app: ReturnType<typeof buildApp>, url: string): Promise<string[]> => {
  const r = await app.inject(`${url}?baseline=none`);
  if (r.statusCode !== 200) throw new Error(`${url}: ${r.statusCode} ${r.body}`);
  return (r.json() as { syscalls: { names: string[] }[] }).syscalls[0]!.names;
};

t.test('owners from the API go to the store; the workload profile takes pods by owner, else by name', async (t) => {
  const { api, app, store, feed, dbPath } = await setup(t);
  await api.start();
  feed(recordLine(NGINX.pid, 0), recordLine(APP.pid, 1), recordLine(POSTGRES.pid, 2), recordLine(SHELL.pid, 3), recordLine(OLD.pid, 4));

  const owners = Object.fromEntries(store.listWorkloads().map((w) => [`${w.pod}/${w.container}`, w.ownerName === null ? null : `${w.ownerKind}/${w.ownerName}`]));
  t.same(owners, {
    'web-7d4b9c8f6d-x2x9z/nginx': 'Deployment/web',
    'web-7d4b9c8f6d-x2x9z/app': 'Deployment/web',
    'db-0/postgres': 'StatefulSet/db',
    'web-0/shell': 'Pod/web-0',
    'web-5c8d7f9b6-qwxbz/nginx': null,
  }, 'names from the kubelet\'s files or the API, the owner from the API, null where it does not know the pod');

  const pods = (await app.inject('/api/v1/pods?namespace=shop')).json() as { items: { pod: string; owner: unknown }[] };
  t.same(pods.items.map((p) => [p.pod, p.owner]), [
    ['db-0', { kind: 'StatefulSet', name: 'db' }],
    ['web-0', { kind: 'Pod', name: 'web-0' }],
    ['web-5c8d7f9b6-qwxbz', null],
    ['web-7d4b9c8f6d-x2x9z', { kind: 'Deployment', name: 'web' }],
  ]);
  t.match((await app.inject('/api/v1/namespaces/shop/pods/db-0/syscalls')).json(), { owner: { kind: 'StatefulSet', name: 'db' } });
  t.match((await app.inject('/api/v1/namespaces/shop/pods/web-7d4b9c8f6d-x2x9z/syscalls?container=app')).json(), { owner: { kind: 'Deployment', name: 'web' } });
  t.match((await app.inject('/api/v1/namespaces/shop/pods/web-5c8d7f9b6-qwxbz/syscalls')).json(), { owner: null });

  t.same(await names(app, '/api/v1/namespaces/shop/workloads/web/profile'), ['read', 'stat', 'write'],
    'the Deployment\'s pod (both containers) and the unowned pod named web-..., not the bare pod web-0');
  t.same(await names(app, '/api/v1/namespaces/shop/workloads/web-0/profile'), ['close'], 'the bare pod is its own workload');
  t.same(await names(app, '/api/v1/namespaces/shop/workloads/db/profile'), ['open']);
  // the CLI on the same database picks the same pods
  const cli = await runCli(['profile', '--db', dbPath, '--namespace', 'shop', '--workload', 'web', '--baseline', 'none']);
  t.equal(cli.code, 0, cli.stderr);
  t.same(JSON.parse(cli.stdout).syscalls[0].names, ['read', 'stat', 'write'], 'profile --workload --db: owners first, names for pods without one');
  const none = await app.inject('/api/v1/namespaces/shop/workloads/web-7d4b9c8f6d/profile');
  t.equal(none.statusCode, 404, 'a ReplicaSet\'s name is not its Deployment\'s');
  t.match(none.json(), { code: 'SA_NOT_FOUND', message: /pods it owns/ });

  const openapi = (await app.inject('/openapi.json')).json() as { paths: Record<string, any> };
  const podItem = openapi.paths['/api/v1/pods']!.get.responses['200'].content['application/json'].schema.properties.items.items;
  t.match(podItem.properties.owner, { properties: { kind: { type: 'string' }, name: { type: 'string' } } }, 'the OpenAPI document has the owner, from the route schema');
});

t.test('an API that syncs after a container was named still gives it its owner', async (t) => {
  const { api, pipeline, store, feed } = await setup(t);
  feed(recordLine(NGINX.pid, 0));
  t.match(store.listWorkloads(), [{ pod: 'web-7d4b9c8f6d-x2x9z', container: 'nginx', ownerName: null }], 'named by the kubelet\'s files, no owner yet');
  await api.start();
  // names are looked for again at most once a second, per container, not per record
  feed(recordLine(NGINX.pid, 1));
  t.match(store.listWorkloads(), [{ ownerName: null }], 'not before the retry time');
  await delay(1100);
  pipeline.onBatchEnd();
  feed(recordLine(NGINX.pid, 2));
  t.match(store.listWorkloads(), [{ ownerKind: 'Deployment', ownerName: 'web', records: 3 }]);
});
