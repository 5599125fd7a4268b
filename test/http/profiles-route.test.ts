import t from 'tap';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp } from '../../src/http/app.js';
import { logAllProfileBytes } from '../../src/profile/log-all-profile.js';
import { ProfileInstaller } from '../../src/deliver/profile-installer.js';
import { makeTempDir } from '../helpers/real-kernel.js';

const TOKEN = 'c'.repeat(32);
const AUTH = { authorization: `Bearer ${TOKEN}` };
// posted with its own spacing: the file must hold these bytes, not a re-serialisation
const BODY = '{ "defaultAction": "SCMP_ACT_ERRNO",\n  "syscalls": [ { "names": ["read", "write"], "action": "SCMP_ACT_ALLOW" } ] }\n';
const ready = { ready: () => ({ ready: true, sources: [] }) };

function setup(options: { token?: string | null; protectReads?: boolean; installation?: boolean } = {}) {
  const root = join(makeTempDir('sa-profiles-api-'), 'seccomp');
  mkdirSync(root);
  const installer = ProfileInstaller.open({ kubeletSeccompDir: root, clock: () => 1_700_000_000_000 });
  installer.install('log-all', logAllProfileBytes(), 'builtin');
  const app = buildApp({
    status: ready, token: options.token === undefined ? TOKEN : options.token, protectReads: options.protectReads ?? false,
    profiles: () => (options.installation === false ? null : installer),
  });
  return { app, installer };
}

t.test('POST /api/v1/profiles/{name} installs the posted bytes; GET lists what is installed', async (t) => {
  const { app, installer } = setup();
  t.teardown(() => app.close());
  const url = '/api/v1/profiles/web';
  const r = await app.inject({ method: 'POST', url, payload: BODY, headers: { ...AUTH, 'content-type': 'application/json' } });
  t.equal(r.statusCode, 201, r.body);
  const sha = createHash('sha256').update(BODY).digest('hex');
  t.same(r.json(), { name: 'web', localhostProfile: 'seccomp-auditor/web.json', sha256: sha, source: 'api', installedAt: '2023-11-14T22:13:20.000Z', outcome: 'written' });
  t.equal(readFileSync(installer.pathOf('web'), 'utf8'), BODY, 'the bytes as posted');
  const again = await app.inject({ method: 'POST', url, payload: BODY, headers: { ...AUTH, 'content-type': 'application/json' } });
  t.equal(again.statusCode, 200);
  t.match(again.json(), { outcome: 'unchanged' });

  const list = await app.inject('/api/v1/profiles');
  t.equal(list.statusCode, 200);
  t.same(list.json(), {
    directory: installer.dir,
    items: [
      { name: 'log-all', localhostProfile: 'seccomp-auditor/log-all.json', sha256: createHash('sha256').update(logAllProfileBytes()).digest('hex'), source: 'builtin', installedAt: '2023-11-14T22:13:20.000Z' },
      { name: 'web', localhostProfile: 'seccomp-auditor/web.json', sha256: sha, source: 'api', installedAt: '2023-11-14T22:13:20.000Z' },
    ],
  });

  const del = await app.inject({ method: 'DELETE', url, headers: AUTH });
  t.equal(del.statusCode, 200);
  t.same(del.json(), { name: 'web', removed: true });
  t.equal((await app.inject({ method: 'DELETE', url, headers: AUTH })).statusCode, 404);
  t.match((await app.inject({ method: 'DELETE', url: '/api/v1/profiles/log-all', headers: AUTH })).json(), { code: 'SA_PROFILE_CONFLICT' }, 'the builtin profile is not the API\'s to remove');
});

