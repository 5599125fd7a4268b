/**
 * The daemon on the real kernel: `seccomp-auditor run --source kmsg` with a kubelet-style log
 * root; a pod's shell in a kubepods cgroup runs short-lived children under a SECCOMP_RET_LOG
 * filter; the daemon's log names every syscall the children made, under the pod's names.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SyscallStore } from '../../src/store/syscall-store.js';
import { syscallName } from '../../src/syscalls/syscall-table.js';
import { builtCli } from '../helpers/cli.js';
import { KubeNode } from '../helpers/kube-node.js';
import { buildSeccompLog, makeTempDir, requireRealKernel, withPrintkRatelimitOff } from '../helpers/real-kernel.js';

// The rate limit is lifted here on purpose: this file tests the /dev/kmsg path itself (its
// reader, parser and attribution), which needs every record in the kernel log. What /dev/kmsg
// does on a stock node (most records dropped, counted lost) is test/sources/kmsg-stock-ratelimit;
// learning on a stock node goes through the audit group (test/sources/audit-burst, test/e2e).

interface LogLine { event?: string; listen?: string; containerId?: string; namespace?: string; pod?: string; container?: string; syscall?: string | number }

t.test('run --source kmsg names the syscalls of a pod\'s short-lived children', async (t) => {
  if (!requireRealKernel(t)) return;
  const seccompLog = await buildSeccompLog();
  const node = new KubeNode(makeTempDir('sa-run-logs-'));
  t.teardown(() => node.cleanup());
  const c = node.addContainer({ namespace: 'tools', pod: 'probe-5f7d9', container: 'probe', driver: 'systemd' });

  const startedAt = Date.now() - 1000;
  const db = join(makeTempDir('sa-run-db-'), 'node.db');
  const daemon = spawn(process.execPath, [builtCli(), 'run', '--source', 'kmsg', '--listen', '127.0.0.1:0', '--log-dir', node.logRoot, '--db', db], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { daemon.kill('SIGKILL'); });
  const lines: LogLine[] = [];
  let started!: () => void;
  const ready = new Promise<void>((resolve) => { started = resolve; });
  createInterface({ input: daemon.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as LogLine;
    lines.push(line);
    if (line.event === 'started') started();
  });
  await ready;

  await withPrintkRatelimitOff(async () => {
    const pod = spawn('/bin/sh', ['-c', `${KubeNode.enter(c)} && exec ${seccompLog} -- /bin/sh -c 'uname -a >/dev/null; cat /proc/version >/dev/null'`], { stdio: 'ignore' });
    const [code] = await once(pod, 'exit');
    t.equal(code, 0, 'the pod ran');
    // the children's calls reach the log within moments; wait for the last one, bounded
    for (let i = 0; i < 100 && !lines.some((l) => l.containerId === c.containerId && l.syscall === 'uname'); i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, 300));
    if (!lines.some((l) => l.containerId === c.containerId)) {
      // diagnosis for a run where nothing arrived: the daemon's view and the kernel's
      const ready = await fetch(`http://${lines.find((l) => l.event === 'started')!.listen}/readyz`).then((r) => r.text(), (e: Error) => e.message);
      t.comment(`readyz: ${ready}`);
      t.comment(`printk_ratelimit: ${readFileSync('/proc/sys/kernel/printk_ratelimit', 'utf8').trim()}; kmsg holds the pod's records: ${execFileSync('dmesg').toString().includes(c.containerId.slice(0, 8)) || execFileSync('dmesg').toString().split('\n').filter((l) => l.includes('comm="uname"')).length}`);
    }
  });
  daemon.kill('SIGTERM');
  const [exitCode] = await once(daemon, 'exit');
  t.equal(exitCode, 0);

  const mine = lines.filter((l) => l.event === 'new_syscall' && l.containerId === c.containerId);
  if (mine.length === 0) t.comment(`daemon log (last 15 of ${lines.length}): ${JSON.stringify(lines.slice(-15))}`);
  t.ok(mine.length > 20, `distinct syscalls of the pod: ${mine.length}`);
  t.ok(mine.every((l) => l.namespace === 'tools' && l.pod === 'probe-5f7d9' && l.container === 'probe'), 'with the pod\'s names');
  const names = new Set(mine.map((l) => l.syscall));
  for (const name of ['uname', 'execve', 'openat', 'read', 'exit_group']) t.ok(names.has(name), `${name} observed`);

  // what the database kept: the same syscalls under the pod, and no child left unattributed
  const store = SyscallStore.open({ path: db });
  t.teardown(() => store.close());
  const [workload] = store.workloadsOfPod('tools', 'probe-5f7d9');
  t.match(workload, { key: `container:${c.containerId}`, container: 'probe', podUid: c.podUid, qos: 'burstable', runtime: 'containerd' });
  const stored = store.syscallsOf([workload!.key]);
  t.same(new Set(stored.map((r) => syscallName(r.auditArch, r.syscallNr))), names, 'the database holds what the log announced');
  t.ok(stored.every((r) => r.count > 0 && r.action === 'log'));
  // (on a first start the daemon also reads what the kernel still held from before: older runs)
  t.same(store.unattributedPage({ limit: 100_000 }).items.filter((u) => ['uname', 'cat'].includes(u.comm ?? '') && u.lastSeen >= startedAt), [], 'no child left unattributed');
  t.match(store.position('kmsg'), /^[0-9a-f-]+:\d+$/, 'the kernel position is committed with the data');
});
