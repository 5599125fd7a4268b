import t from 'tap';
import { baselineSyscalls } from '../../src/profile/runtime-baseline.js';
import { join } from 'node:path';
import { buildApp } from '../../src/http/app.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { containerKey, syscall, workload } from '../store/batches.js';

// A real SQLite file filled the way the daemon fills it (commitBatch), served by the real app.
function setup() {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-api-'), 'api.db') });
  const web = containerKey(1), sidecar = containerKey(2), job = containerKey(3);
  store.commitBatch({
    workloads: [
      workload(web, { namespace: 'shop', pod: 'web-7d9f8-abcde', container: 'nginx', podUid: 'u-1', firstSeen: 1_700_000_000_000, lastSeen: 1_700_000_060_000 }),
      workload(sidecar, { namespace: 'shop', pod: 'web-7d9f8-abcde', container: 'envoy', podUid: 'u-1' }),
      workload(job, { namespace: 'batch', pod: 'report-x2k4p', container: 'worker', podUid: 'u-2' }),
      workload('unit:kubelet.service'),
    ],
    syscalls: [
      syscall(web, 0, { count: 7, firstSeen: 1_700_000_000_000, lastSeen: 1_700_000_060_000 }),
      syscall(web, 1, { count: 3 }),
      syscall(web, 59, { count: 1, action: 'errno' }),
      syscall(sidecar, 232, { count: 9 }),
      syscall(job, 60, { count: 1 }),
      syscall('unit:kubelet.service', 0, { count: 5 }),
    ],
    executables: [
      { workload: web, exe: '/usr/sbin/nginx', count: 4, firstSeen: 1_700_000_000_000, lastSeen: 1_700_000_060_000 },
      { workload: web, exe: '/bin/sh', count: 1, firstSeen: 1_700_000_010_000, lastSeen: 1_700_000_010_000 },
    ],
    unattributed: [], lost: [], positions: [],
  });
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store });
  return { app, store, web };
}

t.test('GET /api/v1/pods lists pods with their containers, filtered and paged', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const all = await app.inject('/api/v1/pods');
  t.equal(all.statusCode, 200);
  const body = all.json() as { items: { namespace: string; pod: string; containers: { name: string; syscalls: number; records: number; firstSeen: string }[] }[] };
  t.same(body.items.map((p) => `${p.namespace}/${p.pod}`), ['batch/report-x2k4p', 'shop/web-7d9f8-abcde'], 'pods only (no host units), sorted');
  const web = body.items[1]!;
  t.same(web.containers.map((c) => [c.name, c.syscalls, c.records]).sort(), [['envoy', 1, 9], ['nginx', 3, 11]]);
  t.match(web.containers.find((c) => c.name === 'nginx'), { firstSeen: '2023-11-14T22:13:20.000Z', containerId: '1'.padStart(64, '0') });
  const shop = (await app.inject('/api/v1/pods?namespace=shop')).json() as { items: unknown[] };
  t.equal(shop.items.length, 1);
  const page1 = (await app.inject('/api/v1/pods?limit=1')).json() as { items: { pod: string }[]; continue?: string };
  t.equal(page1.items.length, 1);
  t.type(page1.continue, 'string', 'an opaque token');
  const page2 = (await app.inject(`/api/v1/pods?limit=1&continue=${page1.continue}`)).json() as { items: { pod: string }[]; continue?: string };
  t.equal(page2.items[0]?.pod, 'web-7d9f8-abcde');
  t.equal(page2.continue, undefined, 'the last page says so');
});

