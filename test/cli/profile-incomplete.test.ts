import t from 'tap';
import { createServer } from 'node:http';
import { once } from 'node:events';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import type { FlushBatch } from '../../src/types/flush-batch.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { batch, containerKey, syscall, workload } from '../store/batches.js';

/**
 * `seccomp-auditor profile` and completeness: from one database (--db) and merged from daemons
 * (--from), two real daemons on 127.0.0.1 with real SQLite files, one of which lost records
 * while its replica learned.
 */
const T0 = Date.UTC(2026, 10, 27, 6, 0, 0);
const MIN = 60_000;
const A = containerKey(1), B = containerKey(2);
const replica = (key: string, pod: string, node: string) => workload(key, { namespace: 'shop', pod, container: 'nginx', node, firstSeen: T0, lastSeen: T0 + 20 * MIN });

const NODE_A: FlushBatch = batch({
  workloads: [replica(A, 'web-7d9f8b6c4-x2k4p', 'node-a')],
  syscalls: [syscall(A, 0, { count: 2000, firstSeen: T0, lastSeen: T0 + 20 * MIN })],
  // a loss an hour before the replica started: not its concern
  lost: [{ source: 'audit', reason: 'socket_overrun', count: 9 }],
  losses: [{ source: 'audit', reason: 'socket_overrun', count: 9, from: T0 - 60 * MIN, to: T0 - 59 * MIN }],
});
const NODE_B: FlushBatch = batch({
  workloads: [replica(B, 'web-7d9f8b6c4-bz5wq', 'node-b')],
  syscalls: [syscall(B, 1, { count: 2000, firstSeen: T0, lastSeen: T0 + 20 * MIN })],
  // printk suppressed records in the middle of its window
  lost: [{ source: 'kmsg', reason: 'printk_suppressed', count: 12688 }],
  losses: [{ source: 'kmsg', reason: 'printk_suppressed', count: 12688, from: T0 + 5 * MIN, to: T0 + 5 * MIN + 27_000 }],
});

function database(b: FlushBatch): string {
  const path = join(makeTempDir('sa-incomplete-'), 'node.db');
  const store = SyscallStore.open({ path });
  store.commitBatch(b);
  store.close();
  return path;
}

const DB_A = database(NODE_A), DB_B = database(NODE_B);
const apps: FastifyInstance[] = [];
const stores: SyscallStore[] = [];
let urlA = '', urlB = '';
t.before(async () => {
  for (const path of [DB_A, DB_B]) {
    const store = SyscallStore.open({ path });
    const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store });
    stores.push(store);
    apps.push(app);
  }
  urlA = await apps[0]!.listen({ host: '127.0.0.1', port: 0 });
  urlB = await apps[1]!.listen({ host: '127.0.0.1', port: 0 });
});
t.teardown(async () => {
  for (const a of apps) await a.close();
  for (const s of stores) s.close();
});

const WORKLOAD = ['--namespace', 'shop', '--workload', 'web', '--baseline', 'none'];

t.test('--db: an incomplete profile is an error naming the loss and the fix; --allow-incomplete takes it, with a warning', async (t) => {
  const refused = await runCli(['profile', '--db', DB_B, '--namespace', 'shop', '--pod', 'web-7d9f8b6c4-bz5wq']);
  t.equal(refused.code, 1);
  t.equal(refused.stdout, '', 'nothing printed');
  t.match(refused.stderr, /^seccomp-auditor profile: the profile of pod shop\/web-7d9f8b6c4-bz5wq is incomplete: .*12688 records lost by kmsg \(printk_suppressed\) between 2026-11-27T06:05:00\.000Z and 2026-11-27T06:05:27\.000Z/);
  t.match(refused.stderr, /CAP_AUDIT_READ/);
  t.match(refused.stderr, /--allow-incomplete\n$/);

  const taken = await runCli(['profile', '--db', DB_B, '--namespace', 'shop', '--pod', 'web-7d9f8b6c4-bz5wq', '--allow-incomplete', '--explain']);
  t.equal(taken.code, 0, taken.stderr);
  t.match(taken.stderr, /warning: the profile is incomplete \(lost: kmsg\/printk_suppressed=12688\)/);
  t.match(JSON.parse(taken.stdout), { explain: { learned: { complete: false, young: false, records: 2000, losses: [{ source: 'kmsg', reason: 'printk_suppressed', count: 12688 }] } } });
  // the environment sets it too, as every flag
  const env = await runCli(['profile', '--db', DB_B, '--namespace', 'shop', '--pod', 'web-7d9f8b6c4-bz5wq'], '', { SECCOMP_AUDITOR_PROFILE_ALLOW_INCOMPLETE: 'true' });
  t.equal(env.code, 0, env.stderr);

  const complete = await runCli(['profile', '--db', DB_A, '--namespace', 'shop', '--pod', 'web-7d9f8b6c4-x2k4p']);
  t.equal(complete.code, 0, 'a loss an hour before the window is not this profile\'s');
  t.equal(complete.stderr, '');
});

