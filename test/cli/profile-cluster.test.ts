/**
 * `kubectl seccomp-auditor profile` / `seccomp-auditor profile --cluster` against a fake API server
 * (test/kube/fake-kube-api.ts: TLS, tokens, RBAC from the shipped Roles, the pod proxy) in front of
 * three real daemons (the built CLI's `run`, each fed its own audit lines): shop/web ran on nodes a
 * and b, node c only ran shop/db-0. The merged profile is compared with what the daemons hold and
 * with --from's merge of the same daemons; 403s, a pod that went away, a slow node and a hostile
 * "daemon" each give an error naming the node and the fix; --apply writes the ConfigMap that a
 * daemon, syncing from it as the kubelet mounts it, installs.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseAllDocuments } from 'yaml';
import { builtCli, runCli } from '../helpers/cli.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { recordLine, type FakeContainer } from '../ingest/fake-node.js';
import { ClusterNode, writeConfigMapVolume } from '../kube/cluster-node.js';
import { FakeKubeApi, selfSigned, type KObject, type PolicyRule } from '../kube/fake-kube-api.js';

const NS = 'seccomp-auditor';
const DAEMON_LABELS = { 'app.kubernetes.io/name': 'seccomp-auditor', 'app.kubernetes.io/component': 'daemon' };
const TOKEN = 'd'.repeat(64);
const work = makeTempDir('sa-cluster-');
const tokenFile = join(work, 'daemon-token');
writeFileSync(tokenFile, `${TOKEN}\n`);

const pod = (name: string, pid: number, uidDigit: string, container: string): FakeContainer => ({
  namespace: 'shop', pod: name, podUid: `00000000-0000-0000-0000-0000000000${uidDigit}`, container, id: uidDigit.repeat(32), pid,
});
const WEB_A = pod('web-7d9f8b6c4-x2k4p', 5101, 'a1', 'nginx');
const WEB_B = pod('web-7d9f8b6c4-bz5wq', 5201, 'b1', 'nginx');
const DB_C = pod('db-0', 5301, 'c1', 'postgres');

// what each node's kernel said: web called read and write on a, openat and close on b (and was
// refused execve there); db-0 on c called read and socket
const syncDir = join(work, 'profiles-volume');
writeConfigMapVolume(syncDir, {});
const nodes = {
  a: new ClusterNode('node-a', [WEB_A], recordLine(WEB_A.pid, 0) + recordLine(WEB_A.pid, 0) + recordLine(WEB_A.pid, 1), tokenFile,
    // node a also installs what the profiles ConfigMap holds, mounted as the kubelet mounts it
    ['--sync-profiles-from', syncDir]),
  b: new ClusterNode('node-b', [WEB_B], recordLine(WEB_B.pid, 257) + recordLine(WEB_B.pid, 3) + recordLine(WEB_B.pid, 59, 'errno'), tokenFile),
  c: new ClusterNode('node-c', [DB_C], recordLine(DB_C.pid, 0) + recordLine(DB_C.pid, 41), tokenFile),
};

/** the shipped Roles: what the fake API server allows is exactly what deploy/ grants */
const roles = new Map<string, PolicyRule[]>(parseAllDocuments(readFileSync(join(REPO_ROOT, 'deploy/kubernetes/components/profile-export-rbac/roles.yaml'), 'utf8'))
  .map((d) => d.toJS() as KObject).map((r) => [r.metadata['name'] as string, r['rules'] as PolicyRule[]]));
const READER = roles.get('seccomp-auditor-profile-reader')!;
const WRITER = roles.get('seccomp-auditor-profile-writer')!;

const api = new FakeKubeApi(selfSigned(work, 'api'));
api.users.set('alice-token', { name: 'alice', rules: [...READER, ...WRITER] });
api.users.set('carol-token', { name: 'carol', rules: READER });
// bob may list the daemons and read the token but not proxy to them; dave may do nothing
api.users.set('bob-token', { name: 'bob', rules: READER.filter((r) => !r.resources?.includes('pods/proxy')) });
api.users.set('dave-token', { name: 'dave', rules: [] });

