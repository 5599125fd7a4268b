import t, { type Test } from 'tap';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { KubeletLogIndex } from '../../src/attribute/kubelet-log-index.js';
import { parseContainerLogName, parsePodDirName, podDirOfLogTarget } from '../../src/attribute/kubelet-log-names.js';
import { REPO_ROOT } from '../helpers/paths.js';

const ID1 = 'a1'.repeat(32);
const ID2 = 'b2'.repeat(32);
const ID3 = 'c3'.repeat(32);
const UID1 = 'aaaaaaaa-1111-2222-3333-bbbbbbbbbbbb';
const UID2 = 'cccccccc-4444-5555-6666-dddddddddddd';

function tempRoot(t: Test): string {
  const root = mkdtempSync(join(tmpdir(), 'sa-kubelet-logs-'));
  t.teardown(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

interface Container {
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  id: string;
  restart?: number;
  /** what the symlink points at; default the file the kubelet writes under <root>/pods */
  target?: string;
}

/** What the kubelet does when a container starts: its log directory and file, then the symlink. */
function startContainer(root: string, c: Container): string {
  const dir = join(root, 'pods', `${c.namespace}_${c.pod}_${c.uid}`, c.container);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${c.restart ?? 0}.log`);
  writeFileSync(file, '');
  mkdirSync(join(root, 'containers'), { recursive: true });
  const link = join(root, 'containers', `${c.pod}_${c.namespace}_${c.container}-${c.id}.log`);
  symlinkSync(c.target ?? file, link);
  return link;
}

async function waitFor<T>(fn: () => T | null, ms: number): Promise<{ value: T | null; elapsed: number }> {
  const start = Date.now();
  for (;;) {
    const value = fn();
    if (value !== null || Date.now() - start > ms) return { value, elapsed: Date.now() - start };
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('names are split exactly', async (t) => {
  t.same(parseContainerLogName(`web-7d4b9c-x2x9z_default_nginx-${ID1}.log`), { pod: 'web-7d4b9c-x2x9z', namespace: 'default', container: 'nginx', containerId: ID1 });
  t.same(parseContainerLogName(`etcd-node1.example.com_kube-system_etcd-${ID1}.log`), { pod: 'etcd-node1.example.com', namespace: 'kube-system', container: 'etcd', containerId: ID1 },
    'pod names may contain dots');
  t.same(parseContainerLogName(`p_ns_side-car-abc-${ID1}.log`), { pod: 'p', namespace: 'ns', container: 'side-car-abc', containerId: ID1 },
    'the id is the last 64 hex digits, the container name may end in hex-looking parts');
  t.same(parseContainerLogName(`p_ns_c-1-${ID2}.log`)?.container, 'c-1');
  t.same(parsePodDirName(`kube-system_etcd-node1.example.com_${UID1}`), { namespace: 'kube-system', pod: 'etcd-node1.example.com', podUid: UID1 });
  t.same(parsePodDirName('kube-system_kube-apiserver-node1_0123456789abcdef0123456789abcdef'),
    { namespace: 'kube-system', pod: 'kube-apiserver-node1', podUid: '0123456789abcdef0123456789abcdef' }, 'static pod uid');
  t.same(podDirOfLogTarget(`/var/log/pods/default_web_${UID1}/nginx/3.log`), { namespace: 'default', pod: 'web', podUid: UID1 });
  t.equal(podDirOfLogTarget(`/var/log/pods/default_web_${UID1}/nginx/3.log.20240101-000000`), null, 'rotated file');

  const bad = [
    `Web_default_nginx-${ID1}.log`, // upper case
    `web_default_my_container-${ID1}.log`, // '_' in the container name
    `web_default_nginx-${ID1.slice(1)}.log`, // 63 hex
    `web_default_nginx-${ID1}`, // no .log
    `web_default_nginx-${ID1}.log.tmp`,
    `web_default.ns_nginx-${ID1}.log`, // '.' in a namespace
    `web_default_nginx.v2-${ID1}.log`, // '.' in a container name
    `-web_default_nginx-${ID1}.log`, // leading '-'
    `web-_default_nginx-${ID1}.log`, // trailing '-'
    `web_default_-${ID1}.log`, // empty container name
    `web_default_nginx-${ID1.toUpperCase()}.log`,
    `${'p'.repeat(254)}_default_nginx-${ID1}.log`, // pod name too long
    `web_${'n'.repeat(64)}_nginx-${ID1}.log`, // namespace too long
    // the kubelet cuts file names at 255 bytes, which cuts the id: not resolvable, so not parsed
    `${'p'.repeat(180)}_default_nginx-${ID1}`.slice(0, 251) + '.log',
    'README',
    '',
  ];
  for (const name of bad) t.equal(parseContainerLogName(name), null, `rejects ${JSON.stringify(name.slice(0, 60))}`);
  for (const name of ['default_web', `default_web_${UID1.toUpperCase()}`, `default_web_${UID1}x`, `Default_web_${UID1}`, `default_web_x_${UID1}`]) {
    t.equal(parsePodDirName(name), null, `rejects pod dir ${name}`);
  }
});

t.test('scan and lookups', async (t) => {
  const root = tempRoot(t);
  startContainer(root, { namespace: 'default', pod: 'web-1', uid: UID1, container: 'nginx', id: ID1 });
  startContainer(root, { namespace: 'default', pod: 'web-1', uid: UID1, container: 'sidecar', id: ID2, restart: 2 });
  // a host mount: the target still names the node's /var/log, and only its names are used
  startContainer(root, { namespace: 'kube-system', pod: 'etcd-node1.example.com', uid: UID2, container: 'etcd', id: ID3,
    target: `/var/log/pods/kube-system_etcd-node1.example.com_${UID2}/etcd/0.log` });
  writeFileSync(join(root, 'containers', 'not-a-kubelet-file.log'), '');
  mkdirSync(join(root, 'pods', 'stray-directory'));
  const index = new KubeletLogIndex({ logRoot: root });
  t.equal(index.lookup(ID1), null, 'nothing before the first scan');
  index.scan();
  t.equal(index.size, 3);
  t.same(index.lookup(ID1), { namespace: 'default', pod: 'web-1', podUid: UID1, container: 'nginx' });
  t.same(index.lookup(ID2), { namespace: 'default', pod: 'web-1', podUid: UID1, container: 'sidecar' });
  t.same(index.lookup(ID3), { namespace: 'kube-system', pod: 'etcd-node1.example.com', podUid: UID2, container: 'etcd' });
  t.equal(index.lookup('f'.repeat(64)), null);
});

t.test('removed files leave the index; a recreated pod is told apart by its symlink target', async (t) => {
  const root = tempRoot(t);
  const link = startContainer(root, { namespace: 'default', pod: 'db-0', uid: UID1, container: 'pg', id: ID1 });
  // the StatefulSet pod comes back with the same name and a new uid while the old directory remains
  startContainer(root, { namespace: 'default', pod: 'db-0', uid: UID2, container: 'pg', id: ID2 });
  const index = new KubeletLogIndex({ logRoot: root });
  index.scan();
  t.equal(index.lookup(ID1)?.podUid, UID1);
  t.equal(index.lookup(ID2)?.podUid, UID2);
  unlinkSync(link);
  rmSync(join(root, 'pods', `default_db-0_${UID1}`), { recursive: true });
  index.scan();
  t.equal(index.lookup(ID1), null);
  t.equal(index.lookup(ID2)?.podUid, UID2);
});

t.test('a log entry that is not a symlink takes its uid from pods/ when that is unambiguous', async (t) => {
  const root = tempRoot(t);
  mkdirSync(join(root, 'containers'), { recursive: true });
  writeFileSync(join(root, 'containers', `api_prod_app-${ID1}.log`), '');
  mkdirSync(join(root, 'pods', `prod_api_${UID1}`), { recursive: true });
  mkdirSync(join(root, 'pods', `prod_api_${UID2}`), { recursive: true });
  const index = new KubeletLogIndex({ logRoot: root });
  index.scan();
  t.equal(index.lookup(ID1), null, 'two pods of that name: no guess');
  rmSync(join(root, 'pods', `prod_api_${UID2}`), { recursive: true });
  index.scan();
  t.same(index.lookup(ID1), { namespace: 'prod', pod: 'api', podUid: UID1, container: 'app' }, 'resolved once unambiguous');
});

t.test('a missing log root is an empty index', async (t) => {
  const index = new KubeletLogIndex({ logRoot: join(tempRoot(t), 'nothing-here') });
  index.scan();
  t.equal(index.size, 0);
  t.equal(index.lookup(ID1), null);
  t.equal(index.lookupOrRescan(ID1), null);
  index.watch();
  index.close();
  t.equal(new KubeletLogIndex().logRoot, '/var/log');
});

t.test('lookupOrRescan finds a container the index has not seen, rescanning at most once per interval', async (t) => {
  const root = tempRoot(t);
  startContainer(root, { namespace: 'default', pod: 'a', uid: UID1, container: 'c', id: ID1 });
  const index = new KubeletLogIndex({ logRoot: root, missRescanMs: 200 });
  index.scan();
  startContainer(root, { namespace: 'default', pod: 'b', uid: UID2, container: 'c', id: ID2 });
  const scans = index.scans;
  t.equal(index.lookupOrRescan(ID2), null, 'the last scan is too recent');
  t.equal(index.lookupOrRescan(ID3), null);
  t.equal(index.scans, scans, 'misses within the interval do not read the directories');
  await new Promise((r) => setTimeout(r, 250));
  t.same(index.lookupOrRescan(ID2), { namespace: 'default', pod: 'b', podUid: UID2, container: 'c' });
  t.equal(index.scans, scans + 1);
  t.equal(index.lookupOrRescan(ID3), null);
  t.equal(index.scans, scans + 1, 'the miss right after did not rescan');
  t.equal(index.lookupOrRescan(ID1)?.pod, 'a', 'hits never rescan');
  t.equal(index.scans, scans + 1);
});

t.test('while watching, a new container resolves within a second', async (t) => {
  const root = tempRoot(t);
  startContainer(root, { namespace: 'default', pod: 'a', uid: UID1, container: 'c', id: ID1 });
  const index = new KubeletLogIndex({ logRoot: root, pollMs: 60_000 });
  t.teardown(() => index.close());
  index.watch();
  t.equal(index.lookup(ID1)?.pod, 'a', 'watch() scans at once');
  startContainer(root, { namespace: 'team-x', pod: 'worker-5f7', uid: UID2, container: 'job', id: ID2 });
  const got = await waitFor(() => index.lookup(ID2), 1000);
  t.same(got.value, { namespace: 'team-x', pod: 'worker-5f7', podUid: UID2, container: 'job' }, `resolved after ${got.elapsed} ms`);
  unlinkSync(join(root, 'containers', `a_default_c-${ID1}.log`));
  const gone = await waitFor(() => (index.lookup(ID1) === null ? true : null), 1000);
  t.equal(gone.value, true, `removal seen after ${gone.elapsed} ms`);
});

t.test('watching a root whose directories do not exist yet falls back to polling, then watches', async (t) => {
  const root = tempRoot(t);
  const index = new KubeletLogIndex({ logRoot: root, pollMs: 100 });
  t.teardown(() => index.close());
  index.watch();
  startContainer(root, { namespace: 'default', pod: 'late', uid: UID1, container: 'c', id: ID1 });
  const first = await waitFor(() => index.lookup(ID1), 1000);
  t.equal(first.value?.pod, 'late', `found by polling after ${first.elapsed} ms`);
  // the poll set up the watchers: from now on events (not the 100 ms poll) find containers
  const scans = index.scans;
  await new Promise((r) => setTimeout(r, 350));
  t.ok(index.scans - scans <= 1, `polling stopped once both directories are watched (${index.scans - scans} scans in 350 ms)`);
  startContainer(root, { namespace: 'default', pod: 'later', uid: UID2, container: 'c', id: ID2 });
  const second = await waitFor(() => index.lookup(ID2), 1000);
  t.equal(second.value?.pod, 'later', `found after ${second.elapsed} ms`);
});

t.test('a watched directory that is removed and made again is watched again', async (t) => {
  const root = tempRoot(t);
  startContainer(root, { namespace: 'default', pod: 'a', uid: UID1, container: 'c', id: ID1 });
  const index = new KubeletLogIndex({ logRoot: root, pollMs: 100 });
  t.teardown(() => index.close());
  index.watch();
  rmSync(join(root, 'containers'), { recursive: true });
  const gone = await waitFor(() => (index.lookup(ID1) === null ? true : null), 1000);
  t.equal(gone.value, true, `entries of the removed directory dropped after ${gone.elapsed} ms`);
  startContainer(root, { namespace: 'default', pod: 'b', uid: UID2, container: 'c', id: ID2 });
  const back = await waitFor(() => index.lookup(ID2), 1000);
  t.equal(back.value?.pod, 'b', `found in the new directory after ${back.elapsed} ms`);
  startContainer(root, { namespace: 'default', pod: 'c', uid: UID1, container: 'c', id: ID3 });
  const third = await waitFor(() => index.lookup(ID3), 1000);
  t.equal(third.value?.pod, 'c', `and the next one after ${third.elapsed} ms`);
});

t.test('a directory replaced between two scans is watched again', async (t) => {
  const root = tempRoot(t);
  const index = new KubeletLogIndex({ logRoot: root, pollMs: 60_000, missRescanMs: 1 });
  t.teardown(() => index.close());
  startContainer(root, { namespace: 'default', pod: 'a', uid: UID1, container: 'c', id: ID1 });
  index.watch();
  // replaced at once: the watcher's coalesced scan finds a containers/ directory, the new one
  rmSync(join(root, 'containers'), { recursive: true });
  mkdirSync(join(root, 'containers'));
  await new Promise((r) => setTimeout(r, 200));
  // a miss rescans, which notices the new inode and watches it
  t.equal(index.lookupOrRescan(ID2), null);
  // only containers/ changes now (an event in pods/ would rescan everything anyway)
  const target = join(root, 'pods', `default_a_${UID1}`, 'c', '0.log');
  symlinkSync(target, join(root, 'containers', `a_default_c-${ID2}.log`));
  const got = await waitFor(() => index.lookup(ID2), 1000);
  t.equal(got.value?.pod, 'a', `found by the new watcher after ${got.elapsed} ms`);
});

t.test('a watching index does not keep the process alive', async (t) => {
  const root = tempRoot(t);
  startContainer(root, { namespace: 'default', pod: 'a', uid: UID1, container: 'c', id: ID1 });
  const module = join(REPO_ROOT, 'src', 'attribute', 'kubelet-log-index.ts');
  const code = `import { KubeletLogIndex } from ${JSON.stringify(module)};
    const a = new KubeletLogIndex({ logRoot: ${JSON.stringify(root)} }); a.watch();
    const b = new KubeletLogIndex({ logRoot: ${JSON.stringify(join(root, 'missing'))} }); b.watch();
    console.log(a.size, b.size);`;
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 0, r.stderr);
  t.equal(r.stdout.trim(), '1 0');
  t.ok(Date.now() - started < 15_000, 'exited by itself');
});