t.test('bad input: 400 with {code, message} naming the problem; conflicts 409', async (t) => {
  const { app, installer } = setup();
  t.teardown(() => app.close());
  const post = (url: string, payload: string) => app.inject({ method: 'POST', url, payload, headers: { ...AUTH, 'content-type': 'application/json' } });
  const cases: [string, string, number, RegExp][] = [
    ['/api/v1/profiles/web', '{"defaultAction": "SCMP_ACT_ERRNO", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ALOW"}]}', 400, /^not a valid seccomp profile: syscalls\[0\]\.action: "SCMP_ACT_ALOW" is not one of /],
    ['/api/v1/profiles/web', '{"syscalls": []}', 400, /defaultAction is missing/],
    ['/api/v1/profiles/web', '[1, 2]', 400, /.+/],
    ['/api/v1/profiles/web', '{"defaultAction": ', 400, /not JSON/],
    ['/api/v1/profiles/..%2Fetc%2Fpasswd', '{"defaultAction": "SCMP_ACT_ERRNO"}', 400, /name/],
    ['/api/v1/profiles/Web', '{"defaultAction": "SCMP_ACT_ERRNO"}', 400, /name/],
    [`/api/v1/profiles/${'a'.repeat(254)}`, '{"defaultAction": "SCMP_ACT_ERRNO"}', 400, /name/],
    ['/api/v1/profiles/log-all', '{"defaultAction": "SCMP_ACT_ERRNO"}', 409, /log-all\.json is the daemon's own profile/],
  ];
  for (const [url, body, status, message] of cases) {
    const r = await post(url, body);
    t.equal(r.statusCode, status, `${url} ${body}`);
    t.match(r.json(), { code: status === 400 ? 'SA_BAD_REQUEST' : 'SA_PROFILE_CONFLICT', message }, body);
  }
  writeFileSync(installer.pathOf('hand'), '{}');
  const hand = await post('/api/v1/profiles/hand', '{"defaultAction": "SCMP_ACT_ERRNO"}');
  t.equal(hand.statusCode, 409);
  t.match(hand.json(), { message: /hand\.json exists and was not written by seccomp-auditor/ });
  t.equal(readFileSync(installer.pathOf('hand'), 'utf8'), '{}');
});

t.test('the token: 401 without it (before the body is read), 403 when none is configured, 503 when installation is off', async (t) => {
  const { app } = setup();
  t.teardown(() => app.close());
  const anon = await app.inject({ method: 'POST', url: '/api/v1/profiles/web', payload: 'not even json', headers: { 'content-type': 'application/json' } });
  t.equal(anon.statusCode, 401);
  t.match(anon.json(), { code: 'SA_UNAUTHORIZED' });
  const wrong = await app.inject({ method: 'POST', url: '/api/v1/profiles/web', payload: BODY, headers: { authorization: `Bearer ${'d'.repeat(32)}`, 'content-type': 'application/json' } });
  t.equal(wrong.statusCode, 401);
  t.equal((await app.inject('/api/v1/profiles')).statusCode, 200, 'the list is a read route');

  const off = setup({ token: null });
  t.teardown(() => off.app.close());
  const r = await off.app.inject({ method: 'POST', url: '/api/v1/profiles/web', payload: BODY, headers: { ...AUTH, 'content-type': 'application/json' } });
  t.equal(r.statusCode, 403);
  t.match(r.json(), { code: 'SA_MUTATIONS_OFF', message: /--token-file/ });

  const noDir = setup({ installation: false });
  t.teardown(() => noDir.app.close());
  const none = await noDir.app.inject({ method: 'POST', url: '/api/v1/profiles/web', payload: BODY, headers: { ...AUTH, 'content-type': 'application/json' } });
  t.equal(none.statusCode, 503);
  t.match(none.json(), { code: 'SA_PROFILES_OFF', message: /profile_install_failed/ });
  t.same((await noDir.app.inject('/api/v1/profiles')).json(), { directory: null, items: [] });

  const guarded = setup({ protectReads: true });
  t.teardown(() => guarded.app.close());
  t.equal((await guarded.app.inject('/api/v1/profiles')).statusCode, 401, '--protect-reads covers the list');
  t.equal((await guarded.app.inject({ url: '/api/v1/profiles', headers: AUTH })).statusCode, 200);
});

t.test('through a real socket, and documented in the OpenAPI document', async (t) => {
  const { app, installer } = setup();
  t.teardown(() => app.close());
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  const r = await fetch(`${base}/api/v1/profiles/api-made`, { method: 'POST', body: BODY, headers: { ...AUTH, 'content-type': 'application/json' } });
  t.equal(r.status, 201);
  t.equal(readFileSync(installer.pathOf('api-made'), 'utf8'), BODY);
  const openapi = await (await fetch(`${base}/openapi.json`)).json() as { paths: Record<string, unknown> };
  t.ok(openapi.paths['/api/v1/profiles/{name}'], 'documented in the OpenAPI document');
});
