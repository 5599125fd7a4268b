/**
 * What a kubelet leaves on a node for the daemon to read, made for containers that a real OCI
 * runtime then runs: kubepods cgroup paths in either driver's naming (the runtime creates the
 * cgroups from `linux.cgroupsPath`), and the kubelet's log root (`pods/<ns>_<pod>_<uid>/<container>/`
 * directories and `containers/<pod>_<ns>_<container>-<id>.log` symlinks).
 */
import { mkdirSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeKubeletLogEntry } from '../../helpers/kube-node.js';
import { removeCgroupTree } from './oci-runtime.js';

export type CgroupDriver = 'cgroupfs' | 'systemd';

export interface PodContainer {
  namespace: string;
  pod: string;
  container: string;
  podUid: string;
  containerId: string;
  driver: CgroupDriver;
  /** for the bundle's `linux.cgroupsPath` */
  cgroupsPath: string;
}

const CGROUP_ROOT = '/sys/fs/cgroup';

export class KubeletNode {
  readonly containers: PodContainer[] = [];
  readonly #podUids = new Map<string, string>();
  /** cgroup directories (in every hierarchy) that did not exist before this node named them */
  readonly #made = new Set<string>();

  constructor(readonly logRoot: string) {
    mkdirSync(join(logRoot, 'containers'), { recursive: true });
    mkdirSync(join(logRoot, 'pods'), { recursive: true });
  }

  /** A container of a pod (the pod's uid is shared by its containers). */
  addContainer(o: { namespace: string; pod: string; container: string; driver: CgroupDriver }): PodContainer {
    const podKey = `${o.namespace}/${o.pod}`;
    const podUid = this.#podUids.get(podKey) ?? randomUUID();
    this.#podUids.set(podKey, podUid);
    const containerId = randomBytes(32).toString('hex');
    const cgroupsPath = o.driver === 'cgroupfs'
      ? `/kubepods/burstable/pod${podUid}/${containerId}`
      : `/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${podUid.replaceAll('-', '_')}.slice/cri-containerd-${containerId}.scope`;
    const parts = cgroupsPath.split('/');
    for (const h of hierarchies()) {
      for (let i = 2; i <= parts.length; i++) {
        const dir = join(CGROUP_ROOT, h, ...parts.slice(1, i));
        if (!existsSync(dir)) this.#made.add(dir);
      }
    }
    writeKubeletLogEntry(this.logRoot, { ...o, podUid, containerId });
    const c = { ...o, podUid, containerId, cgroupsPath };
    this.containers.push(c);
    return c;
  }

  /**
   * Removes the kubepods cgroups the runtimes left (they remove a container's own cgroup, not
   * its parents), in every hierarchy, deepest first; only trees this node created.
   */
  cleanup(): void {
    for (const dir of [...this.#made].sort((a, b) => b.length - a.length)) removeCgroupTree(dir, true);
    this.#made.clear();
  }
}

function hierarchies(): string[] {
  return readdirSync(CGROUP_ROOT, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
}
