import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseCgroupFile } from '../attribute/cgroup-path.js';
import { ProcFs } from '../attribute/proc-fs.js';
import { result, type CheckResult } from './doctor-report.js';

/*
 * Which cgroup layout the node has and which kubelet driver named its pods' cgroups: attribution
 * reads both from /proc/<pid>/cgroup, and "no kubepods cgroup anywhere" explains a node whose
 * records all end up unattributed.
 */

export type CgroupDriver = 'systemd' | 'cgroupfs';

export interface CgroupMounts {
  /** cgroup v1 hierarchies' mount points */
  v1: string[];
  /** cgroup2 mount points */
  v2: string[];
}

/** cgroup mount points from a mounts file (`/proc/<pid>/mounts` layout: spec, mount point, type, ...). */
export function parseCgroupMounts(text: string): CgroupMounts {
  const mounts: CgroupMounts = { v1: [], v2: [] };
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    if (fields.length < 3) continue;
    // the kernel writes a space in a mount point as \040
    const point = fields[1]!.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)));
    if (fields[2] === 'cgroup') mounts.v1.push(point);
    else if (fields[2] === 'cgroup2') mounts.v2.push(point);
  }
  return mounts;
}

export function cgroupVersionOf(mounts: CgroupMounts): 'v1' | 'v2' | 'hybrid' | null {
  if (mounts.v1.length > 0) return mounts.v2.length > 0 ? 'hybrid' : 'v1';
  return mounts.v2.length > 0 ? 'v2' : null;
}

/** The host's mounts: pid 1's mount namespace, else the reader's own. */
function readMounts(procRoot: string): { text: string; from: string } | null {
  for (const from of [join(procRoot, '1/mounts'), join(procRoot, 'self/mounts')]) {
    try {
      return { text: readFileSync(from, 'utf8'), from };
    } catch {
      // next
    }
  }
  return null;
}

export function checkCgroupVersion(procRoot: string): CheckResult {
  const name = 'cgroup-version';
  const mounts = readMounts(procRoot);
  if (mounts === null) return result(name, 'warn', `cannot read ${join(procRoot, '1/mounts')} or ${join(procRoot, 'self/mounts')}`, 'check --proc-root');
  const parsed = parseCgroupMounts(mounts.text);
  const version = cgroupVersionOf(parsed);
  switch (version) {
    case null: return result(name, 'warn', `no cgroup file system is mounted (${mounts.from})`, 'mount cgroup2 at /sys/fs/cgroup (systemd does at boot)');
    case 'v2': return result(name, 'ok', `cgroup v2 (unified) at ${parsed.v2.join(', ')}`);
    case 'v1': return result(name, 'ok', `cgroup v1: ${parsed.v1.length} hierarchies under ${commonParent(parsed.v1)}`);
    case 'hybrid': return result(name, 'ok', `hybrid: ${parsed.v1.length} cgroup v1 hierarchies under ${commonParent(parsed.v1)} and cgroup2 at ${parsed.v2.join(', ')}`);
  }
}

/** Where each driver puts the pods' parent cgroup, relative to a hierarchy's root (kind nests it under kubelet). */
const KUBEPODS_DIRS: ReadonlyArray<[string, CgroupDriver]> = [
  ['kubepods.slice', 'systemd'],
  ['kubelet.slice/kubelet-kubepods.slice', 'systemd'],
  ['kubepods', 'cgroupfs'],
  ['kubelet/kubepods', 'cgroupfs'],
];

/** At most this many processes' cgroup files are read: enough to see a pod, cheap on a busy node. */
const MAX_PIDS = 1000;

/**
 * Looks for the kubepods cgroup in each mounted hierarchy (re-rooted at sysRoot, the host's /sys)
 * and classifies processes' cgroup files as attribution will. No kubepods cgroup at all is a
 * warning: a node without pods yet looks the same.
 */
export function checkKubepodsCgroups(options: { procRoot: string; sysRoot: string }): CheckResult {
  const name = 'kubepods-cgroups';
  const mounts = readMounts(options.procRoot);
  const parsed = mounts !== null ? parseCgroupMounts(mounts.text) : { v1: [], v2: [] };
  const hierarchies = [...parsed.v2, ...parsed.v1]
    .filter((p) => p === '/sys' || p.startsWith('/sys/'))
    .map((p) => join(options.sysRoot, p.slice('/sys'.length)));
  if (hierarchies.length === 0) hierarchies.push(join(options.sysRoot, 'fs/cgroup'));

  const dirs: string[] = [];
  const drivers = new Set<CgroupDriver>();
  for (const root of hierarchies) {
    for (const [dir, driver] of KUBEPODS_DIRS) {
      if (statSync(join(root, dir), { throwIfNoEntry: false })?.isDirectory()) {
        dirs.push(join(root, dir));
        drivers.add(driver);
      }
    }
  }

  const proc = new ProcFs({ root: options.procRoot });
  let read = 0;
  let inPods = 0;
  let pids: string[] = [];
  try {
    pids = readdirSync(options.procRoot).filter((e) => /^\d+$/.test(e));
  } catch {
    // reported by the proc-root check
  }
  for (const pid of pids.slice(0, MAX_PIDS)) {
    let content: string | null;
    try {
      content = proc.readCgroup(Number(pid));
    } catch {
      continue;
    }
    if (content === null) continue;
    read++;
    const id = parseCgroupFile(content);
    if (id.podUid === null) continue;
    inPods++;
    drivers.add(driverOfPath(id.path ?? ''));
  }

  const processes = `${inPods} of ${read} processes${pids.length > MAX_PIDS ? ` (the first ${MAX_PIDS})` : ''} in pod cgroups`;
  if (drivers.size === 0) {
    return result(name, 'warn', `no kubepods cgroup under ${hierarchies.join(', ')} and ${processes}: no pod runs here yet, or this is not a Kubernetes node`,
      "start a pod and run doctor again; check the kubelet's cgroupDriver and cgroupRoot");
  }
  const shown = dirs.length > 3 ? [...dirs.slice(0, 3), `${dirs.length - 3} more`] : dirs;
  return result(name, 'ok', `${[...drivers].sort().join(' and ')} driver${drivers.size > 1 ? 's' : ''}: ${shown.length > 0 ? `${shown.join(', ')}; ` : ''}${processes}`);
}

/** systemd names the pod's cgroup `kubepods-...-pod<uid>.slice`; cgroupfs plain `kubepods/.../pod<uid>`. */
export function driverOfPath(path: string): CgroupDriver {
  return /kubepods[^/:]*\.slice/.test(path) ? 'systemd' : 'cgroupfs';
}

function commonParent(points: string[]): string {
  const parents = new Set(points.map((p) => p.slice(0, Math.max(1, p.lastIndexOf('/')))));
  return parents.size === 1 ? [...parents][0]! : [...parents].join(', ');
}
