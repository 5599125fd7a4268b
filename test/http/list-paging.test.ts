import t, { type Test } from 'tap';
import { join } from 'node:path';
import { buildApp } from '../../src/http/app.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { batch, containerKey, syscall, workload } from '../store/batches.js';

interface PodItem { namespace: string; pod: string; podUid: string | null; containers: { name: string; containerId: string; violations: number; lastNewSyscallAt: string | null; recordsSinceNewSyscall: number }[] }
interface Page<T> { items: T[]; continue?: string }

function open(t: Test, name: string, caps?: { maxUnattributedKeys: number }): SyscallStore {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-paging-'), name), ...(caps ? { caps } : {}) });
  t.teardown(() => store.close());
  return store;
}

async function serve(t: Test, store: SyscallStore): Promise<string> {
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store });
  t.teardown(() => app.close());
  return app.listen({ host: '127.0.0.1', port: 0 });
}

async function get<T>(url: string): Promise<T> {
  const r = await fetch(url);
  if (r.status !== 200) throw new Error(`${url}: ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** A pod of one container, as the commit stores it. */
function pod(n: number, namespace: string, name: string, uid: string) {
  const key = containerKey(n);
  return batch({
    workloads: [workload(key, { namespace, pod: name, container: 'app', podUid: uid })],
    syscalls: [syscall(key, n % 300, { count: 1 + (n % 5) })],
  });
}

t.test('full pagination is exact while another connection inserts and deletes pods', async (t) => {
  const store = open(t, 'churn.db');
  const writer = SyscallStore.open({ path: store.path });
  t.teardown(() => writer.close());
  const stable = new Set<string>();
  for (let i = 0; i < 300; i++) {
    const ns = `ns-${i % 4}`, name = `web-${(i * 7919 % 1000).toString().padStart(3, '0')}`;
    writer.commitBatch(pod(i + 1, ns, name, `uid-${i}`));
    stable.add(`${ns}/${name}/uid-${i}`);
  }
  const base = await serve(t, store);
  let seed = 1;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  let next = 10_000;
  const churn: { ns: string; name: string }[] = [];
  const seen = new Map<string, number>();
  let url = `${base}/api/v1/pods?limit=7`;
  let pages = 0;
  let deleted = 0;
  for (;;) {
    const page = await get<Page<PodItem>>(url);
    pages++;
    for (const p of page.items) {
      const id = `${p.namespace}/${p.pod}/${p.podUid}`;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    if (page.continue === undefined) break;
    // between pages: pods appear before and after the cursor, others go (as a DELETE or a prune would)
    for (let k = 0; k < 4; k++) {
      // named between the stable pods (web-123 < web-123-c < web-124), so they land before and after the cursor
      const ns = `ns-${rand(4)}`, name = `web-${rand(1000).toString().padStart(3, '0')}-c`;
      writer.commitBatch(pod(next, ns, name, `churn-${next++}`));
      churn.push({ ns, name });
    }
    for (let k = 0; k < 2 && churn.length > 0; k++) {
      const gone = churn.splice(rand(churn.length), 1)[0]!;
      deleted += writer.deletePod(gone.ns, gone.name);
    }
    url = `${base}/api/v1/pods?limit=7&continue=${page.continue}`;
  }
  const missing = [...stable].filter((id) => seen.get(id) !== 1);
  t.same(missing, [], 'every pod present throughout came exactly once');
  t.same([...seen].filter(([, n]) => n > 1), [], 'nothing came twice');
  t.ok(pages >= 300 / 7, `${pages} pages`);
  t.ok(deleted > 50, `${deleted} pods deleted meanwhile`);
  t.ok([...seen.keys()].some((id) => id.includes('/churn-')), 'pods inserted after the cursor were seen too');
});

t.test('full pagination is exact when the pages\' own pods are deleted between pages', async (t) => {
  const store = open(t, 'delete.db');
  for (let i = 0; i < 60; i++) store.commitBatch(pod(i + 1, 'shop', `p-${i.toString().padStart(2, '0')}`, `u-${i}`));
  const base = await serve(t, store);
  const seen: string[] = [];
  let url = `${base}/api/v1/pods?limit=5`;
  for (let deleted = 0; ; deleted++) {
    const page = await get<Page<PodItem>>(url);
    seen.push(...page.items.map((p) => p.pod));
    if (page.continue === undefined) break;
    // the pages' own items go: an offset would skip as many survivors
    store.deletePod('shop', page.items[0]!.pod);
    store.deletePod('shop', page.items[1]!.pod);
    url = `${base}/api/v1/pods?limit=5&continue=${page.continue}`;
  }
  t.same(seen, Array.from({ length: 60 }, (_, i) => `p-${i.toString().padStart(2, '0')}`), 'each once, none skipped');
});

t.test('a pod recreated under its name (a StatefulSet\'s) is one item per incarnation, each with its own containers', async (t) => {
  const store = open(t, 'sts.db');
  store.commitBatch(pod(1, 'db', 'db-0', 'uid-old'));
  store.commitBatch(pod(2, 'db', 'db-0', 'uid-new'));
  store.commitBatch(pod(3, 'db', 'db-1', 'uid-x'));
  const base = await serve(t, store);
  const all = await get<Page<PodItem>>(`${base}/api/v1/pods?namespace=db`);
  t.same(all.items.map((p) => [p.pod, p.podUid, p.containers.map((c) => c.containerId.slice(-1))]), [
    ['db-0', 'uid-new', ['2']], ['db-0', 'uid-old', ['1']], ['db-1', 'uid-x', ['3']],
  ]);
  const first = await get<Page<PodItem>>(`${base}/api/v1/pods?namespace=db&limit=1`);
  const second = await get<Page<PodItem>>(`${base}/api/v1/pods?namespace=db&limit=1&continue=${first.continue}`);
  t.same([first.items[0]?.podUid, second.items[0]?.podUid], ['uid-new', 'uid-old'], 'the page boundary falls between incarnations');
  t.match(all.items[0]!.containers[0], { violations: 0, recordsSinceNewSyscall: 0, lastNewSyscallAt: '1970-01-01T00:00:01.000Z' });
  const other = await fetch(`${base}/api/v1/pods?namespace=shop&continue=${first.continue}`);
  t.equal(other.status, 400, 'a token of another namespace');
  t.match(await other.json(), { code: 'SA_BAD_REQUEST', message: /pass the same \?namespace= on every page/ });
  const forged = await fetch(`${base}/api/v1/pods?continue=${Buffer.from('["violations",[1,2,3,"x"]]').toString('base64url')}`);
  t.equal(forged.status, 400, 'a token of another list');
  t.match(await forged.json(), { code: 'SA_BAD_REQUEST', message: /continue: not a token of pods from this server; pass the continue of the previous page unchanged/ });
});

t.test('violations and unattributed come in pages; what the unattributed cap kept out is counted beside them', async (t) => {
  const store = open(t, 'node.db', { maxUnattributedKeys: 3 });
  const a = containerKey(1), b = containerKey(2);
  store.commitBatch(batch({
    workloads: [workload(a, { namespace: 'x', pod: 'a', container: 'c' }), workload(b, { namespace: 'x', pod: 'b', container: 'c' })],
    syscalls: [
      syscall(a, 0, { count: 100 }), syscall(a, 59, { action: 'errno' }), syscall(a, 101, { action: 'kill_process' }),
      syscall(b, 1, { count: 50 }), syscall(b, 59, { action: 'errno' }), syscall(b, 165, { action: 'errno', count: 4 }), syscall(b, 166, { action: 'trap' }),
    ],
    unattributed: ['a', 'b', 'c', 'd', 'e'].map((comm) => ({ comm, exe: null, reason: 'exited', count: 2, firstSeen: 1, lastSeen: 1 })),
  }));
  const base = await serve(t, store);
  const rows: string[] = [];
  let url = `${base}/api/v1/violations?limit=2`;
  let pages = 0;
  for (;;) {
    const page = await get<Page<{ pod: string; syscall: string; action: string }>>(url);
    pages++;
    rows.push(...page.items.map((r) => `${r.pod}/${r.syscall}/${r.action}`));
    if (page.continue === undefined) break;
    url = `${base}/api/v1/violations?limit=2&continue=${page.continue}`;
  }
  t.same(rows, ['a/execve/errno', 'a/ptrace/kill_process', 'b/execve/errno', 'b/mount/errno', 'b/umount2/trap']);
  t.equal(pages, 3);
  const u1 = await get<Page<{ comm: string }> & { overflow?: Record<string, number> }>(`${base}/api/v1/unattributed?limit=2`);
  const u2 = await get<Page<{ comm: string }> & { overflow?: Record<string, number> }>(`${base}/api/v1/unattributed?limit=2&continue=${u1.continue}`);
  t.same([...u1.items, ...u2.items].map((u) => u.comm), ['a', 'b', 'c']);
  t.equal(u2.continue, undefined);
  t.same(u1.overflow, { exited: 4 }, 'd and e: over the cap, counted');
  const status = await get<{ overflow: unknown }>(`${base}/api/v1/status`);
  t.same(status.overflow, { executables: 0, unattributed: { exited: 4 } });
  t.equal((await fetch(`${base}/api/v1/violations?continue=!!`)).status, 400);
});

t.test('a list without ?limit= answers 100 items and a continue: the default page stays small (bench/api-bench.ts: 500 a page missed the 50 ms p99 on a 30-day node)', async (t) => {
  const store = open(t, 'default-limit.db');
  for (let i = 0; i < 101; i++) store.commitBatch(pod(i + 1, 'ns', `web-${i.toString().padStart(3, '0')}`, `uid-${i}`));
  const base = await serve(t, store);
  const first = await get<Page<PodItem>>(`${base}/api/v1/pods`);
  t.equal(first.items.length, 100, 'the first page holds the default 100');
  t.type(first.continue, 'string', 'and says there is more');
  const rest = await get<Page<PodItem>>(`${base}/api/v1/pods?continue=${first.continue}`);
  t.same(rest.items.map((p) => p.pod), ['web-100'], 'the next page the one left');
  t.notOk('continue' in rest, 'and is the last');
});