const kubeconfig = join(work, 'kubeconfig');
const pluginDir = join(work, 'bin');
let hostile: Server;

t.before(async () => {
  await Promise.all(Object.values(nodes).map((n) => n.start()));
  for (const [key, n] of Object.entries(nodes)) api.addPod(NS, `seccomp-auditor-${key}${key}${key}x1`, { node: n.node, port: n.port, labels: DAEMON_LABELS });
  // not daemons: another app in the namespace, and a daemon-labelled pod in another namespace
  api.addPod(NS, 'grafana-0', { node: 'node-a', port: 1, labels: { 'app.kubernetes.io/name': 'grafana' } });
  api.addPod('elsewhere', 'seccomp-auditor-zzz', { node: 'node-z', port: 1, labels: DAEMON_LABELS });
  api.secrets.set(`${NS}/seccomp-auditor-token`, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'seccomp-auditor-token', namespace: NS, resourceVersion: '1' }, type: 'Opaque', data: { token: Buffer.from(TOKEN).toString('base64') } });
  api.configMaps.set(`${NS}/seccomp-auditor-profiles`, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'seccomp-auditor-profiles', namespace: NS, resourceVersion: api.nextResourceVersion() }, data: {} });
  const server = await api.start();
  const ca = Buffer.from(api.tls.cert).toString('base64');
  writeFileSync(kubeconfig, [
    'apiVersion: v1', 'kind: Config', 'current-context: alice',
    'clusters:', '- name: fake', '  cluster:', `    server: ${server}`, `    certificate-authority-data: ${ca}`,
    'contexts:',
    ...['alice', 'bob', 'carol', 'dave'].flatMap((u) => [`- name: ${u}`, '  context:', '    cluster: fake', `    user: ${u}`, '    namespace: shop']),
    'users:', ...['alice', 'bob', 'carol', 'dave'].flatMap((u) => [`- name: ${u}`, '  user:', `    token: ${u}-token`]),
    '',
  ].join('\n'));
  // what `npm install` does with package.json's "bin": a link on PATH to the built file, made executable
  const bin = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string> }).bin;
  t.equal(bin['kubectl-seccomp_auditor'], 'dist/kubectl-plugin.js', 'package.json installs the plugin under the name kubectl looks for');
  builtCli();
  mkdirSync(pluginDir);
  chmodSync(join(REPO_ROOT, bin['kubectl-seccomp_auditor']!), 0o755);
  symlinkSync(join(REPO_ROOT, bin['kubectl-seccomp_auditor']!), join(pluginDir, 'kubectl-seccomp_auditor'));
  hostile = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ profile: { defaultAction: 'SCMP_ACT_ALLOW', syscalls: [] }, explain: {} }));
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
});
t.teardown(async () => {
  await Promise.all(Object.values(nodes).map((n) => n.stop()));
  await api.stop();
  hostile?.close();
});

/**
 * kubectl itself, finding the plugin on PATH, with no other kubeconfig in reach. Asynchronous: the
 * fake API server answers from this process, which spawnSync would block.
 */
async function kubectl(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn('kubectl', args, { env: { PATH: `${pluginDir}:${process.env['PATH']}`, HOME: work, KUBECONFIG: kubeconfig } });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => out.push(c));
  child.stderr.on('data', (c: Buffer) => err.push(c));
  const [code] = await Promise.race([
    once(child, 'close') as Promise<[number | null]>,
    once(child, 'error').then(([e]) => { throw new Error(`kubectl did not run (${(e as Error).message}); these tests need kubectl on PATH`); }),
  ]);
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}
const cluster = (user: string, ...args: string[]) => runCli(['profile', '--cluster', '--kubeconfig', kubeconfig, '--context', user, '--namespace', 'shop', ...args]);
const names = (out: string): string[] => (JSON.parse(out) as { syscalls: Array<{ names: string[] }> }).syscalls.flatMap((s) => s.names).sort();