t.test('GET .../pods/{pod}/syscalls names each syscall by its arch', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const r = await app.inject('/api/v1/namespaces/shop/pods/web-7d9f8-abcde/syscalls?container=nginx');
  t.equal(r.statusCode, 200);
  t.same(r.json(), {
    namespace: 'shop', pod: 'web-7d9f8-abcde', owner: null,
    containers: [{
      name: 'nginx', containerId: '1'.padStart(64, '0'),
      syscalls: [
        { name: 'read', arch: 'x86_64', nr: 0, action: 'log', count: 7, firstSeen: '2023-11-14T22:13:20.000Z', lastSeen: '2023-11-14T22:14:20.000Z' },
        { name: 'write', arch: 'x86_64', nr: 1, action: 'log', count: 3, firstSeen: '1970-01-01T00:00:01.000Z', lastSeen: '1970-01-01T00:00:01.000Z' },
        { name: 'execve', arch: 'x86_64', nr: 59, action: 'errno', count: 1, firstSeen: '1970-01-01T00:00:01.000Z', lastSeen: '1970-01-01T00:00:01.000Z' },
      ],
      // the newest of its calls was first seen with read's first record; nothing committed since
      lastNewSyscallAt: '2023-11-14T22:13:20.000Z', recordsSinceNewSyscall: 0,
      executables: [
        { exe: '/bin/sh', processes: 1, firstSeen: '2023-11-14T22:13:30.000Z', lastSeen: '2023-11-14T22:13:30.000Z' },
        { exe: '/usr/sbin/nginx', processes: 4, firstSeen: '2023-11-14T22:13:20.000Z', lastSeen: '2023-11-14T22:14:20.000Z' },
      ],
    }],
  });
  const both = (await app.inject('/api/v1/namespaces/shop/pods/web-7d9f8-abcde/syscalls')).json() as { containers: unknown[] };
  t.equal(both.containers.length, 2, 'without ?container, every container');
});

t.test('bad input: 400 with a JSON body, unknown things 404, no store 503', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const cases: [string, number, RegExp][] = [
    ['/api/v1/namespaces/shop/pods/nope/syscalls', 404, /SA_POD_NOT_FOUND.*no observations for pod shop\/nope/],
    ['/api/v1/namespaces/shop/pods/web-7d9f8-abcde/syscalls?container=redis', 404, /SA_NOT_FOUND.*no container redis/],
    ['/api/v1/namespaces/Shop_1/pods/web/syscalls', 400, /SA_BAD_REQUEST.*namespace/],
    [`/api/v1/namespaces/shop/pods/${'a'.repeat(300)}/syscalls`, 400, /SA_BAD_REQUEST/],
    ['/api/v1/pods?limit=0', 400, /SA_BAD_REQUEST.*limit/],
    ['/api/v1/pods?limit=99999999', 400, /SA_BAD_REQUEST/],
    ['/api/v1/pods?continue=abc', 400, /SA_BAD_REQUEST/],
    ['/api/v1/pods?bogus=1', 400, /SA_BAD_REQUEST/],
    ['/api/v1/nothing', 404, /SA_NOT_FOUND.*no route GET \/api\/v1\/nothing/],
  ];
  for (const [url, status, body] of cases) {
    const r = await app.inject(url);
    t.equal(r.statusCode, status, url.slice(0, 80));
    t.match(r.body, body, url.slice(0, 80));
    t.equal(r.headers['content-type']?.toString().startsWith('application/json'), true);
  }
  const post = await app.inject({ method: 'POST', url: '/api/v1/pods' });
  t.equal(post.statusCode, 404, 'wrong method');
  const none = buildApp({ status: { ready: () => ({ ready: false, sources: [] }) } });
  const r = await none.inject('/api/v1/pods');
  t.equal(r.statusCode, 503);
  t.match(r.json(), { code: 'SA_STORE_UNAVAILABLE' });
  await none.close();
});

t.test('the same through a real socket', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const r = await fetch(`${address}/api/v1/namespaces/batch/pods/report-x2k4p/syscalls`);
  t.equal(r.status, 200);
  t.match(await r.json(), { containers: [{ name: 'worker', syscalls: [{ name: 'exit', nr: 60 }] }] });
});

