import t from 'tap';
import { baselineSyscalls } from '../../src/profile/runtime-baseline.js';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { runCli } from '../helpers/cli.js';
import { makeTempDir } from '../helpers/real-kernel.js';
import { AUDIT_ARCH_I386, batch, containerKey, syscall, workload } from '../store/batches.js';

// A real database filled the way the daemon fills it: through commitBatch.
// shop/cart-0 has containers app (x86_64 + i386) and sidecar; ops/empty-0 has a container with no syscalls.
const APP = containerKey(1);
const SIDECAR = containerKey(2);
const OTHER = containerKey(3);
const EMPTY = containerKey(4);
const T0 = Date.UTC(2024, 4, 6, 7, 8, 9);

function database(): string {
  const db = join(makeTempDir('sa-profile-'), 'auditor.db');
  const store = SyscallStore.open({ path: db });
  try {
    store.commitBatch(batch({
      workloads: [
        workload(APP, { namespace: 'shop', pod: 'cart-0', container: 'app' }),
        workload(SIDECAR, { namespace: 'shop', pod: 'cart-0', container: 'sidecar' }),
        workload(OTHER, { namespace: 'shop', pod: 'other-0', container: 'app' }),
        workload(EMPTY, { namespace: 'ops', pod: 'empty-0', container: 'idle' }),
      ],
      syscalls: [
        syscall(APP, 0, { count: 7, firstSeen: T0, lastSeen: T0 + 60_000 }), // read
        syscall(APP, 1, { firstSeen: T0 + 1000, lastSeen: T0 + 2000 }), // write
        syscall(APP, 101, { action: 'errno', firstSeen: T0 + 3000, lastSeen: T0 + 3000 }), // ptrace, blocked only
        syscall(APP, 140, { auditArch: AUDIT_ARCH_I386, firstSeen: T0 + 4000, lastSeen: T0 + 4000 }), // _llseek
        syscall(SIDECAR, 1, { count: 2, firstSeen: T0 + 10_000, lastSeen: T0 + 120_000 }), // write
        syscall(SIDECAR, 59, { firstSeen: T0 + 10_000, lastSeen: T0 + 10_000 }), // execve
        syscall(SIDECAR, 999, { firstSeen: T0 + 10_000, lastSeen: T0 + 10_000 }), // no name
        syscall(OTHER, 165), // mount: another pod, must not leak in
      ],
    }));
    // a second flush adds to the counts, as the daemon's do
    store.commitBatch(batch({ workloads: [workload(APP, { namespace: 'shop', pod: 'cart-0', container: 'app' })], syscalls: [syscall(APP, 0, { count: 3, firstSeen: T0, lastSeen: T0 })] }));
  } finally {
    store.close();
  }
  return db;
}

const DB = database();
// the learned names alone (runc's baseline, the default, is tested on its own below)
const POD = ['--db', DB, '--namespace', 'shop', '--pod', 'cart-0', '--baseline', 'none'];

t.test('oci (default): the union over the pod\'s containers, 2-space JSON', async (t) => {
  const r = await runCli(['profile', ...POD]);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stderr, '');
  t.equal(r.stdout, JSON.stringify({
    defaultAction: 'SCMP_ACT_ERRNO',
    defaultErrnoRet: 1,
    architectures: ['SCMP_ARCH_X86_64', 'SCMP_ARCH_X86'],
    syscalls: [{ names: ['_llseek', 'execve', 'read', 'write'], action: 'SCMP_ACT_ALLOW' }],
  }, null, 2) + '\n');
});

t.test('--container narrows to one container; --default-action log', async (t) => {
  const r = await runCli(['profile', ...POD, '--container', 'sidecar', '--default-action', 'log']);
  t.equal(r.code, 0, r.stderr);
  t.same(JSON.parse(r.stdout), {
    defaultAction: 'SCMP_ACT_LOG',
    architectures: ['SCMP_ARCH_X86_64'],
    // execve was learned but stays logged in complain mode (attribution follows it)
    syscalls: [{ names: ['write'], action: 'SCMP_ACT_ALLOW' }],
  });
});