t.test('kubectl finds the plugin and runs its help', async (t) => {
  const list = await kubectl(['plugin', 'list']);
  t.match(list.stdout, join(pluginDir, 'kubectl-seccomp_auditor'), `kubectl plugin list names it: ${list.stdout}${list.stderr}`);
  const help = await kubectl(['seccomp-auditor', '--help']);
  t.equal(help.code, 0, help.stderr);
  t.match(help.stdout, /Usage: kubectl seccomp-auditor profile \[TYPE\/\]NAME/);
  t.match(help.stdout, /-n, --namespace NS/);
});

t.test('kubectl seccomp-auditor profile -n shop deploy/web: the merge of the nodes web ran on', async (t) => {
  const out = await kubectl(['seccomp-auditor', 'profile', '-n', 'shop', 'deploy/web', '--baseline', 'none']);
  t.equal(out.code, 0, out.stderr);
  t.same(names(out.stdout), ['close', 'openat', 'read', 'write'], 'read and write from node a, openat and close from node b; execve was refused');
  t.match(out.stderr, /asked 3 daemons in seccomp-auditor: merging node node-a \(pod seccomp-auditor\/seccomp-auditor-aaax1\), node node-b \(pod seccomp-auditor\/seccomp-auditor-bbbx1\); not seen on node node-c/);

  // what the daemons hold, asked directly with their token
  const held = await Promise.all([nodes.a, nodes.b].map(async (n) => {
    const r = await fetch(`${n.url}/api/v1/namespaces/shop/workloads/web/profile?baseline=none`, { headers: { authorization: `Bearer ${TOKEN}` } });
    t.equal(r.status, 200, `${n.node} holds web`);
    return names(await r.text());
  }));
  t.same(held, [['read', 'write'], ['close', 'openat']]);
  t.same(names(out.stdout), held.flat().sort(), 'the union of what the daemons hold');

  // the same daemons merged by --from give the same profile, byte for byte, in every format
  for (const extra of [[], ['--format', 'spo'], ['--container', 'nginx', '--default-action', 'log']]) {
    const viaKubectl = await kubectl(['seccomp-auditor', 'profile', '-n', 'shop', 'deploy/web', ...extra]);
    const viaFrom = await runCli(['profile', '--from', nodes.a.url, '--from', nodes.b.url, '--from', nodes.c.url, '--allow-missing', '--token-file', tokenFile, '--namespace', 'shop', '--workload', 'web', ...extra]);
    t.equal(viaKubectl.code, 0, viaKubectl.stderr);
    t.equal(viaKubectl.stdout, viaFrom.stdout, `same as --from ${extra.join(' ')}`);
  }
  // the token went through the proxy in its own header; the API server's credentials did not
  t.equal(api.lastProxiedHeaders?.['authorization'], undefined);
  t.equal(api.lastProxiedHeaders?.['x-seccomp-auditor-token'], TOKEN);
  t.notOk(api.requests.some((r) => r.path.includes('grafana-0') || r.path.includes('/namespaces/elsewhere')), 'only the daemon pods of the daemon namespace are asked');
});

t.test('kubectl flags: the context\'s namespace by default, pod/NAME, -c, --context', async (t) => {
  // alice's context says namespace shop
  const byContext = await kubectl(['seccomp-auditor', 'profile', 'pod/web-7d9f8b6c4-bz5wq', '-c', 'nginx', '--baseline', 'none', '--context', 'alice']);
  t.equal(byContext.code, 0, byContext.stderr);
  t.same(names(byContext.stdout), ['close', 'openat'], 'one pod: node b only');
  const wrongType = await kubectl(['seccomp-auditor', 'profile', '-n', 'shop', 'svc/web']);
  t.equal(wrongType.code, 2);
  t.match(wrongType.stderr, /'svc' is not a pod or a workload/);
  const nothing = await cluster('alice', '--pod', 'nobody');
  t.equal(nothing.code, 1);
  t.match(nothing.stderr, /no daemon in the cluster has observations for pod shop\/nobody/);
});