t.test('--young-window and --young-records decide young', async (t) => {
  const at = async (...flags: string[]) => (JSON.parse((await runCli(['profile', '--db', DB_A, '--namespace', 'shop', '--pod', 'web-7d9f8b6c4-x2k4p', '--explain', ...flags])).stdout) as { explain: { learned: { young: boolean } } }).explain.learned.young;
  t.equal(await at(), false, '2 000 records over 20 minutes is past the defaults');
  t.equal(await at('--young-window', '30m'), true);
  t.equal(await at('--young-records', '5000'), true);
  const bad = await runCli(['profile', '--db', DB_A, '--namespace', 'shop', '--pod', 'web-7d9f8b6c4-x2k4p', '--young-window', 'ten']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--young-window ten: expected a number and a unit, e.g. 10m or 1h/);
});

t.test('--from with one incomplete node: the merge is refused, naming the node; --allow-incomplete merges and marks it', async (t) => {
  const refused = await runCli(['profile', '--from', urlA, '--from', urlB, ...WORKLOAD]);
  t.equal(refused.code, 1);
  t.equal(refused.stdout, '');
  t.match(refused.stderr, new RegExp(`is incomplete: .*${urlB.replace(/[.]/g, '\\.')}: 12688 records lost by kmsg \\(printk_suppressed\\)`));
  t.notMatch(refused.stderr, /socket_overrun/, 'node a\'s loss was outside its window');

  const merged = await runCli(['profile', '--from', urlA, '--from', urlB, ...WORKLOAD, '--allow-incomplete', '--explain']);
  t.equal(merged.code, 0, merged.stderr);
  const out = JSON.parse(merged.stdout);
  t.same(out.profile.syscalls[0].names, ['read', 'write'], 'both nodes\' calls');
  t.match(out.explain.learned, { complete: false, records: 4000, losses: [{ node: urlB, source: 'kmsg', reason: 'printk_suppressed', count: 12688 }] });
  t.match(out.explain.nodes, [{ url: urlA, complete: true, lost: 'none' }, { url: urlB, complete: false, lost: 'kmsg/printk_suppressed=12688' }]);

  const spo = await runCli(['profile', '--from', urlA, '--from', urlB, ...WORKLOAD, '--allow-incomplete', '--format', 'spo']);
  t.equal(spo.code, 0, spo.stderr);
  t.match(spo.stdout, /\n {4}seccomp-auditor\.io\/complete: "false"\n/);
  t.match(spo.stdout, new RegExp(`\\n {4}seccomp-auditor\\.io/lost: "${urlB.replace(/[.]/g, '\\.')} kmsg/printk_suppressed=12688"\\n`));

  // node a alone is complete
  const alone = await runCli(['profile', '--from', urlA, ...WORKLOAD]);
  t.equal(alone.code, 0, alone.stderr);
});

t.test('--from a daemon that does not say what its part was learned from (an older version): not called complete', async (t) => {
  const older = createServer((req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({
      profile: { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64'], syscalls: [{ names: ['read'], action: 'SCMP_ACT_ALLOW' }] },
      explain: { records: 3, syscalls: 1, from: '2026-11-27T06:00:00.000Z', to: '2026-11-27T06:00:01.000Z', notAllowed: [], baselineAdded: [], unknownNumbers: [] },
    }));
  }).listen(0, '127.0.0.1');
  await once(older, 'listening');
  t.teardown(() => older.close());
  const url = `http://127.0.0.1:${(older.address() as { port: number }).port}`;
  const refused = await runCli(['profile', '--from', urlA, '--from', url, ...WORKLOAD]);
  t.equal(refused.code, 1);
  t.match(refused.stderr, `${url} does not say what its profile was learned from`);
  const taken = await runCli(['profile', '--from', urlA, '--from', url, ...WORKLOAD, '--allow-incomplete', '--explain']);
  t.equal(taken.code, 0, taken.stderr);
  t.match(JSON.parse(taken.stdout).explain, { learned: { complete: false }, nodes: [{ url: urlA, complete: true }, { url, complete: null, lost: null }] });
});
