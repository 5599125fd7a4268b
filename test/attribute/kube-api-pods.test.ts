/**
 * KubeApiPods against a fake Kubernetes API server: a real HTTPS server on 127.0.0.1 with a certificate
 * made here by openssl, serving this node's pods from memory as a list and as a watch stream the way
 * the API server does (one JSON event per line, resourceVersions, bookmarks, 410 for compacted
 * versions, Status objects for errors).
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { containerIdOf, KubeApiError, KubeApiPods, parsePod, type KubeApiPodsOptions } from '../../src/attribute/kube-api-pods.js';
import { ownerOf } from '../../src/attribute/kube-owner.js';
import { FIXTURES } from '../helpers/paths.js';

const NODE = 'node-a';
const id = (digits: string): string => digits.repeat(64 / digits.length);

/** Pod objects are free-form JSON here. */
type PodObject = { metadata: Record<string, any>; spec: Record<string, any>; status?: Record<string, any> } & Record<string, unknown>;

function fixture(name: string): PodObject {
  return JSON.parse(readFileSync(join(FIXTURES, 'kube-api', `${name}.json`), 'utf8')) as PodObject;
}
const FIXTURE_NAMES = ['deployment-pod', 'statefulset-pod', 'daemonset-pod', 'cronjob-pod', 'bare-pod', 'static-pod'];
const uidOf = (name: string): string => fixture(name).metadata['uid'] as string;

const work = mkdtempSync(join(tmpdir(), 'sa-kube-api-'));
t.teardown(() => rmSync(work, { recursive: true, force: true }));

/** A self-signed certificate for 127.0.0.1; it is its own CA. */
function selfSigned(name: string): { key: string; cert: string; certFile: string } {
  const keyFile = join(work, `${name}.key`);
  const certFile = join(work, `${name}.crt`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`these tests need openssl (1.1.1 or later) to make the fake API server's self-signed certificate: ${r.error?.message ?? r.stderr}`);
  }
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8'), certFile };
}
const SERVER_CERT = selfSigned('server');
const OTHER_CA = selfSigned('other');
const NAMESPACE_FILE = join(work, 'namespace');
writeFileSync(NAMESPACE_FILE, 'seccomp-auditor\n');

function status(res: ServerResponse, code: number, reason: string, message: string): void {
  res.writeHead(code, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }));
}

interface Seen {
  at: number;
  watch: boolean;
  query: URLSearchParams;
  auth: string | undefined;
}

class FakeApiServer {
  /** the token it accepts; the client reads its own from tokenFile */
  token = 'token-1';
  forbid = false;
  /** lists get no answer at all */
  hangLists = false;
  /** the next watch request is answered 410 Gone */
  goneNext = false;
  readonly requests: Seen[] = [];
  readonly tokenFile: string;
  readonly #server: Server;
  #pods = new Map<string, PodObject>();
  #rv = 1000;
  #log: Array<{ rv: number; line: string }> = [];
  /** watches from a resourceVersion below this one get a 410 ERROR event, as after etcd compaction */
  #compactedTo = 0;
  #watches = new Set<ServerResponse>();

  private constructor(server: Server, tokenFile: string) {
    this.#server = server;
    this.tokenFile = tokenFile;
  }

  static async start(t: Test, pods: PodObject[] = FIXTURE_NAMES.map(fixture)): Promise<FakeApiServer> {
    const tokenFile = join(mkdtempSync(join(work, 'sa-')), 'token');
    writeFileSync(tokenFile, 'token-1\n');
    const server = createServer({ key: SERVER_CERT.key, cert: SERVER_CERT.cert });
    const fake = new FakeApiServer(server, tokenFile);
    for (const p of pods) fake.#pods.set(p.metadata['uid'] as string, { ...p, metadata: { ...p.metadata, resourceVersion: String(++fake.#rv) } });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => fake.#handle(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    t.teardown(() => fake.close());
    return fake;
  }

