import { execFileSync, spawn } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { KubeNode } from '../test/helpers/kube-node.js';

/**
 * The audit multicast source under a burst, as a stock node runs it: the built daemon with its
 * default source, the kernel's printk rate limit untouched, while a pod's process (a kubepods
 * cgroup and a kubelet-style log entry) under a logging seccomp filter makes `records` records as
 * fast as it can (dd with 1-byte blocks: a read and a write per byte). The tests' own reader of the group (test/helpers/audit-recorder.c) counts what
 * the kernel sent. Reports the daemon's count, its losses, and the CPU its process spent per
 * record. Needs root and a C compiler.
 */
export async function auditBurstBench(records = 200_000): Promise<{
  made: number; counted: number; lost: number; burstMs: number; cpuUsPerRecord: number; rcvbuf: number;
} | { skipped: string }> {
  if (process.getuid?.() !== 0) return { skipped: 'needs root (a seccomp filter and the audit group)' };
  const repo = fileURLToPath(new URL('..', import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), 'sa-audit-burst-'));
  try {
    const seccompLog = join(dir, 'seccomp-log');
    const recorderBin = join(dir, 'audit-recorder');
    execFileSync('cc', ['-O2', '-o', seccompLog, join(repo, 'test/helpers/seccomp-log.c')]);
    execFileSync('cc', ['-O2', '-o', recorderBin, join(repo, 'test/helpers/audit-recorder.c')]);
    // the burst comes from a pod, as on a node: attributed once, then every record a cache hit
    const node = new KubeNode(join(dir, 'logs'));
    const pod = node.addContainer({ namespace: 'bench', pod: 'burst-5d8f9c-q7x2m', container: 'dd', driver: 'cgroupfs' });
    const daemon = spawn(process.execPath, [join(repo, 'dist', 'cli.js'), 'run', '--db', join(dir, 'burst.db'), '--listen', '127.0.0.1:0', '--kubelet-seccomp-dir', 'none', '--log-dir', node.logRoot], { stdio: ['ignore', 'pipe', 'inherit'] });
    const listen = await new Promise<string>((resolve) => {
      createInterface({ input: daemon.stdout! }).on('line', (l) => {
        const m = /"event":"started".*"listen":"([^"]+)"/.exec(l);
        if (m) resolve(m[1]!);
      });
    });
    const status = async (): Promise<{ records: number; lost: number; rcvbuf: number }> => {
      const s = await (await fetch(`http://${listen}/api/v1/status`)).json() as { sources: { name: string; records?: number; audit?: { rcvbuf: number } }[]; lost: { count: number }[] };
      const a = s.sources.find((x) => x.name === 'audit');
      return { records: a?.records ?? 0, lost: s.lost.reduce((n, l) => n + l.count, 0), rcvbuf: a?.audit?.rcvbuf ?? 0 };
    };
    for (let i = 0; i < 50 && !(await fetch(`http://${listen}/readyz`)).ok; i++) await new Promise((r) => setTimeout(r, 100));
    const before = await status();
    const cpuBefore = cpuMs(daemon.pid!);
    // into a file: this thread is held by the burst below and would leave a pipe unread
    const recordedFile = join(dir, 'recorded');
    const out = openSync(recordedFile, 'w');
    const recorder = spawn(recorderBin, [], { stdio: ['ignore', out, 'pipe'] });
    closeSync(out);
    await new Promise<void>((resolve) => recorder.stderr!.once('data', () => resolve()));
    const started = performance.now();
    execFileSync('/bin/sh', ['-c', `${KubeNode.enter(pod)} && exec ${seccompLog} -- dd if=/dev/zero of=/dev/null bs=1 count=${Math.ceil(records / 2)}`], { stdio: 'ignore' });
    const burstMs = performance.now() - started;
    recorder.kill('SIGTERM');
    await once(recorder, 'close');
    const recorded = readFileSync(recordedFile, 'latin1').split('\n');
    const made = recorded.filter((l) => l.startsWith('type=1326 ')).length;
    const recorderLost = Number(recorded.find((l) => l.startsWith('# lost '))?.slice(7) ?? -1);
    if (recorderLost !== 0) throw new Error(`the independent reader lost ${recorderLost} records: its count is no reference`);
    // the daemon's counts cross its threads once a second: wait until it has counted the burst, or
    // has gained nothing for three seconds
    let after = await status();
    for (let i = 0, last = -1, still = 0; i < 120 && after.records - before.records < made && still < 6; i++) {
      still = after.records === last ? still + 1 : 0;
      last = after.records;
      await new Promise((r) => setTimeout(r, 500));
      after = await status();
    }
    const cpu = cpuMs(daemon.pid!) - cpuBefore;
    daemon.kill('SIGTERM');
    await once(daemon, 'exit');
    node.cleanup();
    const counted = after.records - before.records;
    return { made, counted, lost: after.lost - before.lost, burstMs, cpuUsPerRecord: (cpu * 1000) / Math.max(1, counted), rcvbuf: after.rcvbuf };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** user + system CPU of a process so far, in ms (all its threads) */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  console.log(JSON.stringify(await auditBurstBench(Number(process.argv[2] ?? 200_000))));
}
