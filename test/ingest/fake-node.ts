/**
 * A node as the pipeline sees it, in a temp directory: a proc root whose pids sit in kubepods
 * cgroups (cgroup and stat files, as bench/ingest-bench.ts makes them) and a kubelet log root
 * (`containers/` symlinks into `pods/`), plus seccomp record lines in the kernel's own format.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface FakeContainer {
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  /** 64 hex digits */
  id: string;
  pid: number;
  /** false: the kubelet's log directory does not know it (only the Kubernetes API may) */
  kubelet?: boolean;
}

export function makeNode(dir: string, containers: readonly FakeContainer[]): { procRoot: string; logDir: string } {
  const procRoot = join(dir, 'proc');
  const logDir = join(dir, 'log');
  mkdirSync(join(logDir, 'containers'), { recursive: true });
  mkdirSync(join(logDir, 'pods'), { recursive: true });
  for (const c of containers) {
    const pidDir = join(procRoot, String(c.pid));
    mkdirSync(pidDir, { recursive: true });
    writeFileSync(join(pidDir, 'cgroup'), `0::/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${c.podUid.replaceAll('-', '_')}.slice/cri-containerd-${c.id}.scope\n`);
    writeFileSync(join(pidDir, 'stat'), `${c.pid} (${c.container}) S 1 ${'0 '.repeat(17)}${1000 + c.pid} 0 0\n`);
    if (c.kubelet === false) continue;
    const podDir = join(logDir, 'pods', `${c.namespace}_${c.pod}_${c.podUid}`, c.container);
    mkdirSync(podDir, { recursive: true });
    writeFileSync(join(podDir, '0.log'), '');
    symlinkSync(join(podDir, '0.log'), join(logDir, 'containers', `${c.pod}_${c.namespace}_${c.container}-${c.id}.log`));
  }
  return { procRoot, logDir };
}

export const CODE = { log: 0x7ffc0000, errno: 0x00050001, kill_process: 0x80000000, trap: 0x00030000 } as const;

let serial = 0;

/** One auditd-form SECCOMP line (x86_64) of `pid` calling `syscall`, at `timeMs` (default now). */
export function recordLine(pid: number, syscall: number, action: keyof typeof CODE = 'log', timeMs = Date.now()): string {
  const t = `${Math.floor(timeMs / 1000)}.${String(timeMs % 1000).padStart(3, '0')}`;
  return `type=SECCOMP msg=audit(${t}:${++serial}): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${pid} comm="app" exe="/usr/bin/app" sig=0 arch=c000003e syscall=${syscall} compat=0 ip=0x7f0000001000 code=0x${CODE[action].toString(16)}\n`;
}

/** A line that looks like a seccomp record and is broken. */
export const MALFORMED_LINE = 'type=SECCOMP msg=audit(1700000000.000:1): auid=4294967295 uid=0 gid=0 ses=4294967295 pid=12 comm="x" exe="/x" sig=0 arch=c000003e syscall=zz compat=0 ip=0x1 code=0x7ffc0000\n';
