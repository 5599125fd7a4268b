import t from 'tap';
import { join } from 'node:path';
import { buildApp } from '../../src/http/app.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { AUDIT_ARCH_I386, batch, containerKey, syscall, workload } from '../store/batches.js';

const T0 = Date.UTC(2026, 10, 27, 8, 0, 0);

// A real SQLite file: two host units and a container, committed the way the daemon commits.
function setup() {
  const store = SyscallStore.open({ path: join(makeTempDir('sa-units-'), 'units.db') });
  const web = containerKey(1);
  store.commitBatch(batch({
    workloads: [
      workload('unit:nginx.service', { firstSeen: T0, lastSeen: T0 + 60_000 }),
      workload('unit:session-3.scope'),
      workload(web, { namespace: 'shop', pod: 'web-0', container: 'app' }),
    ],
    syscalls: [
      syscall('unit:nginx.service', 0, { count: 5, firstSeen: T0, lastSeen: T0 + 60_000 }), // read
      syscall('unit:nginx.service', 1, { count: 2, firstSeen: T0, lastSeen: T0 }), // write
      syscall('unit:nginx.service', 140, { auditArch: AUDIT_ARCH_I386, firstSeen: T0, lastSeen: T0 }), // _llseek
      syscall('unit:nginx.service', 101, { action: 'errno', firstSeen: T0, lastSeen: T0 }), // ptrace, blocked
      syscall('unit:session-3.scope', 0),
      syscall(web, 165), // a container's mount: not a unit's
    ],
  }));
  const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store });
  return { app, store };
}

t.test('GET /api/v1/units lists the host units seen, not containers', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const r = await app.inject('/api/v1/units');
  t.equal(r.statusCode, 200);
  t.same(r.json(), {
    items: [
      { unit: 'nginx.service', syscalls: 4, records: 9, firstSeen: '2026-11-27T08:00:00.000Z', lastSeen: '2026-11-27T08:01:00.000Z' },
      { unit: 'session-3.scope', syscalls: 1, records: 1, firstSeen: '1970-01-01T00:00:01.000Z', lastSeen: '1970-01-01T00:00:01.000Z' },
    ],
  });
});

t.test('GET /api/v1/units/{unit}/profile: OCI by default, a systemd drop-in with format=systemd', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const oci = await app.inject('/api/v1/units/nginx.service/profile');
  t.equal(oci.statusCode, 200);
  t.same(oci.json(), {
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [{ names: ['_llseek', 'read', 'write'], action: 'SCMP_ACT_ALLOW' }],
  });
  t.equal(oci.headers['x-learned-records'], '9');
  const sd = await app.inject('/api/v1/units/nginx.service/profile?format=systemd');
  t.equal(sd.statusCode, 200);
  t.equal(sd.headers['content-type'], 'text/plain; charset=utf-8');
  t.match(sd.body, /^# \/etc\/systemd\/system\/nginx\.service\.d\/seccomp-auditor\.conf — learned by seccomp-auditor from 9 records, 2026-11-27T08:00:00\.000Z\.\.2026-11-27T08:01:00\.000Z\n/);
  t.match(sd.body, /\n\[Service\]\nSystemCallArchitectures=x86-64 x86\nSystemCallFilter=_llseek read write\nSystemCallErrorNumber=EPERM\n$/);
  const log = await app.inject('/api/v1/units/nginx.service/profile?format=systemd&defaultAction=log');
  t.match(log.body, /\nSystemCallLog=~_llseek read write\n$/);
  const explained = (await app.inject('/api/v1/units/nginx.service/profile?format=systemd&explain=true')).json() as { profile: string; explain: { notAllowed: { name: string }[] } };
  t.match(explained.profile, /^# \/etc\/systemd/);
  t.match(explained.explain.notAllowed, [{ name: 'ptrace' }]);
  const logged = await app.inject('/api/v1/units/nginx.service/profile?logDenied=true');
  t.same((logged.json() as { flags?: string[] }).flags, ['SECCOMP_FILTER_FLAG_LOG'], 'OCI: the log flag');
  const sdLogged = await app.inject('/api/v1/units/nginx.service/profile?format=systemd&logDenied=true');
  t.equal(sdLogged.statusCode, 400, 'a drop-in cannot ask systemd for the flag');
  t.match(sdLogged.json(), { code: 'SA_BAD_REQUEST', message: /SYSTEMD_LOG_SECCOMP=1/ });
});

t.test('errors: unknown unit 404, a scope has no drop-in, bad names and formats 400', async (t) => {
  const { app, store } = setup();
  t.teardown(async () => { await app.close(); store.close(); });
  const cases: [string, number, string, RegExp][] = [
    ['/api/v1/units/nope.service/profile', 404, 'SA_NOT_FOUND', /no observations for host unit nope\.service \(GET \/api\/v1\/units lists the units seen\)/],
    ['/api/v1/units/session-3.scope/profile?format=systemd', 404, 'SA_NOT_FOUND', /session-3\.scope is not a service/],
    ['/api/v1/units/nginx.service/profile?format=spo', 400, 'SA_BAD_REQUEST', /format/],
    ['/api/v1/units/nginx.service/profile?fromat=systemd', 400, 'SA_BAD_REQUEST', /additional properties/],
    ['/api/v1/units/a%20b.service/profile', 400, 'SA_BAD_REQUEST', /unit/],
  ];
  for (const [url, status, code, message] of cases) {
    const r = await app.inject(url);
    t.equal(r.statusCode, status, url);
    t.match(r.json(), { code, message }, url);
  }
  t.equal((await app.inject('/api/v1/units/session-3.scope/profile')).statusCode, 200, 'a scope still has an OCI profile');
  const noStore = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) } });
  t.teardown(() => noStore.close());
  t.equal((await noStore.inject('/api/v1/units')).statusCode, 503);
});
