/**
 * The daemon's token under --protect-reads: in Authorization, or in X-Seccomp-Auditor-Token where
 * the Kubernetes API server's pod proxy has removed Authorization (profile --cluster). When both
 * are sent, Authorization decides: a wrong one is not rescued by the other header.
 */
import t from 'tap';
import { buildApp } from '../../src/http/app.js';

const TOKEN = 't'.repeat(40);
const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, token: TOKEN, protectReads: true });
t.teardown(() => app.close());
const status = async (headers: Record<string, string>) => (await app.inject({ url: '/api/v1/violations', headers })).statusCode;

t.test('either header carries the token', async (t) => {
  t.equal(await status({}), 401, 'no token');
  t.equal(await status({ authorization: `Bearer ${TOKEN}` }), 503, 'Authorization: past the guard (no database here: 503)');
  t.equal(await status({ 'x-seccomp-auditor-token': TOKEN }), 503, 'X-Seccomp-Auditor-Token: past the guard');
  t.equal(await status({ 'x-seccomp-auditor-token': 'wrong' }), 401);
  t.equal(await status({ authorization: 'Bearer wrong', 'x-seccomp-auditor-token': TOKEN }), 401, 'a wrong Authorization decides');
  const body = (await app.inject({ url: '/api/v1/violations' })).json() as { message: string };
  t.match(body.message, /X-Seccomp-Auditor-Token/, 'the 401 names both ways');
});
