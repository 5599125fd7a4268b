import t from 'tap';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Attributor, PID_MAX_LIMIT } from '../../src/attribute/attributor.js';
import { ProcFs } from '../../src/attribute/proc-fs.js';
import { SeccompLineParser } from '../../src/parse/seccomp-line-parser.js';
import type { SeccompRecordView } from '../../src/types/seccomp-record.js';
import { makeTempDir } from '../helpers/real-kernel.js';

// A fixture proc root (files written like the kernel's) and records parsed by the real parser,
// so each decision path of the attributor is exercised on its own.
const ID_A = 'a'.repeat(64);
const ID_B = 'b'.repeat(64);
const CG_A = `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod11111111_2222_3333_4444_555555555555.slice/cri-containerd-${ID_A}.scope\n`;
const CG_B = `12:memory:/kubepods/besteffort/pod66666666-7777-8888-9999-000000000000/${ID_B}\n0::/\n`;

class FakeProc {
  constructor(readonly root: string) {}
  spawn(pid: number, o: { cgroup: string; ppid?: number; start?: number; children?: number[] }): void {
    const dir = join(this.root, String(pid));
    mkdirSync(join(dir, 'task', String(pid)), { recursive: true });
    writeFileSync(join(dir, 'cgroup'), o.cgroup);
    // stat: pid (comm) state ppid ... field 22 is the start time
    const fields = ['S', String(o.ppid ?? 1), ...Array.from({ length: 17 }, () => '0'), String(o.start ?? 1000)];
    writeFileSync(join(dir, 'stat'), `${pid} (a b) c) ${fields.join(' ')} 0 0\n`);
    writeFileSync(join(dir, 'task', String(pid), 'children'), (o.children ?? []).map((c) => `${c} `).join(''));
  }
  exit(pid: number): void {
    rmSync(join(this.root, String(pid)), { recursive: true, force: true });
  }
}

function setup(options: { reverifyPids?: boolean } = {}) {
  const root = makeTempDir('sa-proc-');
  const proc = new FakeProc(root);
  const names = {
    lookupOrRescan: (id: string) => (id === ID_A ? { namespace: 'shop', pod: 'web-1', podUid: '11111111-2222-3333-4444-555555555555', container: 'nginx' } : null),
  };
  const attributor = new Attributor({ proc: new ProcFs({ root }), names, ...options });
  attributor.advance(1_000_000);
  let last: { key: string | null; method: string | null; reason: string | null } = { key: null, method: null, reason: null };
  const parser = new SeccompLineParser({
    handler: {
      onRecord(rec: SeccompRecordView) {
        const w = attributor.attribute(rec);
        last = { key: w?.key ?? null, method: attributor.method, reason: attributor.reason };
      },
      onLostSignal() {},
      onMalformed(_l, reason) { throw new Error(reason); },
    },
  });
  const record = (pid: number, o: { nr?: number; comm?: string; exe?: string; ip?: string; subj?: string } = {}) => {
    const line = `audit: type=1326 audit(1.000:1): auid=0 uid=0 gid=0 ses=1${o.subj ? ` subj=${o.subj}` : ''} pid=${pid} comm="${o.comm ?? 'sh'}" exe="${o.exe ?? '/bin/sh'}" sig=0 arch=c000003e syscall=${o.nr ?? 0} compat=0 ip=${o.ip ?? '0x7f0000001000'} code=0x7ffc0000`;
    parser.parseLine(Buffer.from(line), 0, line.length, 1);
    return last;
  };
  return { proc, attributor, record };
}