t.test('GET .../profile: the learned profile, OCI or SPO, with what it was learned from', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const r = await app.inject('/api/v1/namespaces/shop/pods/web-7d9f8-abcde/profile?container=nginx&baseline=none');
  t.equal(r.statusCode, 200);
  t.same(r.json(), {
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }],
  }, 'execve was only ever denied: not allowed');
  t.equal(r.headers['x-learned-records'], '11');
  t.equal(r.headers['x-learned-to'], '2023-11-14T22:14:20.000Z');
  const union = (await app.inject('/api/v1/namespaces/shop/pods/web-7d9f8-abcde/profile?defaultAction=log&baseline=none')).json() as { defaultAction: string; syscalls: { names: string[] }[] };
  t.equal(union.defaultAction, 'SCMP_ACT_LOG');
  t.same(union.syscalls[0]?.names, ['epoll_wait', 'read', 'write'], 'without ?container, the union of the containers');
  const explained = (await app.inject('/api/v1/namespaces/shop/pods/web-7d9f8-abcde/profile?container=nginx&explain=true&baseline=none')).json() as { explain: { notAllowed: { name: string }[] } };
  t.match(explained.explain.notAllowed, [{ name: 'execve', action: 'errno' }]);
  const spo = await app.inject('/api/v1/namespaces/shop/pods/web-7d9f8-abcde/profile?format=spo&container=nginx&baseline=none');
  t.equal(spo.headers['content-type'], 'application/yaml');
  t.match(spo.body, /kind: SeccompProfile\n[\s\S]*name: web-7d9f8-abcde-nginx\n[\s\S]*namespace: shop\n/);
  t.equal((await app.inject('/api/v1/namespaces/shop/pods/web-7d9f8-abcde/profile?format=docker')).statusCode, 400);
  t.equal((await app.inject('/api/v1/namespaces/shop/pods/nope/profile')).statusCode, 404);
  const crun = (await app.inject('/api/v1/namespaces/shop/pods/web-7d9f8-abcde/profile?container=nginx&baseline=crun&explain=true')).json() as { profile: { syscalls: { names: string[] }[] }; explain: { baselineAdded: string[] } };
  t.same(crun.profile.syscalls[0]?.names, [...new Set(['read', 'write', ...baselineSyscalls('crun')])].sort(), '?baseline=crun adds what crun\'s init calls');
  t.same(crun.explain.baselineAdded, baselineSyscalls('crun').filter((n) => n !== 'read' && n !== 'write'));
  t.equal((await app.inject('/api/v1/namespaces/shop/pods/web-7d9f8-abcde/profile?baseline=docker')).statusCode, 400, 'an unknown runtime is a 400');
  const byDefault = (await app.inject('/api/v1/namespaces/shop/pods/web-7d9f8-abcde/profile?container=nginx')).json() as { syscalls: { names: string[] }[] };
  t.same(byDefault.syscalls[0]?.names, [...new Set(['read', 'write', ...baselineSyscalls('runc')])].sort(), 'runc\'s baseline by default');
});

t.test('GET .../workloads/{name}/profile: the union over the workload\'s pods', async (t) => {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-api-'), 'wl.db') });
  const a = containerKey(11), b = containerKey(12), other = containerKey(13);
  store.commitBatch({
    workloads: [
      workload(a, { namespace: 'shop', pod: 'web-7d9f8b6c4-x2k4p', container: 'nginx' }),
      workload(b, { namespace: 'shop', pod: 'web-7d9f8b6c4-bz5wq', container: 'nginx' }),
      workload(other, { namespace: 'shop', pod: 'webhook-0', container: 'hook' }),
    ],
    syscalls: [syscall(a, 0), syscall(b, 1), syscall(other, 2)],
    executables: [], unattributed: [], lost: [], positions: [],
  });
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store });
  t.teardown(async () => { await app.close(); store.close(); });
  const r = await app.inject('/api/v1/namespaces/shop/workloads/web/profile?baseline=none');
  t.equal(r.statusCode, 200);
  t.same((r.json() as { syscalls: { names: string[] }[] }).syscalls[0]?.names, ['read', 'write'], 'both replicas, not webhook-0');
  t.same(((await app.inject('/api/v1/namespaces/shop/workloads/webhook/profile?baseline=none')).json() as { syscalls: { names: string[] }[] }).syscalls[0]?.names, ['open']);
  const none = await app.inject('/api/v1/namespaces/shop/workloads/api/profile');
  t.equal(none.statusCode, 404);
  t.match(none.json(), { code: 'SA_NOT_FOUND' });
});