t.test('403: the error names the missing RBAC and the Role that grants it', async (t) => {
  const bob = await cluster('bob', '--workload', 'web');
  t.equal(bob.code, 1);
  for (const node of ['node-a', 'node-b', 'node-c']) t.match(bob.stderr, `node ${node}`, `names ${node}`);
  t.match(bob.stderr, /refused the pod proxy \(403: pods "seccomp-auditor-aaax1" is forbidden: User "bob" cannot get resource "pods\/proxy"/);
  t.match(bob.stderr, /you need get on pods\/proxy in namespace seccomp-auditor: bind the Role seccomp-auditor-profile-reader \(deploy\/kubernetes\/components\/profile-export-rbac\)/);
  t.equal(bob.stdout, '');
  const dave = await cluster('dave', '--workload', 'web');
  t.equal(dave.code, 1);
  t.match(dave.stderr, /refused to list pods in namespace seccomp-auditor \(403: pods is forbidden: User "dave" cannot list resource "pods"/);
  t.match(dave.stderr, /seccomp-auditor-profile-reader/);
  // the token from a file instead of the Secret: bob still cannot proxy
  const withFile = await cluster('bob', '--workload', 'web', '--token-file', tokenFile);
  t.match(withFile.stderr, /pods\/proxy/);
});

t.test('404: a daemon pod that went away between the list and the proxy', async (t) => {
  const key = `${NS}/seccomp-auditor-bbbx1`;
  const saved = api.pods.get(key)!;
  t.teardown(() => { api.pods.set(key, saved); api.afterList = null; });
  api.afterList = () => { api.pods.delete(key); api.afterList = null; };
  const gone = await cluster('alice', '--workload', 'web', '--baseline', 'none');
  t.equal(gone.code, 1);
  t.match(gone.stderr, /node node-b \(pod seccomp-auditor\/seccomp-auditor-bbbx1\) went away \(404 from the API server: pods "seccomp-auditor-bbbx1" not found\).*run the command again/);
  t.match(gone.stderr, /--allow-missing merges the nodes that answered/);

  api.pods.set(key, saved);
  api.afterList = () => { api.pods.delete(key); api.afterList = null; };
  const skipped = await cluster('alice', '--workload', 'web', '--baseline', 'none', '--allow-missing');
  t.equal(skipped.code, 0, skipped.stderr);
  t.same(names(skipped.stdout), ['read', 'write'], 'node a only');
  t.match(skipped.stderr, /warning: skipped node node-b .* went away/);
  t.match(skipped.stderr, /merging node node-a \(pod seccomp-auditor\/seccomp-auditor-aaax1\);/);
});

t.test('a slow node: the per-node timeout reports it, the others still answer', async (t) => {
  nodes.a.pause();
  t.teardown(() => nodes.a.resume());
  const started = Date.now();
  const slow = await cluster('alice', '--workload', 'web', '--baseline', 'none', '--node-timeout', '1.5');
  t.ok(Date.now() - started < 8_000, `gave up on the node after its timeout (${Date.now() - started} ms)`);
  t.equal(slow.code, 1);
  t.match(slow.stderr, /node node-a \(pod seccomp-auditor\/seccomp-auditor-aaax1\) gave no answer within 1\.5 s .*raise --node-timeout, or --allow-missing merges the others/);
  const skipped = await cluster('alice', '--workload', 'web', '--baseline', 'none', '--node-timeout', '1.5', '--allow-missing');
  t.equal(skipped.code, 0, skipped.stderr);
  t.same(names(skipped.stdout), ['close', 'openat'], 'node b alone');
  t.match(skipped.stderr, /merging node node-b .*; not seen on node node-c/);
});

t.test('an answer through the proxy is checked as untrusted input, as --from answers are', async (t) => {
  api.addPod(NS, 'seccomp-auditor-evil', { node: 'node-e', port: (hostile.address() as AddressInfo).port, labels: DAEMON_LABELS });
  t.teardown(() => api.pods.delete(`${NS}/seccomp-auditor-evil`));
  const r = await cluster('alice', '--workload', 'web', '--allow-missing');
  t.equal(r.code, 1, 'never merged, --allow-missing or not');
  t.match(r.stderr, /node node-e \(pod seccomp-auditor\/seccomp-auditor-evil\) answered a profile that does not hold up/);
  t.equal(r.stdout, '');
});

t.test('--apply: the ConfigMap is written, and a daemon syncing from it installs the profile', async (t) => {
  const printed = await kubectl(['seccomp-auditor', 'profile', '-n', 'shop', 'deploy/web']);
  t.equal(printed.code, 0, printed.stderr);
  const applied = await kubectl(['seccomp-auditor', 'profile', '-n', 'shop', 'deploy/web', '--apply']);
  t.equal(applied.code, 0, applied.stderr);
  t.match(applied.stdout, /^written: web\.json in ConfigMap seccomp-auditor\/seccomp-auditor-profiles \(resourceVersion \d+\); pods use it as localhostProfile: seccomp-auditor\/web\.json\n$/);
  const cm = api.configMaps.get(`${NS}/seccomp-auditor-profiles`)!;
  t.equal(cm['data']['web.json'], printed.stdout, 'the ConfigMap holds the profile the command prints');
  const again = await kubectl(['seccomp-auditor', 'profile', '-n', 'shop', 'deploy/web', '--apply']);
  t.match(again.stdout, /^unchanged: web\.json/);

  // the kubelet writes the ConfigMap into the volume; the daemon installs it for the kubelet
  writeConfigMapVolume(syncDir, cm['data'] as Record<string, string>);
  const installed = join(nodes.a.seccompDir, 'seccomp-auditor', 'web.json');
  const deadline = Date.now() + 40_000;
  while (Date.now() < deadline && !(existsSync(installed) && readFileSync(installed, 'utf8') === printed.stdout)) await sleep(100);
  t.equal(existsSync(installed) ? readFileSync(installed, 'utf8') : 'not installed', printed.stdout, `${installed} holds the merged profile`);

  const carol = await cluster('carol', '--workload', 'web', '--apply');
  t.equal(carol.code, 1);
  t.match(carol.stderr, /refused to get ConfigMap seccomp-auditor\/seccomp-auditor-profiles \(403: configmaps "seccomp-auditor-profiles" is forbidden: User "carol" cannot get resource "configmaps".*bind the Role seccomp-auditor-profile-writer/);
  const spo = await cluster('alice', '--workload', 'web', '--apply', '--format', 'spo');
  t.equal(spo.code, 2);
  t.match(spo.stderr, /--apply writes an OCI profile/);
});

t.test('--apply over a concurrent edit: the 409 Conflict is read again and both edits are kept', async (t) => {
  const key = `${NS}/seccomp-auditor-profiles`;
  api.afterGet = (k) => {
    if (k !== key) return;
    api.afterGet = null;
    // someone edits the ConfigMap between our get and our update
    const cm = api.configMaps.get(key)!;
    api.configMaps.set(key, { ...cm, metadata: { ...cm.metadata, resourceVersion: api.nextResourceVersion() }, data: { ...cm['data'], 'other.json': '{"defaultAction":"SCMP_ACT_LOG"}' } });
  };
  t.teardown(() => { api.afterGet = null; });
  const before = api.requests.length;
  const r = await cluster('alice', '--workload', 'web', '--apply', '--name', 'web-v2');
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^written: web-v2\.json/);
  const puts = api.requests.slice(before).filter((q) => q.method === 'PUT').map((q) => q.status);
  t.same(puts, [409, 200], 'the stale update was refused, the second one went through');
  const data = api.configMaps.get(key)!['data'] as Record<string, string>;
  t.ok('other.json' in data && 'web-v2.json' in data && 'web.json' in data, `both edits kept: ${Object.keys(data).join(', ')}`);
});
