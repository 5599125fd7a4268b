/**
 * A Kubernetes-looking node on the real kernel, for attribution tests: kubepods cgroups in the
 * cgroupfs driver's v1 layout (/sys/fs/cgroup/<controller>/kubepods/...) and the systemd driver's
 * v2 layout (kubepods.slice/.../cri-containerd-<id>.scope), and a kubelet-style log root (`containers/` symlinks,
 * `pods/` directories). Everything made is removed by `cleanup()`, leaf first.
 */
import { mkdirSync, rmdirSync, existsSync, symlinkSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';

export interface FakeContainer {
  namespace: string;
  pod: string;
  container: string;
  podUid: string;
  containerId: string;
  driver: 'cgroupfs' | 'systemd';
  /** the cgroup directory whose cgroup.procs takes a pid */
  cgroupDir: string;
}

/**
 * What the kubelet writes for a container: `pods/<ns>_<pod>_<uid>/<container>/0.log` and the
 * `containers/<pod>_<ns>_<container>-<id>.log` symlink to it (where the daemon takes names from).
 */
export function writeKubeletLogEntry(logRoot: string, c: { namespace: string; pod: string; podUid: string; container: string; containerId: string }): void {
  const podDir = join(logRoot, 'pods', `${c.namespace}_${c.pod}_${c.podUid}`, c.container);
  mkdirSync(podDir, { recursive: true });
  writeFileSync(join(podDir, '0.log'), '');
  symlinkSync(join(podDir, '0.log'), join(logRoot, 'containers', `${c.pod}_${c.namespace}_${c.container}-${c.containerId}.log`));
}

export class KubeNode {
  readonly #made: string[] = [];
  readonly containers: FakeContainer[] = [];

  constructor(readonly logRoot: string) {
    mkdirSync(join(logRoot, 'containers'), { recursive: true });
    mkdirSync(join(logRoot, 'pods'), { recursive: true });
  }

  addContainer(o: { namespace: string; pod: string; container: string; driver: 'cgroupfs' | 'systemd' }): FakeContainer {
    const podUid = randomUUID();
    const containerId = randomBytes(32).toString('hex');
    const cgroupDir = o.driver === 'cgroupfs'
      ? join('/sys/fs/cgroup/memory/kubepods/burstable', `pod${podUid}`, containerId)
      : join('/sys/fs/cgroup/unified/kubepods.slice/kubepods-burstable.slice',
        `kubepods-burstable-pod${podUid.replaceAll('-', '_')}.slice`, `cri-containerd-${containerId}.scope`);
    this.#mkdirs(cgroupDir);
    writeKubeletLogEntry(this.logRoot, { ...o, podUid, containerId });
    const c = { ...o, podUid, containerId, cgroupDir };
    this.containers.push(c);
    return c;
  }

  /** Shell words that move the shell itself into `c`'s cgroup before it execs the rest. */
  static enter(c: FakeContainer): string {
    return `echo $$ > ${c.cgroupDir}/cgroup.procs`;
  }

  #mkdirs(dir: string): void {
    const parts = dir.split('/');
    for (let i = 2; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!existsSync(d)) {
        mkdirSync(d);
        this.#made.push(d);
      }
    }
  }

  /** Removes the cgroups (once empty) deepest first. */
  cleanup(): void {
    for (const d of [...this.#made].reverse()) {
      for (let attempt = 0; attempt < 50; attempt++) {
        try {
          if (existsSync(join(d, 'cgroup.procs')) && readFileSync(join(d, 'cgroup.procs'), 'utf8').trim() !== '') {
            Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
            continue;
          }
          rmdirSync(d);
          break;
        } catch {
          Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
        }
      }
    }
    this.#made.length = 0;
  }
}