t.test('a live process resolves through /proc, then from the cache; names from the kubelet', async (t) => {
  const { proc, attributor, record } = setup();
  proc.spawn(100, { cgroup: CG_A });
  t.same(record(100), { key: `container:${ID_A}`, method: 'proc', reason: null });
  proc.exit(100); // later records of a process that is gone still come from the cache
  t.same(record(100), { key: `container:${ID_A}`, method: 'cache', reason: null });
  const w = [...attributor.workloads][0]!;
  t.match(w, { namespace: 'shop', pod: 'web-1', container: 'nginx', qos: 'burstable', runtime: 'containerd', kind: 'container' });
  proc.spawn(101, { cgroup: '0::/system.slice/kubelet.service\n' });
  t.same(record(101), { key: 'unit:kubelet.service', method: 'proc', reason: null }, 'host processes belong to their unit');
});

t.test('a reused pid is noticed by its start time', async (t) => {
  const { proc, attributor, record } = setup();
  proc.spawn(200, { cgroup: CG_A, start: 5000 });
  t.equal(record(200).key, `container:${ID_A}`);
  proc.exit(200);
  proc.spawn(200, { cgroup: CG_B, start: 9000 });
  t.equal(record(200).key, `container:${ID_A}`, 'within the check interval the cache answers');
  attributor.advance(1_000_000 + 1500);
  t.same(record(200), { key: `container:${ID_B}`, method: 'proc', reason: null }, 'after it, the new process is resolved afresh');
});

t.test('reverifyPids false (ingest of a past log): a cached pid is not read from /proc again', async (t) => {
  const { proc, attributor, record } = setup({ reverifyPids: false });
  proc.spawn(200, { cgroup: CG_A, start: 5000 });
  t.same(record(200), { key: `container:${ID_A}`, method: 'proc', reason: null });
  // what /proc shows now says nothing of the log's pid: a stat that would not parse proves it is not read
  proc.exit(200);
  proc.spawn(200, { cgroup: CG_B, start: 9000 });
  writeFileSync(join(proc.root, '200', 'stat'), 'not a stat file');
  for (const at of [1500, 61_000, 125_000]) {
    attributor.advance(1_000_000 + at);
    t.same(record(200), { key: `container:${ID_A}`, method: 'cache', reason: null }, `${at} ms on`);
  }
  t.equal(attributor.pids, 1, 'and it is kept: it was seen');
  // a pid not cached is still read at its first record
  proc.spawn(201, { cgroup: CG_B });
  t.same(record(201), { key: `container:${ID_B}`, method: 'proc', reason: null });
});

t.test('pids that share their low bits, and a pid reused, each keep their own answer', async (t) => {
  const { proc, attributor, record } = setup();
  // 200 and 200 + 65 536 fall in the same slot of the attributor's direct-mapped table
  proc.spawn(200, { cgroup: CG_A, start: 5000 });
  proc.spawn(200 + 65_536, { cgroup: CG_B, start: 5000 });
  for (let i = 0; i < 3; i++) {
    t.equal(record(200).key, `container:${ID_A}`);
    t.equal(record(200 + 65_536).key, `container:${ID_B}`);
  }
  // reused after the check interval: the new entry replaces the old one in the table too
  proc.exit(200);
  proc.spawn(200, { cgroup: CG_B, start: 9000 });
  attributor.advance(1_000_000 + 1500);
  t.equal(record(200).key, `container:${ID_B}`, 'the new process');
  t.equal(record(200 + 65_536).key, `container:${ID_B}`);
  t.same(record(200), { key: `container:${ID_B}`, method: 'cache', reason: null }, 'and from the cache after that');
});