t.test('--explain: records, time range, blocked and unnamed syscalls', async (t) => {
  const r = await runCli(['profile', ...POD, '--explain']);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  t.same(out.profile.syscalls[0].names, ['_llseek', 'execve', 'read', 'write']);
  t.same(out.explain, {
    records: 10 + 1 + 1 + 1 + 2 + 1 + 1,
    syscalls: 4,
    from: '2024-05-06T07:08:09.000Z',
    to: '2024-05-06T07:10:09.000Z',
    notAllowed: [{ name: 'ptrace', arch: 'x86_64', action: 'errno' }],
    baselineAdded: [],
    unknownNumbers: [{ arch: 'x86_64', nr: 999 }],
    // what it was learned from: no loss in this database; 17 records over two minutes is young
    learned: {
      records: 17, from: '2024-05-06T07:08:09.000Z', to: '2024-05-06T07:10:09.000Z', complete: true, losses: [], unattributed: [],
      young: true, thresholds: { minWindowMinutes: 10, minRecords: 1000 },
    },
  });
  t.match(r.stdout, /^\{\n {2}"profile": \{\n {4}"defaultAction"/, 'indented by 2');
});

t.test('runc\'s baseline, by default, adds what runc\'s init calls after loading the filter, and says which were added', async (t) => {
  const baseline = baselineSyscalls('runc');
  // the list the README gives, derived from 120 runs (syscall-tables/baselines/runtimes.json)
  t.same(baseline, ['close', 'epoll_ctl', 'execve', 'fstatfs', 'futex', 'getdents64', 'getpid', 'openat', 'rt_sigreturn', 'write']);
  const r = await runCli(['profile', '--db', DB, '--namespace', 'shop', '--pod', 'cart-0', '--explain']);
  t.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  const names: string[] = out.profile.syscalls[0].names;
  t.ok(baseline.every((n) => names.includes(n)), 'every baseline name is allowed');
  t.ok(['_llseek', 'execve', 'read', 'write'].every((n) => names.includes(n)), 'with everything learned');
  t.same(out.explain.baselineAdded, baseline.filter((n) => !['_llseek', 'execve', 'read', 'write'].includes(n)), 'the names only the baseline brought');
  const bad = await runCli(['profile', ...POD, '--baseline', 'docker']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--baseline must be one of none, runc, crun, got 'docker'/);
});

t.test('--format spo prints a SeccompProfile in YAML', async (t) => {
  const r = await runCli(['profile', ...POD, '--container', 'app', '--format', 'spo']);
  t.equal(r.code, 0, r.stderr);
  t.equal(r.stdout, `apiVersion: security-profiles-operator.x-k8s.io/v1beta1
kind: SeccompProfile
metadata:
  name: cart-0-app
  namespace: shop
  annotations:
    seccomp-auditor.io/complete: "true"
    seccomp-auditor.io/lost: none
    seccomp-auditor.io/young: "true"
    seccomp-auditor.io/learned-records: "13"
    seccomp-auditor.io/learned-from: "2024-05-06T07:08:09.000Z"
    seccomp-auditor.io/learned-to: "2024-05-06T07:09:09.000Z"
spec:
  defaultAction: SCMP_ACT_ERRNO
  architectures:
  - SCMP_ARCH_X86_64
  - SCMP_ARCH_X86
  syscalls:
  - action: SCMP_ACT_ALLOW
    names:
    - _llseek
    - read
    - write
`);
  const named = await runCli(['profile', ...POD, '--format', 'spo', '--name', 'cart']);
  t.match(named.stdout, /\n {2}name: cart\n/);
  const explained = await runCli(['profile', ...POD, '--format', 'spo', '--explain']);
  t.match(JSON.parse(explained.stdout), { profile: { kind: 'SeccompProfile', metadata: { name: 'cart-0', namespace: 'shop' } }, explain: { syscalls: 4 } });
});

t.test('--log-denied adds the kernel\'s log flag (OCI flags, SPO spec.flags); only for an enforcing OCI or SPO profile', async (t) => {
  const oci = await runCli(['profile', ...POD, '--container', 'app', '--log-denied']);
  t.equal(oci.code, 0, oci.stderr);
  const profile = JSON.parse(oci.stdout) as { defaultAction: string; flags?: string[] };
  t.same(profile.flags, ['SECCOMP_FILTER_FLAG_LOG'], 'the flag that makes the kernel log errno actions');
  t.equal(profile.defaultAction, 'SCMP_ACT_ERRNO');
  t.notOk('flags' in (JSON.parse((await runCli(['profile', ...POD, '--container', 'app'])).stdout) as object), 'no flags without it (runc 1.1 refuses any)');
  const spo = await runCli(['profile', ...POD, '--container', 'app', '--format', 'spo', '--log-denied']);
  t.equal(spo.code, 0, spo.stderr);
  t.match(spo.stdout, /\n {2}flags:\n {2}- SECCOMP_FILTER_FLAG_LOG\n$/, 'spec.flags, the CRD\'s field');
  const complain = await runCli(['profile', ...POD, '--log-denied', '--default-action', 'log']);
  t.equal(complain.code, 2, 'complain mode denies nothing to log');
  t.match(complain.stderr, /--log-denied with --default-action log: a complain-mode profile .* denies nothing/);
  const env = await runCli(['profile', ...POD, '--container', 'app'], '', { SECCOMP_AUDITOR_PROFILE_LOG_DENIED: 'true' });
  t.same((JSON.parse(env.stdout) as { flags?: string[] }).flags, ['SECCOMP_FILTER_FLAG_LOG'], 'from the environment too');
});

t.test('flags from the environment', async (t) => {
  const r = await runCli(['profile', '--namespace', 'shop', '--pod', 'cart-0'], '', {
    SECCOMP_AUDITOR_DB: DB,
    SECCOMP_AUDITOR_PROFILE_FORMAT: 'spo',
    SECCOMP_AUDITOR_PROFILE_DEFAULT_ACTION: 'log',
  });
  t.equal(r.code, 0, r.stderr);
  t.match(r.stdout, /^apiVersion: .*\n[\s\S]*defaultAction: SCMP_ACT_LOG\n/);
  const flagWins = await runCli(['profile', ...POD, '--format', 'oci'], '', { SECCOMP_AUDITOR_PROFILE_FORMAT: 'spo' });
  t.equal(JSON.parse(flagWins.stdout).defaultAction, 'SCMP_ACT_ERRNO');
});

t.test('errors are one clear line and exit 1', async (t) => {
  const unknownPod = await runCli(['profile', '--db', DB, '--namespace', 'shop', '--pod', 'nope-0']);
  t.equal(unknownPod.code, 1);
  t.equal(unknownPod.stdout, '');
  t.equal(
    unknownPod.stderr,
    `seccomp-auditor profile: no observations for pod shop/nope-0 in ${DB}: is the daemon running with that database, and has the pod run under a logging profile?\n`,
  );
  const wrongNs = await runCli(['profile', '--db', DB, '--namespace', 'ops', '--pod', 'cart-0']);
  t.equal(wrongNs.code, 1);
  t.match(wrongNs.stderr, /no observations for pod ops\/cart-0/);

  const unknownContainer = await runCli(['profile', ...POD, '--container', 'db']);
  t.equal(unknownContainer.code, 1);
  t.equal(unknownContainer.stdout, '');
  t.equal(unknownContainer.stderr, "seccomp-auditor profile: pod shop/cart-0 has no container 'db'; its containers: app, sidecar\n");

  const dir = makeTempDir('sa-profile-missing-');
  const missing = join(dir, 'nope.db');
  const noDb = await runCli(['profile', '--db', missing, '--namespace', 'shop', '--pod', 'cart-0']);
  t.equal(noDb.code, 1);
  t.match(noDb.stderr, /nope\.db: no such database; check --db/);
  t.notOk(existsSync(missing), 'a read does not create a database');

  writeFileSync(join(dir, 'garbage.db'), Buffer.alloc(8192, 0x5a));
  const corrupt = await runCli(['profile', '--db', join(dir, 'garbage.db'), '--namespace', 'shop', '--pod', 'cart-0']);
  t.equal(corrupt.code, 1);
  t.match(corrupt.stderr, /^seccomp-auditor profile: .*garbage\.db/);
});

t.test('a pod seen with no syscalls gets an allow-nothing profile and a warning', async (t) => {
  const r = await runCli(['profile', '--db', DB, '--namespace', 'ops', '--pod', 'empty-0', '--baseline', 'none']);
  t.equal(r.code, 0);
  t.same(JSON.parse(r.stdout), { defaultAction: 'SCMP_ACT_ERRNO', defaultErrnoRet: 1, architectures: [], syscalls: [] });
  t.match(r.stderr, /warning: no syscall of ops\/empty-0 was seen running/);
  const withBaseline = await runCli(['profile', '--db', DB, '--namespace', 'ops', '--pod', 'empty-0']);
  t.match(withBaseline.stderr, /warning: no syscall of ops\/empty-0 was seen running/, 'the baseline alone is no learning');
});

t.test('usage errors exit 2', async (t) => {
  for (const [argv, message] of [
    [['--namespace', 'shop', '--pod', 'cart-0'], /--db PATH is required/],
    [['--db', DB, '--pod', 'cart-0'], /--namespace NS is required/],
    [['--db', DB, '--namespace', 'shop'], /--pod POD is required/],
    [[...POD, '--format', 'yaml'], /--format must be one of oci, spo, systemd, got 'yaml'/],
    [[...POD, '--default-action', 'kill'], /--default-action must be one of errno, log, got 'kill'/],
    [[...POD, 'extra'], /unexpected argument 'extra'/],
    [[...POD, '--bogus'], /Unknown option '--bogus'/],
  ] as const) {
    const r = await runCli(['profile', ...argv]);
    t.equal(r.code, 2, argv.join(' '));
    t.match(r.stderr, message);
  }
  const help = await runCli(['profile', '--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: seccomp-auditor profile --db PATH --namespace NS --pod POD/);
  t.match(help.stdout, /--default-action errno\|log .*\(default: errno; env SECCOMP_AUDITOR_PROFILE_DEFAULT_ACTION\)/);
  t.match((await runCli(['--help'])).stdout, /\n {2}profile +print the seccomp profile/);
});

// Whether a real seccomp consumer accepts the JSON: neither runc nor crun is installed on this
// machine, so test/profile/libseccomp.test.ts builds filters from learned profiles with libseccomp
// (what both runtimes use) instead; loading a profile in runc is left to the end-to-end suite.