  get url(): string {
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  get resourceVersion(): string {
    return String(this.#rv);
  }

  get openWatches(): number {
    return this.#watches.size;
  }

  get watchRequests(): Seen[] {
    return this.requests.filter((r) => r.watch);
  }

  get listRequests(): Seen[] {
    return this.requests.filter((r) => !r.watch);
  }

  add(pod: PodObject): void {
    this.#event('ADDED', pod);
  }

  modify(pod: PodObject): void {
    this.#event('MODIFIED', pod);
  }

  remove(uid: string): void {
    this.#event('DELETED', this.#pods.get(uid)!);
  }

  /** What the API server sends now and then so a watcher's resourceVersion does not go stale. */
  bookmark(): string {
    const rv = String(++this.#rv);
    this.raw(JSON.stringify({ type: 'BOOKMARK', object: { kind: 'Pod', apiVersion: 'v1', metadata: { resourceVersion: rv } } }));
    return rv;
  }

  raw(line: string): void {
    this.write(`${line}\n`);
  }

  write(text: string): void {
    for (const w of this.#watches) w.write(text);
  }

  errorEvent(code: number, reason: string, message: string): void {
    this.raw(JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code } }));
  }

  /** The pod goes, and so does the history that told of it: only a relist shows it gone. */
  removeUnseen(uid: string): void {
    this.#pods.delete(uid);
    this.#compactedTo = ++this.#rv;
  }

  /** Ends every watch cleanly (the API server does at its watch timeout). */
  closeWatches(): void {
    for (const w of this.#watches) w.end();
    this.#watches.clear();
  }

  /** Cuts every watch connection mid-stream. */
  dropWatches(): void {
    for (const w of this.#watches) w.socket?.destroy();
    this.#watches.clear();
  }

  close(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  #event(type: string, pod: PodObject): void {
    const object = structuredClone(pod);
    object.metadata['resourceVersion'] = String(++this.#rv);
    const uid = object.metadata['uid'] as string;
    if (type === 'DELETED') this.#pods.delete(uid);
    else this.#pods.set(uid, object);
    if (object.spec['nodeName'] !== NODE) return;
    const line = JSON.stringify({ type, object });
    this.#log.push({ rv: this.#rv, line });
    this.raw(line);
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'https://fake');
    const watch = url.searchParams.get('watch') === '1';
    this.requests.push({ at: Date.now(), watch, query: url.searchParams, auth: req.headers.authorization });
    if (url.pathname !== '/api/v1/pods') return status(res, 404, 'NotFound', 'the server could not find the requested resource');
    if (req.headers.authorization !== `Bearer ${this.token}`) return status(res, 401, 'Unauthorized', 'Unauthorized');
    if (this.forbid) {
      return status(res, 403, 'Forbidden',
        'pods is forbidden: User "system:serviceaccount:seccomp-auditor:seccomp-auditor" cannot list resource "pods" in API group "" at the cluster scope');
    }
    if (url.searchParams.get('fieldSelector') !== `spec.nodeName=${NODE}`) return status(res, 400, 'BadRequest', 'this fake serves one node\'s pods only');
    if (!watch) {
      if (this.hangLists) return;
      const items = [...this.#pods.values()].filter((p) => p.spec['nodeName'] === NODE);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: String(this.#rv) }, items }));
      return;
    }
    if (url.searchParams.get('allowWatchBookmarks') !== 'true') return status(res, 400, 'BadRequest', 'expected allowWatchBookmarks=true');
    if (this.goneNext) {
      this.goneNext = false;
      return status(res, 410, 'Gone', 'too old resource version');
    }
    const from = Number(url.searchParams.get('resourceVersion'));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    if (!Number.isInteger(from) || from < this.#compactedTo) {
      // what the real server does: 200, then one ERROR event with a 410 Status, then the end
      res.end(`${JSON.stringify({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure',
        message: `too old resource version: ${from} (${this.#compactedTo})`, reason: 'Expired', code: 410 } })}\n`);
      return;
    }
    // the real server sends its headers at once, before any event
    res.flushHeaders();
    for (const e of this.#log) if (e.rv > from) res.write(`${e.line}\n`);
    this.#watches.add(res);
    res.on('close', () => this.#watches.delete(res));
  }
}

function client(t: Test, server: FakeApiServer, options: Partial<KubeApiPodsOptions> = {}): { kube: KubeApiPods; errors: Error[] } {
  const errors: Error[] = [];
  const kube = new KubeApiPods({
    nodeName: NODE, apiServer: options.apiServer ?? server.url, tokenFile: server.tokenFile, caFile: SERVER_CERT.certFile, namespaceFile: NAMESPACE_FILE,
    minBackoffMs: 10, maxBackoffMs: 80, onError: (e) => errors.push(e), ...options,
  });
  t.teardown(() => kube.stop());
  return { kube, errors };
}

/** Polls until cond holds; fails with what it waited for after ms. */
async function until(what: string, cond: () => boolean, ms = 3000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await delay(5);
  }
}

async function rejection(p: Promise<unknown>): Promise<KubeApiError> {
  try {
    await p;
  } catch (err) {
    return err as KubeApiError;
  }
  throw new Error('expected a rejection');
}

t.test('owners come from ownerReferences and labels alone', async (t) => {
  const rs = [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-7d4b9c8f6d', controller: true }];
  t.same(ownerOf({ name: 'web-7d4b9c8f6d-x2x9z', node: NODE, labels: { 'pod-template-hash': '7d4b9c8f6d' }, ownerReferences: rs }), { kind: 'Deployment', name: 'web' });
  t.same(ownerOf({ name: 'web-7d4b9c8f6d-x2x9z', node: NODE, labels: {}, ownerReferences: rs }), { kind: 'ReplicaSet', name: 'web-7d4b9c8f6d' },
    'no pod-template-hash label: a ReplicaSet of its own');
  t.same(ownerOf({ name: 'web-7d4b9c8f6d-x2x9z', node: NODE, labels: { 'pod-template-hash': 'abc' }, ownerReferences: rs }), { kind: 'ReplicaSet', name: 'web-7d4b9c8f6d' },
    'a hash that is not the suffix');
  t.same(ownerOf({ name: 'x', node: NODE, labels: { 'pod-template-hash': '7d4b9c8f6d' }, ownerReferences: [{ kind: 'ReplicaSet', name: '7d4b9c8f6d', controller: true }] }),
    { kind: 'ReplicaSet', name: '7d4b9c8f6d' }, 'nothing left before the hash');
  t.same(ownerOf({ name: 'db-0', node: NODE, labels: {}, ownerReferences: [{ kind: 'StatefulSet', name: 'db', controller: true }] }), { kind: 'StatefulSet', name: 'db' });
  t.same(ownerOf({ name: 'a-x', node: NODE, labels: {}, ownerReferences: [{ kind: 'DaemonSet', name: 'a', controller: true }] }), { kind: 'DaemonSet', name: 'a' });
  t.same(ownerOf({ name: 'backup-28712345-8vfmq', node: NODE, labels: {}, ownerReferences: [{ kind: 'Job', name: 'backup-28712345', controller: true }] }),
    { kind: 'Job', name: 'backup-28712345', cronJob: 'backup' });
  t.same(ownerOf({ name: 'migrate-v2-abcde', node: NODE, labels: {}, ownerReferences: [{ kind: 'Job', name: 'migrate-v2', controller: true }] }),
    { kind: 'Job', name: 'migrate-v2' }, 'a Job not named <cronjob>-<digits> has no CronJob hint');
  t.same(ownerOf({ name: 'debug', node: NODE, labels: {} }), { kind: 'Pod', name: 'debug' });
  t.same(ownerOf({ name: 'p', node: NODE, labels: {}, ownerReferences: [{ kind: 'ConfigMap', name: 'cm' }] }), { kind: 'Pod', name: 'p' },
    'a reference that is not the controller is not the workload');
  t.same(ownerOf({ name: 'kube-scheduler-node-a', node: NODE, labels: {}, ownerReferences: [{ kind: 'Node', name: NODE, controller: true }] }),
    { kind: 'StaticPod', name: 'kube-scheduler' }, 'a mirror pod: the manifest name, the same on every node');
  t.same(ownerOf({ name: 'r-1', node: NODE, labels: {}, ownerReferences: [{ kind: 'Rollout', name: 'r', controller: true }] }), { kind: 'Rollout', name: 'r' },
    'other controllers pass through');
});

t.test('pod objects: names, labels, owner, every kind of container id', async (t) => {
  t.equal(containerIdOf(`containerd://${id('a')}`), id('a'));
  t.equal(containerIdOf(`cri-o://${id('b')}`), id('b'));
  t.equal(containerIdOf(`docker://${id('C')}`), id('c'), 'lower case, as cgroup paths spell it');
  t.equal(containerIdOf(''), null);
  t.equal(containerIdOf(undefined), null);

  const deployment = parsePod(fixture('deployment-pod'))!;
  t.same(deployment.info, {
    podUid: uidOf('deployment-pod'), namespace: 'shop', pod: 'web-7d4b9c8f6d-x2x9z', node: NODE,
    labels: { 'app.kubernetes.io/name': 'web', 'pod-template-hash': '7d4b9c8f6d' },
    owner: { kind: 'Deployment', name: 'web' },
    containers: { migrate: id('1'), app: id('2'), nginx: id('3') },
  });
  t.same(deployment.ids.map(([i, c]) => [i.slice(0, 2), c]), [['11', 'migrate'], ['22', 'app'], ['20', 'app'], ['33', 'nginx']],
    'init containers, and the id of a restarted container\'s previous instance');
  t.ok(Object.isFrozen(deployment.info) && Object.isFrozen(deployment.info.labels), 'handed out by reference, so frozen');
  t.same(parsePod(fixture('daemonset-pod'))!.info.containers, { agent: id('5'), 'debugger-8xk2q': id('6') }, 'ephemeral containers');
  t.same(parsePod(fixture('bare-pod'))!.info.containers, { shell: id('8') }, 'a container still being created has no id yet');

  const broken = fixture('bare-pod');
  delete broken.metadata['uid'];
  t.equal(parsePod(broken), null);
  t.equal(parsePod({ metadata: { uid: 'u', name: 'n', namespace: 'ns' } }), null, 'no spec.nodeName');
  t.equal(parsePod('pod'), null);
  const odd = fixture('bare-pod');
  odd.metadata['labels'] = { ok: 'yes', n: 1 };
  odd.status!['containerStatuses'] = [null, { containerID: `containerd://${id('e')}` }, { name: 'shell', containerID: 7 }];
  t.same(parsePod(odd)!.info, { ...parsePod(fixture('bare-pod'))!.info, labels: { ok: 'yes' }, containers: {} }, 'odd fields are skipped, not fatal');
});

t.test('lists this node\'s pods over verified TLS with the bearer token, then watches', async (t) => {
  const server = await FakeApiServer.start(t);
  const { kube, errors } = client(t, server);
  t.same(kube.status.synced, false);
  await kube.start();

  const list = server.listRequests[0]!;
  t.equal(list.auth, 'Bearer token-1');
  t.equal(list.query.get('fieldSelector'), `spec.nodeName=${NODE}`);
  const s = kube.status;
  t.match(s, { apiServer: server.url, synced: true, podsKnown: 6, containersKnown: 10, lists: 1, lastError: null, resourceVersion: server.resourceVersion, badData: 0 });
  t.ok(s.lastSyncAt !== null && Date.now() - s.lastSyncAt < 5000);

  const owners = Object.fromEntries(FIXTURE_NAMES.map((n) => [n, kube.byPodUid(uidOf(n))?.owner]));
  t.same(owners, {
    'deployment-pod': { kind: 'Deployment', name: 'web' },
    'statefulset-pod': { kind: 'StatefulSet', name: 'db' },
    'daemonset-pod': { kind: 'DaemonSet', name: 'node-agent' },
    'cronjob-pod': { kind: 'Job', name: 'backup-28712345', cronJob: 'backup' },
    'bare-pod': { kind: 'Pod', name: 'debug-shell' },
    'static-pod': { kind: 'StaticPod', name: 'kube-scheduler' },
  });
  t.match(kube.byPodUid(uidOf('statefulset-pod')), { namespace: 'shop', pod: 'db-0', node: NODE, labels: { app: 'db' } });

  t.match(kube.byContainerId(id('3')), { pod: 'web-7d4b9c8f6d-x2x9z', namespace: 'shop', podUid: uidOf('deployment-pod'), container: 'nginx', owner: { kind: 'Deployment' } }, 'containerd');
  t.match(kube.byContainerId(id('1')), { container: 'migrate' }, 'init container');
  t.match(kube.byContainerId(id('20')), { container: 'app' }, 'the previous instance of a restarted container');
  t.match(kube.byContainerId(id('4')), { pod: 'db-0', container: 'postgres' }, 'cri-o');
  t.match(kube.byContainerId(id('5')), { pod: 'node-agent-x7k2p', container: 'agent' }, 'docker');
  t.match(kube.byContainerId(id('6')), { container: 'debugger-8xk2q' }, 'ephemeral container');
  t.match(kube.byContainerId(`containerd://${id('9')}`), { pod: 'kube-scheduler-node-a' }, 'the API\'s form of an id is accepted too');
  t.equal(kube.byContainerId(id('f')), null);
  t.equal(kube.byPodUid('00000000-0000-0000-0000-000000000000'), null);
  t.equal(kube.byContainerId(id('3')), kube.byContainerId(id('3')), 'a lookup hands out the same object');

  await until('the watch', () => kube.status.connected);
  const watch = server.watchRequests[0]!;
  t.equal(watch.query.get('resourceVersion'), server.resourceVersion, 'watches from the list\'s resourceVersion');
  t.equal(watch.query.get('allowWatchBookmarks'), 'true');
  t.equal(watch.query.get('fieldSelector'), `spec.nodeName=${NODE}`);
  t.equal(watch.auth, 'Bearer token-1');
  t.same(errors, []);
  t.equal(kube.start(), kube.start(), 'start is idempotent');
});

t.test('watch events: ADDED, MODIFIED, DELETED, BOOKMARK', async (t) => {
  const server = await FakeApiServer.start(t, [fixture('statefulset-pod')]);
  const { kube, errors } = client(t, server);
  await kube.start();
  await until('the watch', () => server.openWatches === 1);

  const web = fixture('deployment-pod');
  server.add(web);
  await until('the added pod', () => kube.byPodUid(uidOf('deployment-pod')) !== null);
  t.match(kube.byContainerId(id('2')), { container: 'app', owner: { kind: 'Deployment', name: 'web' } });
  t.equal(kube.status.resourceVersion, server.resourceVersion);

  // the app container restarts again: new id, the one before it in lastState; a label changes
  const restarted = structuredClone(web);
  restarted.metadata['labels']['tier'] = 'front';
  const app = restarted.status!['containerStatuses'][0];
  app.lastState = { terminated: { exitCode: 1, containerID: app.containerID } };
  app.containerID = `containerd://${id('a')}`;
  server.modify(restarted);
  await until('the modified pod', () => kube.byContainerId(id('a')) !== null);
  t.equal(kube.byPodUid(uidOf('deployment-pod'))!.labels['tier'], 'front');
  t.equal(kube.byPodUid(uidOf('deployment-pod'))!.containers['app'], id('a'));
  t.match(kube.byContainerId(id('2')), { container: 'app' }, 'the previous instance still resolves');
  t.equal(kube.byContainerId(id('20')), null, 'the one before that is no longer in the pod\'s status');
  t.match(kube.byContainerId(id('a')), { labels: { tier: 'front' } }, 'container entries carry the new labels');
  t.equal(kube.status.podsKnown, 2);

  server.remove(uidOf('deployment-pod'));
  await until('the deletion', () => kube.byPodUid(uidOf('deployment-pod')) === null);
  for (const digit of ['1', '2', '3', 'a']) t.equal(kube.byContainerId(id(digit)), null, `container ${digit} forgotten with its pod`);
  t.match(kube.status, { podsKnown: 1, containersKnown: 1 });

  const rv = server.bookmark();
  await until('the bookmark', () => kube.status.resourceVersion === rv);
  t.match(kube.status, { events: 4, badData: 0, lists: 1, connected: true });
  t.same(errors, []);
});

t.test('a closed or broken watch reconnects from the last resourceVersion, without relisting', async (t) => {
  const server = await FakeApiServer.start(t, [fixture('statefulset-pod')]);
  const { kube, errors } = client(t, server);
  await kube.start();
  await until('the watch', () => server.openWatches === 1);
  const rv = server.bookmark();
  await until('the bookmark', () => kube.status.resourceVersion === rv);

  server.closeWatches();
  // happens while the client is away: the resumed watch replays it
  server.add(fixture('daemonset-pod'));
  await until('the pod added while disconnected', () => kube.byPodUid(uidOf('daemonset-pod')) !== null);
  t.equal(server.watchRequests.length, 2);
  t.equal(server.watchRequests[1]!.query.get('resourceVersion'), rv, 'resumes from the bookmark');
  t.equal(kube.status.lists, 1);
  t.same(errors, [], 'a watch the server ends is routine');

  await until('the second watch', () => server.openWatches === 1);
  const before = kube.status.resourceVersion;
  server.dropWatches();
  server.add(fixture('bare-pod'));
  await until('the pod added while the connection was down', () => kube.byPodUid(uidOf('bare-pod')) !== null);
  t.equal(server.watchRequests[2]!.query.get('resourceVersion'), before);
  t.equal(kube.status.lists, 1);
  t.equal(errors.length, 1);
  t.match(errors[0], { code: 'SA_KUBE_WATCH', message: /the pod watch on https:\/\/127\.0\.0\.1:\d+ broke .*reconnecting from resourceVersion/ });
  t.equal(kube.status.lastError, errors[0]!.message);
});

t.test('410 Gone and ERROR events relist, and the relist drops pods whose deletion was missed', async (t) => {
  const server = await FakeApiServer.start(t);
  const { kube, errors } = client(t, server);
  await kube.start();
  await until('the watch', () => server.openWatches === 1);

  // an HTTP 410 to the watch request
  server.removeUnseen(uidOf('bare-pod'));
  server.goneNext = true;
  server.closeWatches();
  await until('the relist after 410', () => kube.status.lists === 2);
  t.equal(kube.byPodUid(uidOf('bare-pod')), null, 'the list replaced what was known');
  t.equal(kube.byContainerId(id('8')), null);
  t.equal(kube.status.podsKnown, 5);
  await until('the watch after the relist', () => server.openWatches === 1);
  t.equal(server.watchRequests.at(-1)!.query.get('resourceVersion'), server.resourceVersion);

  // a 200 whose only event is a 410 ERROR, as the real server answers a compacted resourceVersion
  server.removeUnseen(uidOf('static-pod'));
  server.closeWatches();
  await until('the relist after an ERROR 410 event', () => kube.status.lists === 3);
  t.equal(kube.byPodUid(uidOf('static-pod')), null);
  t.same(errors, [], 'an expired resourceVersion is routine');

  // any other ERROR event: relist too, and say so
  await until('the watch after the second relist', () => server.openWatches === 1);
  server.errorEvent(500, 'InternalError', 'etcd leader changed');
  await until('the relist after an ERROR event', () => kube.status.lists === 4);
  t.equal(errors.length, 1);
  t.match(errors[0], { code: 'SA_KUBE_WATCH', httpStatus: 500, message: /ERROR event \(500 InternalError: etcd leader changed\); relisting/ });
  t.equal(kube.status.podsKnown, 4);
});

t.test('bad data is counted and skipped; the watch goes on', async (t) => {
  const broken = fixture('bare-pod');
  delete broken.metadata['name'];
  const server = await FakeApiServer.start(t, [fixture('statefulset-pod'), broken]);
  const { kube, errors } = client(t, server);
  await kube.start();
  t.match(kube.status, { podsKnown: 1, badData: 1 }, 'a list item without a name');
  await until('the watch', () => server.openWatches === 1);

  server.raw('this is not JSON');
  server.raw('{"type":"ADDED"}');
  server.raw('{"type":"ADDED","object":{"metadata":{}}}');
  server.raw('{"type":"DELETED","object":{"metadata":{"name":"no-uid"}}}');
  server.raw('{"type":"BOOKMARK","object":{"metadata":{}}}');
  server.raw('{"type":"SOMETHING","object":{}}');
  server.raw('[1,2,3]');
  server.raw('');
  const other = fixture('daemonset-pod');
  other.spec['nodeName'] = 'node-b';
  server.raw(JSON.stringify({ type: 'ADDED', object: other }));
  server.add(fixture('cronjob-pod'));
  await until('the good event after the bad ones', () => kube.byPodUid(uidOf('cronjob-pod')) !== null);
  t.match(kube.status, { badData: 9, connected: true, lists: 1, events: 1 });
  t.equal(kube.byPodUid(uidOf('daemonset-pod')), null, 'another node\'s pod is not kept');
  t.equal(server.watchRequests.length, 1, 'the same connection');
  t.same(errors, []);

  // an event split across writes still parses: lines, not chunks, are events
  const half = JSON.stringify({ type: 'DELETED', object: fixture('cronjob-pod') });
  server.write(half.slice(0, 100));
  await delay(20);
  server.write(`${half.slice(100)}\n`);
  await until('the deletion', () => kube.byPodUid(uidOf('cronjob-pod')) === null);
});

t.test('the token is read again for every request: a rotated token is used after a 401', async (t) => {
  const server = await FakeApiServer.start(t);
  const { kube, errors } = client(t, server);
  await kube.start();
  await until('the watch', () => server.openWatches === 1);

  server.token = 'token-2';
  server.dropWatches();
  await until('a rejected reconnect', () => errors.some((e) => (e as KubeApiError).code === 'SA_KUBE_UNAUTHORIZED'));
  t.match(kube.status, { connected: false, lastError: /401 Unauthorized/ });
  writeFileSync(server.tokenFile, 'token-2\n');
  await until('the reconnect with the new token', () => server.openWatches === 1);
  t.equal(server.watchRequests.at(-1)!.auth, 'Bearer token-2');
  t.equal(kube.status.lists, 1);
});

t.test('start() rejects with the server, the cause and the fix', async (t) => {
  t.test('403: RBAC', async (t) => {
    const server = await FakeApiServer.start(t);
    server.forbid = true;
    const { kube, errors } = client(t, server);
    const err = await rejection(kube.start());
    t.equal(err.code, 'SA_KUBE_FORBIDDEN');
    t.equal(err.httpStatus, 403);
    t.equal(err.message, `the Kubernetes API server ${server.url} refused to list pods (403 Forbidden): the service account (namespace seccomp-auditor) cannot list pods: `
      + 'grant get/list/watch on pods (see deploy/kubernetes RBAC) (the server said: pods is forbidden: User "system:serviceaccount:seccomp-auditor:seccomp-auditor" '
      + 'cannot list resource "pods" in API group "" at the cluster scope)');
    t.same(errors, [], 'the rejection is the report; onError does not repeat it');
    t.match(kube.status, { synced: false, connected: false, lastError: err.message });

    // the loop goes on: once the permission is granted the pods come
    server.forbid = false;
    await until('the list after the grant', () => kube.status.synced);
    t.equal(kube.status.podsKnown, 6);
  });

  t.test('401: the token', async (t) => {
    const server = await FakeApiServer.start(t);
    server.token = 'another';
    const { kube } = client(t, server);
    const err = await rejection(kube.start());
    t.equal(err.code, 'SA_KUBE_UNAUTHORIZED');
    t.match(err.message, `the Kubernetes API server ${server.url} rejected the service account token from ${server.tokenFile} (401 Unauthorized)`);
    t.match(err.message, /expired, revoked or from another cluster.*automountServiceAccountToken/);
  });

  t.test('no token file', async (t) => {
    const server = await FakeApiServer.start(t);
    const { kube } = client(t, server, { tokenFile: join(work, 'missing-token') });
    const err = await rejection(kube.start());
    t.equal(err.code, 'SA_KUBE_CREDENTIALS');
    t.match(err.message, /^cannot read the service account token .*missing-token for the Kubernetes API server .*ENOENT/);
    t.equal(server.requests.length, 0);
  });

  t.test('connection refused', async (t) => {
    const server = await FakeApiServer.start(t);
    const url = server.url;
    await server.close();
    const { kube } = client(t, server, { apiServer: url });
    const err = await rejection(kube.start());
    t.equal(err.code, 'SA_KUBE_UNREACHABLE');
    t.match(err.message, `cannot connect to the Kubernetes API server ${url}: connection refused (ECONNREFUSED`);
    t.match(err.message, /check KUBERNETES_SERVICE_HOST\/KUBERNETES_SERVICE_PORT/);
  });

  t.test('TLS: a certificate the CA file did not sign', async (t) => {
    const server = await FakeApiServer.start(t);
    const { kube } = client(t, server, { caFile: OTHER_CA.certFile });
    const err = await rejection(kube.start());
    t.equal(err.code, 'SA_KUBE_TLS');
    t.match(err.message, `TLS verification of the Kubernetes API server ${server.url} failed (`);
    t.match(err.message, /self[- ]signed certificate.*check that .*other\.crt is the cluster's CA/);
    t.equal(server.requests.length, 0, 'no request (and no token) went to an unverified server');
  });

  t.test('no answer to the list', async (t) => {
    const server = await FakeApiServer.start(t);
    server.hangLists = true;
    const { kube } = client(t, server, { requestTimeoutMs: 150 });
    const err = await rejection(kube.start());
    t.equal(err.code, 'SA_KUBE_TIMEOUT');
    t.equal(err.message, `the Kubernetes API server ${server.url} did not answer the pod list within 150 ms`);
  });

  t.test('stop() before the first list', async (t) => {
    const server = await FakeApiServer.start(t);
    server.hangLists = true;
    const { kube } = client(t, server);
    const started = kube.start();
    await until('the list request', () => server.requests.length === 1);
    kube.stop();
    t.match((await rejection(started)).message, /stopped before the first list of pods/);
  });
});

t.test('failing reconnects back off, doubling up to maxBackoffMs', async (t) => {
  const server = await FakeApiServer.start(t);
  const { kube, errors } = client(t, server, { minBackoffMs: 20, maxBackoffMs: 80 });
  await kube.start();
  await until('the watch', () => server.openWatches === 1);
  server.forbid = true;
  server.dropWatches();
  await until('eight refused reconnects, each reported', () => server.watchRequests.length >= 9 && errors.length >= 9);
  const at = server.watchRequests.slice(1).map((r) => r.at);
  const gaps = at.slice(1).map((a, i) => a - at[i]!);
  // attempt n waits 50–100 % of min(80, 20·2ⁿ): 10–20, 20–40, then 40–80 ms (plus the request itself)
  t.ok(gaps.slice(2).every((g) => g >= 39), `at least half of maxBackoffMs apart once there: ${gaps.join(', ')} ms`);
  t.ok(gaps.every((g) => g < 400), 'and never much more than maxBackoffMs');
  t.equal((errors[0] as KubeApiError).code, 'SA_KUBE_WATCH', 'the dropped watch');
  t.ok(errors.length >= 9 && errors.slice(1).every((e) => (e as KubeApiError).code === 'SA_KUBE_FORBIDDEN'), 'then each refusal, through onError');
  t.match(errors[1]!.message, /refused to watch pods \(403 Forbidden\): the service account \(namespace seccomp-auditor\) cannot watch pods: grant get\/list\/watch on pods/);
  t.match(kube.status, { connected: false, synced: true, podsKnown: 6, lastError: /403 Forbidden/ }, 'what was known stays while the API is away');

  server.forbid = false;
  await until('the reconnect', () => server.openWatches === 1);
  t.equal(kube.status.lists, 1, 'resumed, not relisted');
});

t.test('resyncMs reopens the watch from the last resourceVersion, without relisting', async (t) => {
  const server = await FakeApiServer.start(t, [fixture('statefulset-pod')]);
  const { kube, errors } = client(t, server, { resyncMs: 100 });
  await kube.start();
  await until('three watches', () => server.watchRequests.length >= 3);
  server.add(fixture('bare-pod'));
  await until('an event on a later watch', () => kube.byPodUid(uidOf('bare-pod')) !== null);
  t.equal(kube.status.lists, 1);
  t.ok(server.watchRequests.every((r) => Number(r.query.get('resourceVersion')) > 0));
  t.same(errors, []);
});

t.test('stop() closes the watch and nothing reconnects', async (t) => {
  const server = await FakeApiServer.start(t);
  const { kube } = client(t, server);
  await kube.start();
  await until('the watch', () => server.openWatches === 1);
  kube.stop();
  await until('the server to see the watch closed', () => server.openWatches === 0);
  const requests = server.requests.length;
  t.equal(kube.status.connected, false);
  // a few of the longest backoffs: any reconnect would have happened by now
  await delay(300);
  t.equal(server.requests.length, requests);
  t.equal(kube.status.podsKnown, 6, 'what was known stays readable');
  const late = new KubeApiPods({ nodeName: NODE, apiServer: server.url });
  late.stop();
  t.match((await rejection(late.start())).message, /start\(\) after stop\(\)/);
});

t.test('fromEnvironment: only in a cluster', async (t) => {
  const tokenFile = join(work, 'env-token');
  writeFileSync(tokenFile, 'x');
  t.equal(KubeApiPods.fromEnvironment(NODE, {}), null, 'no KUBERNETES_SERVICE_HOST');
  t.equal(KubeApiPods.fromEnvironment(NODE, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '443' }, { tokenFile: join(work, 'none') }), null,
    'no service account token mounted');
  t.equal(KubeApiPods.fromEnvironment(NODE, { KUBERNETES_SERVICE_HOST: '10.96.0.1', KUBERNETES_SERVICE_PORT: '6443' }, { tokenFile })?.apiServer, 'https://10.96.0.1:6443');
  t.equal(KubeApiPods.fromEnvironment(NODE, { KUBERNETES_SERVICE_HOST: 'fd00:10:96::1' }, { tokenFile })?.apiServer, 'https://[fd00:10:96::1]:443',
    'an IPv6 service address, and the default port');
  t.throws(() => KubeApiPods.fromEnvironment('', { KUBERNETES_SERVICE_HOST: '10.96.0.1' }, { tokenFile }), /nodeName is required/,
    'in a cluster without a node name is a configuration error');

  const server = await FakeApiServer.start(t);
  const port = new URL(server.url).port;
  const kube = KubeApiPods.fromEnvironment(NODE, { KUBERNETES_SERVICE_HOST: '127.0.0.1', KUBERNETES_SERVICE_PORT: port },
    { tokenFile: server.tokenFile, caFile: SERVER_CERT.certFile, namespaceFile: NAMESPACE_FILE })!;
  t.teardown(() => kube.stop());
  await kube.start();
  t.equal(kube.status.podsKnown, 6);
});

t.test('options are checked when constructed', async (t) => {
  t.throws(() => new KubeApiPods({ nodeName: '', apiServer: 'https://x' }), /nodeName is required/);
  t.throws(() => new KubeApiPods({ nodeName: NODE, apiServer: 'not a url' }), /apiServer is not a URL/);
  t.throws(() => new KubeApiPods({ nodeName: NODE, apiServer: 'ftp://x' }), /must be https/);
  t.throws(() => new KubeApiPods({ nodeName: NODE, apiServer: 'https://x', resyncMs: 0 }), /resyncMs must be a positive number/);
  t.equal(new KubeApiPods({ nodeName: NODE, apiServer: 'https://proxy.example/k8s/clusters/c-1/' }).apiServer, 'https://proxy.example/k8s/clusters/c-1',
    'a path prefix is kept');
});
