/**
 * A burst on a stock node (issue 11): a pod makes over 50 000 seccomp records in a few seconds
 * while the daemon runs as the DaemonSet runs it (no --source: its default; a non-root uid with
 * only the DaemonSet's capabilities; printk's rate limit as the kernel ships it). An independent
 * reader of the audit group (audit-recorder.c) records the same burst: the daemon's count per
 * syscall equals the reader's, and it reports no loss.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { chmodSync, chownSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { recordAudit } from '../helpers/audit-recorder.js';
import { asDaemonSetUser, NOBODY } from '../helpers/daemonset-privileges.js';
import { KubeNode } from '../helpers/kube-node.js';
import { buildSeccompLog, makeTempDir, requireRealKernel, withStockPrintkRatelimit } from '../helpers/real-kernel.js';
import { DaemonProcess } from '../e2e/harness/daemon-process.js';

interface SyscallsAnswer { containers: { containerId: string; syscalls: { name: string | null; nr: number; action: string; count: number }[] }[] }

const BYTES = 26_000;

t.test('50 000 records in a burst: the daemon counts what an independent reader of the group counts, and loses none', async (t) => {
  if (!requireRealKernel(t)) return;
  const seccompLog = await buildSeccompLog();
  const logRoot = makeTempDir('sa-burst-logs-');
  chmodSync(logRoot, 0o755);
  const node = new KubeNode(logRoot);
  t.teardown(() => node.cleanup());
  const c = node.addContainer({ namespace: 'burst', pod: 'loader-7f9c4d-x2k8q', container: 'loader', driver: 'cgroupfs' });
  const dbDir = makeTempDir('sa-burst-db-');
  chownSync(dbDir, NOBODY, NOBODY);
  // the pod's own busybox: its records are told apart from anything else on the machine by exe=
  const image = makeTempDir('sa-burst-image-');
  chmodSync(image, 0o755);
  const bb = join(image, 'busybox');
  copyFileSync('/usr/bin/busybox', bb);
  chmodSync(bb, 0o755);

  await withStockPrintkRatelimit(async () => {
    const daemon = await DaemonProcess.start(['--log-dir', logRoot, '--db', join(dbDir, 'node.db'), '--kubelet-seccomp-dir', 'none'], 20_000, asDaemonSetUser());
    t.teardown(() => daemon.kill());
    t.match(daemon.lines.find((l) => l.event === 'source_chosen'), { source: 'audit' }, 'the default source on a stock node is the audit group');
    await daemon.until<{ ready: boolean }>('/readyz', (b) => b.ready, 10_000);

    let seconds = 0;
    const recorded = await recordAudit(async () => {
      const started = performance.now();
      const pod = spawn('/bin/sh', ['-c', `${KubeNode.enter(c)} && exec ${seccompLog} -- ${bb} sh -c '${bb} dd if=/dev/zero of=/dev/null bs=1 count=${BYTES} 2>/dev/null; for i in 1 2 3 4 5 6 7 8 9 10; do ${bb} ls /proc/self >/dev/null; done'`], { stdio: 'ignore' });
      const [code] = await once(pod, 'exit');
      seconds = (performance.now() - started) / 1000;
      t.equal(code, 0, 'the pod ran');
    });
    t.equal(recorded.lost, 0, 'the independent reader lost nothing: its count is the truth');
    const mine = recorded.records.filter((l) => l.includes(`exe="${bb}"`) || l.includes(`exe="${seccompLog}"`));
    t.ok(mine.length >= 50_000, `the pod made ${mine.length} records in ${seconds.toFixed(2)} s (${Math.round(mine.length / seconds)} per second)`);
    const truth = new Map<string, number>();
    for (const l of mine) {
      const key = `${/ syscall=(\d+) /.exec(l)![1]}:${/ code=(0x[0-9a-f]+)/.exec(l)![1] === '0x7ffc0000' ? 'log' : 'other'}`;
      truth.set(key, (truth.get(key) ?? 0) + 1);
    }

    const path = `/api/v1/namespaces/burst/pods/${c.pod}/syscalls`;
    const total = (a: SyscallsAnswer): number => a.containers.flatMap((k) => k.syscalls).reduce((n, s) => n + s.count, 0);
    const answer = await daemon.until<SyscallsAnswer>(path, (a) => total(a) >= mine.length, 20_000).catch(async () => (await daemon.get<SyscallsAnswer>(path)).body);
    const counted = new Map<string, number>();
    for (const s of answer.containers.flatMap((k) => k.syscalls)) counted.set(`${s.nr}:${s.action === 'log' ? 'log' : 'other'}`, s.count);
    t.same(Object.fromEntries([...counted].sort()), Object.fromEntries([...truth].sort()), `per syscall, the daemon's counts are the reader's (${total(answer)} of ${mine.length})`);

    const status = (await daemon.get<{ lost: { count: number }[]; sources: { name: string; audit?: { rcvbuf: number } }[] }>('/api/v1/status')).body;
    t.same(status.lost, [], 'no record lost, by the daemon\'s own account');
    const metrics = (await daemon.get<string>('/metrics')).body;
    const lostSeries = metrics.split('\n').filter((l) => l.startsWith('seccomp_auditor_records_lost_total{'));
    t.ok(lostSeries.every((l) => l.endsWith(' 0')), `records_lost_total is 0 (${lostSeries.length} series)`);
    t.comment(`receive buffer obtained as uid ${NOBODY} without CAP_NET_ADMIN: ${status.sources.find((s) => s.name === 'audit')?.audit?.rcvbuf} bytes`);
  });
});