t.test('a child that is gone: its parent\'s children list, a zombie\'s ppid, the fork in the stream', async (t) => {
  const { proc, record } = setup();
  // the parent forks (clone = 56 on x86_64) while the child still runs: the children list names it
  proc.spawn(300, { cgroup: CG_A, children: [301] });
  proc.spawn(301, { cgroup: CG_A, ppid: 300 });
  t.equal(record(300).key, `container:${ID_A}`);
  record(300, { nr: 56 });
  proc.exit(301);
  t.same(record(301), { key: `container:${ID_A}`, method: 'lineage', reason: null }, 'found in the children list at the fork');

  // a zombie: its cgroup no longer names the container, but its stat names the parent
  proc.spawn(302, { cgroup: '0::/\n', ppid: 300 });
  t.same(record(302), { key: `container:${ID_A}`, method: 'lineage', reason: null }, 'zombie by ppid');

  // gone before anything could be read: the parent's fork record from the same mapping
  proc.spawn(400, { cgroup: CG_B });
  t.equal(record(400, { ip: '0x7fbb00002000' }).key, `container:${ID_B}`);
  record(300, { nr: 56, ip: '0x7faa00003000' }); // A forks
  record(400, { nr: 56, ip: '0x7fbb00003000' }); // B forks right after: the latest, but in another mapping
  t.same(record(303, { ip: '0x7faa00001234' }), { key: `container:${ID_A}`, method: 'lineage', reason: null }, 'the fork from the same mapping');
  t.same(record(401, { ip: '0x7fbb00001234' }), { key: `container:${ID_B}`, method: 'lineage', reason: null });
  t.same(record(402, { ip: '0x7fbb00001234' }), { key: null, method: null, reason: 'exited' }, 'each fork makes one child');
  t.same(record(304, { ip: '0x7fcc00001234' }), { key: null, method: null, reason: 'exited' }, 'no fork from that mapping');
  t.same(record(305, { comm: 'other', ip: '0x7faa00001234' }), { key: null, method: null, reason: 'exited' }, 'a child runs its parent\'s image');
});

t.test('a child that renamed itself without exec: its image\'s waiting fork, when only one workload runs it', async (t) => {
  const { proc, record } = setup();
  proc.spawn(600, { cgroup: CG_A });
  t.equal(record(600, { exe: '/bin/busybox' }).key, `container:${ID_A}`);
  record(600, { nr: 56, exe: '/bin/busybox' }); // A's shell forks; the child names itself mkfifo (prctl) and is gone
  t.same(record(601, { comm: 'mkfifo', exe: '/bin/busybox' }), { key: `container:${ID_A}`, method: 'lineage', reason: null }, 'the one workload forking that image');

  proc.spawn(700, { cgroup: CG_B });
  t.equal(record(700, { exe: '/bin/busybox' }).key, `container:${ID_B}`);
  record(600, { nr: 56, exe: '/bin/busybox' });
  record(700, { nr: 56, exe: '/bin/busybox' });
  t.same(record(602, { comm: 'mkfifo', exe: '/bin/busybox' }), { key: null, method: null, reason: 'exited' }, 'two workloads fork that image: no guess');
  t.same(record(603, { comm: 'mkfifo', exe: '/bin/other' }), { key: null, method: null, reason: 'exited' }, 'another image: none of theirs');
  record(600, { nr: 56, exe: '/bin/busybox', ip: '0x7faa00003000' });
  t.same(record(604, { comm: 'mkfifo', exe: '/bin/busybox', ip: '0x7fbb00001234' }), { key: null, method: null, reason: 'exited' }, 'a child whose address lies far from the only fork of its image ran elsewhere');
});

t.test('labels, and what stays unattributed', async (t) => {
  const { proc, attributor, record } = setup();
  const label = 'system_u:system_r:container_t:s0:c19,c27';
  proc.spawn(500, { cgroup: CG_A });
  t.equal(record(500, { subj: label }).key, `container:${ID_A}`);
  t.same(record(501, { subj: label }), { key: `container:${ID_A}`, method: 'label', reason: null }, 'an MCS label names its container');
  t.same(record(502, { subj: 'docker-default (enforce)' }), { key: null, method: null, reason: 'exited' }, 'an AppArmor profile is shared: no answer from it');
  proc.spawn(503, { cgroup: '0::/\n', ppid: 1 });
  t.same(record(503), { key: null, method: null, reason: 'no-cgroup-identity' });
  t.same(record(0), { key: null, method: null, reason: 'no-pid' }, 'pid 0 names no process');
  t.match(attributor.counts, { proc: 1, label: 1, exited: 1, 'no-cgroup-identity': 1, 'no-pid': 1 });
});

