/**
 * The audit multicast source on the real kernel: the canary proves the channel (and a reader in
 * the wrong network namespace or without CAP_AUDIT_READ is told so), an overrun is counted
 * exactly, and only the kernel's messages are records.
 */
import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AuditSource } from '../../src/sources/audit-source.js';
import { builtCli } from '../helpers/cli.js';
import { recordAudit } from '../helpers/audit-recorder.js';
import { asDaemonSetUser, NOBODY } from '../helpers/daemonset-privileges.js';
import { buildSeccompLog, makeTempDir, requireRealKernel } from '../helpers/real-kernel.js';
import { DaemonProcess } from '../e2e/harness/daemon-process.js';

const PROBE = fileURLToPath(new URL('./audit-probe-child.ts', import.meta.url));

function probeUnder(prefix: string[]): { state: string; detail?: string; code?: string } {
  const out = execFileSync(prefix[0] ?? process.execPath, [...prefix.slice(1), ...(prefix.length ? [process.execPath] : []), '--import', 'tsx', PROBE], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out.trim()) as { state: string; detail?: string; code?: string };
}

async function until(pred: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 10))) if (pred()) return true;
  return pred();
}

t.test('the canary: works here, deaf in a network namespace of its own, refused without CAP_AUDIT_READ', async (t) => {
  if (!requireRealKernel(t)) return;
  t.match(probeUnder([]), { state: 'works' }, 'root in the host namespaces');
  t.match(probeUnder(asDaemonSetUser()), { state: 'works' }, `uid ${NOBODY} with the DaemonSet's capabilities only`);
  const deaf = probeUnder(['unshare', '-n']);
  t.equal(deaf.state, 'deaf', 'joined, but nothing arrives in another network namespace');
  t.match(deaf.detail, /hostNetwork: true/, 'and the answer names the fix');
  const refused = probeUnder(['setpriv', '--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', '--inh-caps', '-all', '--bounding-set', '-all']);
  t.match(refused, { state: 'refused', code: 'EPERM' }, 'no capability: refused');
});