t.test('GET .../profile?logDenied=true: the kernel\'s log flag, in OCI flags and SPO spec.flags; not in complain mode', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const base = '/api/v1/namespaces/shop/pods/web-7d9f8-abcde/profile?container=nginx&baseline=none';
  const r = await app.inject(`${base}&logDenied=true`);
  t.equal(r.statusCode, 200);
  t.same(r.json(), {
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'],
    syscalls: [{ names: ['read', 'write'], action: 'SCMP_ACT_ALLOW' }], flags: ['SECCOMP_FILTER_FLAG_LOG'],
  }, 'the same profile with the flag that makes the kernel log what it denies');
  t.notOk('flags' in ((await app.inject(base)).json() as object), 'no flags by default: runc 1.1 refuses any');
  const spo = await app.inject(`${base}&logDenied=true&format=spo`);
  t.match(spo.body, /\n {2}flags:\n {2}- SECCOMP_FILTER_FLAG_LOG\n$/);
  // the setup's pod has no owner and no ReplicaSet-shaped name: its workload is the batch job's
  const workload = await app.inject('/api/v1/namespaces/batch/workloads/report/profile?logDenied=true');
  t.equal(workload.statusCode, 200, workload.body);
  t.same((workload.json() as { flags?: string[] }).flags, ['SECCOMP_FILTER_FLAG_LOG'], 'the workload route takes it too');
  const complain = await app.inject(`${base}&logDenied=true&defaultAction=log`);
  t.equal(complain.statusCode, 400);
  t.match(complain.json(), { code: 'SA_BAD_REQUEST', message: /logDenied=true with defaultAction=log: a complain-mode profile .* denies nothing/ });
});

t.test('POST .../profile/diff: what a profile would block, and what it allows that nobody used', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const url = '/api/v1/namespaces/shop/pods/web-7d9f8-abcde/profile/diff?container=nginx';
  const r = await app.inject({ method: 'POST', url, payload: {
    defaultAction: 'SCMP_ACT_ERRNO',
    syscalls: [
      { names: ['read', 'openat', 'close'], action: 'SCMP_ACT_ALLOW' },
      { names: ['ioctl'], action: 'SCMP_ACT_ALLOW', args: [{ index: 1, value: 21505, op: 'SCMP_CMP_EQ' }] },
    ],
  } });
  t.equal(r.statusCode, 200);
  t.same(r.json(), {
    wouldBlock: [{ name: 'write', count: 3, lastSeen: '1970-01-01T00:00:01.000Z' }],
    conditional: ['ioctl'],
    neverObserved: { count: 2 },
  }, 'execve was only ever denied, so it is not something the profile would newly block');
  t.same(Object.keys(r.json() as object), ['wouldBlock', 'conditional', 'neverObserved'], 'what would block comes first');
  const listed = await app.inject({ method: 'POST', url: `${url}&neverObserved=list`, payload: { defaultAction: 'SCMP_ACT_ERRNO', syscalls: [{ names: ['read', 'openat', 'close'], action: 'SCMP_ACT_ALLOW' }] } });
  t.same((listed.json() as { neverObserved: unknown }).neverObserved, { count: 2, names: ['close', 'openat'] }, 'the names when asked for');
  t.equal((await app.inject({ method: 'POST', url: `${url}&neverObserved=all`, payload: { defaultAction: 'SCMP_ACT_ERRNO' } })).statusCode, 400, 'count or list');
  const complain = (await app.inject({ method: 'POST', url, payload: { defaultAction: 'SCMP_ACT_LOG', syscalls: [{ names: ['write'], action: 'SCMP_ACT_ERRNO' }] } })).json() as { wouldBlock: { name: string }[] };
  t.same(complain.wouldBlock.map((w) => w.name), ['write'], 'an explicit block under a permissive default');
  t.equal((await app.inject({ method: 'POST', url, payload: { syscalls: [] } })).statusCode, 400, 'defaultAction is required');
  t.equal((await app.inject({ method: 'POST', url, payload: 'not json', headers: { 'content-type': 'application/json' } })).statusCode, 400);
  t.equal((await app.inject({ method: 'POST', url: '/api/v1/namespaces/shop/pods/nope/profile/diff', payload: { defaultAction: 'SCMP_ACT_ERRNO' } })).statusCode, 404);
});