t.test('a pid past the kernel\'s limit names no process, even where the proc root has one', async (t) => {
  const { proc, record } = setup();
  proc.spawn(PID_MAX_LIMIT, { cgroup: CG_A });
  proc.spawn(PID_MAX_LIMIT + 1, { cgroup: CG_A });
  proc.spawn(2 ** 32 + 7, { cgroup: CG_A });
  t.same(record(PID_MAX_LIMIT), { key: `container:${ID_A}`, method: 'proc', reason: null }, 'the highest pid the kernel gives');
  t.same(record(PID_MAX_LIMIT), { key: `container:${ID_A}`, method: 'cache', reason: null });
  t.same(record(PID_MAX_LIMIT + 1), { key: null, method: null, reason: 'no-pid' }, 'one past it');
  // a pid that `| 0` would wrap to 7 must not find pid 7's entry
  proc.spawn(7, { cgroup: CG_B });
  t.equal(record(7).key, `container:${ID_B}`);
  t.same(record(2 ** 32 + 7), { key: null, method: null, reason: 'no-pid' }, 'one that wraps in 32 bits');
});

t.test('pids held are capped: the least recently checked go first, a live one is read again', async (t) => {
  const root = makeTempDir('sa-proc-');
  const proc = new FakeProc(root);
  const attributor = new Attributor({ proc: new ProcFs({ root }), maxPids: 8 });
  let now = 1_000_000;
  attributor.advance(now);
  let last: string | null = null;
  const parser = new SeccompLineParser({
    handler: { onRecord(rec) { last = attributor.attribute(rec)?.key ?? null; }, onLostSignal() {}, onMalformed(_l, r) { throw new Error(r); } },
  });
  const record = (pid: number) => {
    const line = `audit: type=1326 audit(1.000:1): auid=0 uid=0 gid=0 ses=1 pid=${pid} comm="sh" exe="/bin/sh" sig=0 arch=c000003e syscall=0 compat=0 ip=0x1 code=0x7ffc0000`;
    parser.parseLine(Buffer.from(line), 0, line.length, 1);
    return last;
  };
  for (let pid = 300; pid < 310; pid++) proc.spawn(pid, { cgroup: CG_A });
  for (let pid = 300; pid < 306; pid++) record(pid);
  now += 2000;
  attributor.advance(now);
  // 300-305 were checked two seconds ago, 306-309 now
  for (let pid = 306; pid < 310; pid++) record(pid);
  attributor.advance(now);
  t.equal(attributor.pids, 6, 'shed to three quarters of the cap');
  t.equal(attributor.counts.proc, 10);
  t.equal(record(309), `container:${ID_A}`);
  t.equal(attributor.counts.cache, 1, 'a pid in use stays');
  t.equal(record(300), `container:${ID_A}`, 'a live process shed is resolved again');
  t.equal(attributor.counts.proc, 11, 'through /proc');
});

t.test('a workload no pid names any more is forgotten at a prune, and made again if it shows again', async (t) => {
  const { proc, attributor, record } = setup();
  proc.spawn(400, { cgroup: CG_A, start: 5000 });
  proc.spawn(401, { cgroup: CG_B, start: 5000 });
  t.equal(record(400).key, `container:${ID_A}`);
  t.equal(record(401).key, `container:${ID_B}`);
  t.equal([...attributor.workloads].length, 2);
  // B's only process exits; a minute later the prune forgets the pid and then its workload
  proc.exit(401);
  attributor.advance(1_000_000 + 61_000);
  record(400);
  attributor.advance(1_000_000 + 125_000);
  t.same([...attributor.workloads].map((w) => w.key), [`container:${ID_A}`], 'only the workload a live pid names');
  proc.spawn(402, { cgroup: CG_B, start: 7000 });
  t.same(record(402), { key: `container:${ID_B}`, method: 'proc', reason: null }, 'made again from /proc');
  t.equal([...attributor.workloads].length, 2);
});