t.test('a daemon in the wrong network namespace is not ready and says why', async (t) => {
  if (!requireRealKernel(t)) return;
  const db = `${makeTempDir('sa-audit-ns-')}/node.db`;
  // a network namespace of its own, loopback up so that its API can be asked from inside it
  const netns = ['unshare', '-n', '/bin/sh', '-c', 'busybox ip link set lo up && exec "$0" "$@"'];
  const daemon = await DaemonProcess.start(['--source', 'audit', '--db', db, '--kubelet-seccomp-dir', 'none'], 20_000, netns);
  t.teardown(() => daemon.kill());
  type Ready = { ready: boolean; sources: { name: string; error: string | null }[] };
  const readyz = (): Ready => JSON.parse(execFileSync(
    'nsenter', [`--net=/proc/${daemon.child.pid}/ns/net`, process.execPath, '-e', `fetch(${JSON.stringify(`${daemon.url}/readyz`)}).then((r) => r.text()).then((s) => process.stdout.write(s))`],
    { encoding: 'utf8' },
  )) as Ready;
  let last = readyz();
  // the verdict comes a second after start
  for (let i = 0; i < 30 && last.sources[0]?.error?.startsWith('waiting') === true; i++) {
    await new Promise((r) => setTimeout(r, 100));
    last = readyz();
  }
  t.equal(last.ready, false, '/readyz fails');
  t.match(last.sources.find((s) => s.name === 'audit')?.error, /host's initial network namespace.*hostNetwork: true/, 'naming the fix');
  // its log line may trail the answer by a moment (pino writes asynchronously)
  for (let i = 0; i < 50 && !daemon.lines.some((l) => l.event === 'audit_canary'); i++) await new Promise((r) => setTimeout(r, 40));
  t.ok(daemon.lines.some((l) => l.event === 'audit_canary' && l['state'] === 'missing'), 'and logs it');
});

t.test('an overrun is counted exactly: records handed on + lost = what the kernel sent', async (t) => {
  if (!requireRealKernel(t)) return;
  const seccompLog = await buildSeccompLog();
  // the burst's own busybox, so that its records are told apart from anything else on the machine
  const bb = `${makeTempDir('sa-overrun-')}/busybox`;
  copyFileSync('/usr/bin/busybox', bb);
  chmodSync(bb, 0o755);
  const bodies: string[] = [];
  // the smallest socket buffer the kernel grants (SO_RCVBUFFORCE as root) and the smallest ring:
  // while this thread is held, the ring fills, the receive thread stops, the socket overflows
  const source = new AuditSource({ sink: { onAuditBody: (b, s, e) => { bodies.push(b.toString('latin1', s, e)); } }, rcvbufBytes: 4096, ringBytes: 65536, canaryEveryMs: 3_600_000 });
  let burstPid = -1;
  const recorded = await recordAudit(async () => {
    source.start();
    t.teardown(() => source.stop());
    t.ok(await until(() => source.canary.state === 'seen', 2000), 'the canary arrived before the burst');
    // spawnSync holds this thread: the source cannot read while the burst fills its socket
    const r = spawnSync(seccompLog, ['--', bb, 'sh', '-c', `i=0; while [ $i -lt 300 ]; do ${bb} true; i=$((i+1)); done`], { stdio: 'ignore' });
    t.equal(r.status, 0, 'the burst ran');
    burstPid = r.pid;
    source.drain(0);
    await new Promise((r) => setTimeout(r, 300));
    source.drain(0);
  });
  t.equal(recorded.lost, 0, 'the test\'s recorder lost nothing (its count is the truth)');
  // compared within the burst's serials: whatever else the machine logged then counts on both sides
  const serial = (l: string): number => Number(/audit\(\d+\.\d+:(\d+)\)/.exec(l)?.[1] ?? -1);
  const burst = recorded.records.filter((l) => l.includes(`exe="${bb}"`) || l.includes(` pid=${burstPid} `)).map(serial);
  const [first, last] = [Math.min(...burst), Math.max(...burst)];
  const inWindow = (l: string): boolean => serial(l) >= first && serial(l) <= last;
  const truth = recorded.records.filter(inWindow).length;
  const handed = bodies.filter(inWindow).length;
  t.ok(burst.length > 1000, `the burst made ${burst.length} records`);
  t.ok(source.lostRecords > 0, `the overrun was counted (${source.lostRecords} lost)`);
  t.equal(handed + source.lostRecords, truth, `handed on (${handed}) + lost (${source.lostRecords}) = what the kernel sent (${truth})`);
  t.equal(source.records, bodies.length);
});

t.test('only the kernel\'s messages are records: a process sending to the group is dropped and counted', async (t) => {
  if (!requireRealKernel(t)) return;
  const bodies: string[] = [];
  const source = new AuditSource({ sink: { onAuditBody: (b, s, e) => { bodies.push(b.toString('latin1', s, e)); } } });
  source.start();
  t.teardown(() => source.stop());
  await until(() => source.canary.state === 'seen', 2000);
  // root with CAP_NET_ADMIN may send to a netlink multicast group: a forged seccomp record
  const body = 'audit(1795759595.762:3): auid=0 uid=0 gid=0 ses=1 pid=1 comm="forged" exe="/forged" sig=0 arch=c000003e syscall=165 compat=0 ip=0x0 code=0x7ffc0000';
  const py = `import socket,struct
s=socket.socket(socket.AF_NETLINK,socket.SOCK_RAW,9)
s.bind((0,0))
b=${JSON.stringify(body)}.encode()
s.sendto(struct.pack('=IHHII',16+len(b),1326,0,0,0)+b,(0,1))`;
  const sent = spawnSync('python3', ['-c', py], { encoding: 'utf8' });
  t.equal(sent.status, 0, `the forged message was sent (${sent.stderr.trim()})`);
  t.ok(await until(() => { source.drain(0); return source.foreign > 0; }, 2000), 'it arrived, from a port id other than the kernel\'s');
  t.same(bodies.filter((b) => b.includes('forged')), [], 'and was not handed on as a record');
});

t.test('the CLI knows the source', async (t) => {
  const help = execFileSync(process.execPath, [builtCli(), 'run', '--help'], { encoding: 'utf8' });
  t.match(help, /'audit' \(the kernel's audit multicast group/);
});
