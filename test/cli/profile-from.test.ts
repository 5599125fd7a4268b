import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../src/http/app.js';
import { SyscallStore } from '../../src/store/syscall-store.js';
import type { FlushBatch } from '../../src/types/flush-batch.js';
import { builtCli, runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { AUDIT_ARCH_I386, batch, containerKey, syscall, workload } from '../store/batches.js';

// Three nodes, each running one replica of shop/web (and node A a host unit too), each with
// its own real SQLite file served by the real app on a real socket. A fourth database holds
// all three batches: what one daemon would have learned had every replica run on its node.
const T0 = Date.UTC(2026, 10, 27, 6, 0, 0);
const TOKEN = 'f'.repeat(40);
const A = containerKey(1), B = containerKey(2), C = containerKey(3);
const nginx = (key: string, pod: string, node: string) => workload(key, { namespace: 'shop', pod, container: 'nginx', node });

const BATCHES: Record<'a' | 'b' | 'c', FlushBatch> = {
  a: batch({
    workloads: [nginx(A, 'web-7d9f8b6c4-x2k4p', 'node-a'), workload('unit:nginx.service', { node: 'node-a' })],
    syscalls: [
      syscall(A, 0, { count: 5, firstSeen: T0, lastSeen: T0 + 60_000 }), // read
      syscall(A, 1, { firstSeen: T0 + 1000, lastSeen: T0 + 1000 }), // write
      syscall(A, 101, { action: 'errno', firstSeen: T0, lastSeen: T0 }), // ptrace: blocked here...
      syscall(A, 140, { auditArch: AUDIT_ARCH_I386, firstSeen: T0, lastSeen: T0 }), // _llseek
      syscall(A, 59, { action: 'errno', firstSeen: T0, lastSeen: T0 }), // execve, blocked everywhere
      syscall('unit:nginx.service', 0, { count: 3, firstSeen: T0, lastSeen: T0 }),
    ],
  }),
  b: batch({
    workloads: [nginx(B, 'web-7d9f8b6c4-bz5wq', 'node-b'), workload('unit:nginx.service', { node: 'node-b' })],
    syscalls: [
      syscall(B, 1, { count: 2, firstSeen: T0 + 7_200_000, lastSeen: T0 + 7_260_000 }), // write, latest
      syscall(B, 101, { firstSeen: T0, lastSeen: T0 }), // ...ptrace ran on node b
      syscall(B, 59, { action: 'kill_process', firstSeen: T0, lastSeen: T0 }),
      syscall(B, 999, { firstSeen: T0, lastSeen: T0 }), // a number no table names
      syscall('unit:nginx.service', 1, { count: 1, firstSeen: T0 + 5000, lastSeen: T0 + 5000 }),
    ],
  }),
  c: batch({
    workloads: [nginx(C, 'web-7d9f8b6c4-q8zxm', 'node-c')],
    syscalls: [
      syscall(C, 3, { firstSeen: T0 - 3_600_000, lastSeen: T0 }), // close, earliest
      syscall(C, 257, { count: 4, firstSeen: T0, lastSeen: T0 }), // openat
    ],
  }),
};

function database(batches: FlushBatch[]): string {
  const path = join(makeTempDir('sa-from-'), 'node.db');
  const store = SyscallStore.open({ path });
  for (const b of batches) store.commitBatch(b);
  store.close();
  return path;
}

const COMBINED = database([BATCHES.a, BATCHES.b, BATCHES.c]);
const tokenFile = join(makeTempDir('sa-from-token-'), 'token');
writeFileSync(tokenFile, `${TOKEN}\n`);

interface Node { url: string; app: FastifyInstance; store: SyscallStore }
const nodes: Record<'a' | 'b' | 'c', Node> = {} as Record<'a' | 'b' | 'c', Node>;

t.before(async () => {
  for (const n of ['a', 'b', 'c'] as const) {
    const store = SyscallStore.open({ path: database([BATCHES[n]]) });
    // node c guards its reads, as a daemon with --protect-reads does
    const app = buildApp({ status: { ready: () => ({ ready: true, sources: [] }) }, store: () => store, ...(n === 'c' ? { token: TOKEN, protectReads: true } : {}) });
    nodes[n] = { url: await app.listen({ host: '127.0.0.1', port: 0 }), app, store };
  }
});
t.teardown(async () => {
  for (const n of Object.values(nodes)) { await n.app.close(); n.store.close(); }
});

const FROM = () => ['--from', nodes.a.url, '--from', `${nodes.b.url}/`, '--from', nodes.c.url, '--token-file', tokenFile];

/** a port nothing listens on */
async function deadUrl(): Promise<string> {
  const s = createServer().listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return `http://127.0.0.1:${port}`;
}

t.test('merging three daemons gives what one database with all their records gives', async (t) => {
  for (const extra of [[], ['--default-action', 'log'], ['--format', 'spo'], ['--container', 'nginx'], ['--baseline', 'runc'], ['--baseline', 'crun', '--default-action', 'log']]) {
    const merged = await runCli(['profile', ...FROM(), '--namespace', 'shop', '--workload', 'web', ...extra]);
    const single = await runCli(['profile', '--db', COMBINED, '--namespace', 'shop', '--workload', 'web', ...extra]);
    t.equal(merged.code, 0, merged.stderr);
    t.equal(single.code, 0, single.stderr);
    t.equal(merged.stdout, single.stdout, `same output ${extra.join(' ')}`);
    t.equal(merged.stderr, '');
  }
  const out = await runCli(['profile', ...FROM(), '--namespace', 'shop', '--workload', 'web', '--baseline', 'none']);
  t.same(JSON.parse(out.stdout), {
    defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [{ names: ['_llseek', 'close', 'openat', 'ptrace', 'read', 'write'], action: 'SCMP_ACT_ALLOW' }],
  }, 'ptrace ran on node b, so it is allowed; execve was blocked everywhere, so it is not');

  const explained = JSON.parse((await runCli(['profile', ...FROM(), '--namespace', 'shop', '--workload', 'web', '--explain', '--baseline', 'none'])).stdout);
  const single = JSON.parse((await runCli(['profile', '--db', COMBINED, '--namespace', 'shop', '--workload', 'web', '--explain', '--baseline', 'none'])).stdout);
  const { nodes: perNode, ...explain } = explained.explain;
  t.same(explain, single.explain, 'records, time range, left-out and unnamed calls add up');
  t.same(explain, {
    records: 5 + 1 + 1 + 1 + 1 + 2 + 1 + 1 + 1 + 1 + 4,
    syscalls: 6,
    from: new Date(T0 - 3_600_000).toISOString(),
    to: new Date(T0 + 7_260_000).toISOString(),
    notAllowed: [{ name: 'execve', arch: 'x86_64', action: 'errno' }, { name: 'execve', arch: 'x86_64', action: 'kill_process' }],
    baselineAdded: [],
    unknownNumbers: [{ arch: 'x86_64', nr: 999 }],
    // no node lost anything; 19 records is young whatever the window
    learned: {
      records: 19, from: new Date(T0 - 3_600_000).toISOString(), to: new Date(T0 + 7_260_000).toISOString(), complete: true, losses: [], unattributed: [],
      young: true, thresholds: { minWindowMinutes: 10, minRecords: 1000 },
    },
  });
  t.same(perNode.map((n: { url: string; records: number }) => [n.url, n.records]), [[nodes.a.url, 9], [nodes.b.url, 5], [nodes.c.url, 5]]);
});

t.test('a node that has not seen the target, or does not answer: an error naming it, or skipped with --allow-missing', async (t) => {
  const pod = ['--namespace', 'shop', '--pod', 'web-7d9f8b6c4-x2k4p'];
  const strict = await runCli(['profile', ...FROM(), ...pod]);
  t.equal(strict.code, 1);
  t.equal(strict.stdout, '');
  t.equal(strict.stderr, `seccomp-auditor profile: ${nodes.b.url}: no observations for pod shop/web-7d9f8b6c4-x2k4p; ${nodes.c.url}: no observations for pod shop/web-7d9f8b6c4-x2k4p; every --from daemon must have seen pod shop/web-7d9f8b6c4-x2k4p (--allow-missing skips those that have not)\n`);

  const lenient = await runCli(['profile', ...FROM(), ...pod, '--allow-missing']);
  t.equal(lenient.code, 0, lenient.stderr);
  t.match(lenient.stderr, new RegExp(`^seccomp-auditor profile: warning: skipped ${nodes.b.url}: no observations for pod shop/web-7d9f8b6c4-x2k4p\n`));
  const alone = await runCli(['profile', '--from', nodes.a.url, ...pod]);
  t.equal(lenient.stdout, alone.stdout, 'what the one node that ran the pod learned');

  const dead = await deadUrl();
  const down = await runCli(['profile', '--from', nodes.a.url, '--from', dead, '--namespace', 'shop', '--workload', 'web']);
  t.equal(down.code, 1);
  t.match(down.stderr, `seccomp-auditor profile: ${dead} does not answer (ECONNREFUSED); every --from daemon must have seen workload shop/web`);
  const skipped = await runCli(['profile', '--from', nodes.a.url, '--from', dead, '--namespace', 'shop', '--workload', 'web', '--allow-missing']);
  t.equal(skipped.code, 0);
  t.match(skipped.stderr, `warning: skipped ${dead} does not answer (ECONNREFUSED)`);

  const none = await runCli(['profile', '--from', dead, '--namespace', 'shop', '--workload', 'web', '--allow-missing']);
  t.equal(none.code, 1);
  t.match(none.stderr, /no --from daemon has observations for workload shop\/web\n$/);
});

t.test('a daemon with --protect-reads needs --token-file; a refused token is never skipped', async (t) => {
  const noToken = await runCli(['profile', '--from', nodes.a.url, '--from', nodes.c.url, '--namespace', 'shop', '--workload', 'web', '--allow-missing']);
  t.equal(noToken.code, 1);
  t.equal(noToken.stderr, `seccomp-auditor profile: ${nodes.c.url} wants a bearer token (the daemon runs with --protect-reads): give --token-file\n`);
  const wrongFile = join(makeTempDir('sa-from-token-'), 'wrong');
  writeFileSync(wrongFile, 'e'.repeat(40));
  const wrong = await runCli(['profile', '--from', nodes.c.url, '--namespace', 'shop', '--workload', 'web', '--token-file', wrongFile]);
  t.match(wrong.stderr, /the one from --token-file was refused/);
  const missingFile = await runCli(['profile', '--from', nodes.c.url, '--namespace', 'shop', '--workload', 'web', '--token-file', join(wrongFile, 'nope')]);
  t.equal(missingFile.code, 1);
  t.match(missingFile.stderr, /cannot read the token file .*nope \(ENOTDIR\); check --token-file/);
  const env = await runCli(['profile', '--from', nodes.c.url, '--namespace', 'shop', '--workload', 'web'], '', { SECCOMP_AUDITOR_TOKEN_FILE: tokenFile });
  t.equal(env.code, 0, env.stderr);
});

t.test('host units across nodes, as a systemd drop-in', async (t) => {
  const r = await runCli(['profile', '--from', nodes.a.url, '--from', nodes.b.url, '--unit', 'nginx.service', '--format', 'systemd']);
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^# \/etc\/systemd\/system\/nginx\.service\.d\/seccomp-auditor\.conf — learned by seccomp-auditor from 4 records, 2026-11-27T06:00:00\.000Z\.\.2026-11-27T06:00:05\.000Z\n/);
  t.match(r.stdout, /\nSystemCallArchitectures=x86-64\nSystemCallFilter=read write\nSystemCallErrorNumber=EPERM\n$/);
  const local = await runCli(['profile', '--db', COMBINED, '--unit', 'nginx.service', '--format', 'systemd']);
  t.equal(local.stdout, r.stdout);
  const unknown = await runCli(['profile', '--db', COMBINED, '--unit', 'sshd.service', '--format', 'systemd']);
  t.equal(unknown.code, 1);
  t.equal(unknown.stderr, `seccomp-auditor profile: no observations for host unit sshd.service in ${COMBINED}; units seen: nginx.service\n`);
});

t.test('usage errors exit 2', async (t) => {
  for (const [argv, message] of [
    [['--from', 'http://x:1', '--db', COMBINED, '--namespace', 'shop', '--workload', 'web'], /--from and --db are mutually exclusive/],
    [['--from', 'node-a:9761', '--namespace', 'shop', '--workload', 'web'], /--from node-a:9761: (not a URL|expected http:\/\/ or https:\/\/)/],
    [['--from', 'ftp://node-a', '--namespace', 'shop', '--workload', 'web'], /expected http:\/\/ or https:\/\//],
    [['--from', 'http://node-a:9761/?x=1', '--namespace', 'shop', '--workload', 'web'], /no query or fragment/],
    [['--db', COMBINED, '--namespace', 'shop', '--workload', 'web', '--allow-missing'], /--allow-missing goes with --from/],
    [['--db', COMBINED, '--namespace', 'shop', '--workload', 'web', '--pod', 'web-1'], /--pod and --workload are mutually exclusive/],
    [['--db', COMBINED, '--workload', 'web'], /--namespace NS is required/],
    [['--db', COMBINED, '--unit', 'nginx.service', '--namespace', 'shop'], /--unit and --namespace do not go together/],
    [['--db', COMBINED, '--namespace', 'shop', '--workload', 'web', '--format', 'systemd'], /--format systemd is for host units: give --unit NAME\.service/],
    [['--db', COMBINED, '--unit', 'session-3.scope', '--format', 'systemd'], /session-3\.scope is not NAME\.service/],
    [['--db', COMBINED, '--unit', 'nginx.service', '--format', 'spo'], /--format spo is for pods and workloads/],
  ] as const) {
    const r = await runCli(['profile', ...argv]);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.stderr, message);
  }
  // SECCOMP_AUDITOR_DB in the environment (a node's setting) does not clash with --from
  const env = await runCli(['profile', '--from', nodes.a.url, '--namespace', 'shop', '--workload', 'web'], '', { SECCOMP_AUDITOR_DB: COMBINED });
  t.equal(env.code, 0, env.stderr);
});

t.test('the built executable, as a user runs it', async (t) => {
  const child = spawn(process.execPath, [builtCli(), 'profile', ...FROM(), '--namespace', 'shop', '--workload', 'web', '--format', 'spo', '--name', 'web'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
  const [code] = await once(child, 'exit');
  t.equal(code, 0, stderr);
  t.match(stdout, /^apiVersion: security-profiles-operator\.x-k8s\.io\/v1beta1\nkind: SeccompProfile\nmetadata:\n {2}name: web\n {2}namespace: shop\n/);
  t.match(stdout, /\n {4}- ptrace\n/);
});
