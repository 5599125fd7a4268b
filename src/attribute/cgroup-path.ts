import type { CgroupIdentity, ContainerRuntime, QosClass } from '../types/container-ref.js';

export type { CgroupIdentity } from '../types/container-ref.js';

/*
 * Who runs a process, read off the names in its cgroup path. The names come from the documented
 * schemes of the kubelet's two cgroup drivers and of the runtimes:
 *
 *   systemd driver   kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod<uid, _ for ->.slice/
 *                      cri-containerd-<id>.scope | crio-<id>.scope | docker-<id>.scope
 *                    (guaranteed pods have no QoS slice: kubepods.slice/kubepods-pod<uid>.slice/...)
 *   cgroupfs driver  /kubepods/burstable/pod<uid>/<id> | /kubepods/pod<uid>/crio-<id>
 *   containerd, v1   /system.slice/containerd.service/kubepods-<qos>-pod<uid>.slice:cri-containerd:<id>
 *                    (its `slice:prefix:name` cgroupsPath, left unconverted)
 *   docker, podman   /docker/<id>, /system.slice/docker-<id>.scope, machine.slice/libpod-<id>.scope,
 *                    rootless .../user@1000.service/user.slice/libpod-<id>.scope/container
 *
 * Roots vary (kind's /kubelet/kubepods and kubelet.slice/kubelet-kubepods.slice, /kubepods/kubepods,
 * --cgroup-root, a cgroup namespace's leading `/..`), so segments are recognised wherever they are.
 */

const UUID_UNDERSCORED = '[0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12}';
const UUID_DASHED = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
// static pods get 32 hex digits without dashes (an md5 of their manifest) as UID
const STATIC_UID = '[0-9a-f]{32}';

/** `[<root prefix>-]kubepods[-<qos>]-pod<uid>.slice`; the prefix is kind's `kubelet-`. */
const SYSTEMD_POD = new RegExp(`^(?:.+-)?kubepods(?:-(burstable|besteffort))?-pod(${UUID_UNDERSCORED}|${STATIC_UID})\\.slice$`, 'i');
/** `pod<uid>`, meaningful only below a `kubepods` segment. */
const CGROUPFS_POD = new RegExp(`^pod(${UUID_DASHED}|${STATIC_UID})$`, 'i');
/** A runtime's container scope (systemd) or directory (cgroupfs). */
const RUNTIME_SCOPE = /^(cri-containerd|crio|docker|libpod)-([0-9a-f]{64})(?:\.scope)?$/i;
/** conmon, the monitor CRI-O and podman start beside each container: a host process, not the container. */
const MONITOR_SCOPE = /^(?:crio|libpod)-conmon-[0-9a-f]{64}(?:\.scope)?$/i;
/** containerd's `slice:prefix:id` cgroupsPath, as one segment. */
const SLICE_PREFIX_ID = /^([^:]+\.slice):([^:]+):([0-9a-f]{64})$/i;
const BARE_ID = /^[0-9a-f]{64}$/i;
/** Unit types systemd makes cgroups for. */
/**
 * The systemd units a process can run in. A slice only groups units (systemd never places a process
 * in one), so a process found in a slice, or in a group outside systemd's naming (`/process_api`,
 * `/k3s`, `/ecs/<task>`), is host with no unit: reported as a unit named after its group it would
 * look like a service the user could look up, and profiles exported for it would cover an
 * arbitrary set of processes.
 */
const SYSTEMD_UNIT = /\.(?:service|scope|socket|mount|swap)$/;

const RUNTIME_OF_PREFIX: Record<string, ContainerRuntime> = {
  'cri-containerd': 'containerd',
  crio: 'cri-o',
  docker: 'docker',
  libpod: 'podman',
};

/** A v2 path of a cgroup removed while the process still sat in it (typically a process exiting). */
const DELETED_SUFFIX = ' (deleted)';

interface PodRef {
  uid: string;
  qos: QosClass | null;
}

interface ContainerRef {
  id: string;
  runtime: ContainerRuntime | null;
}

/** What one path segment names; containerd's `slice:prefix:id` segment names a pod and a container. */
interface Segment {
  pod: PodRef | null;
  container: ContainerRef | null;
  monitor: boolean;
}

const NOTHING: CgroupIdentity = { containerId: null, podUid: null, qos: null, runtime: null, unit: null, path: null };

/**
 * Identity from one cgroup path (the third field of a `/proc/<pid>/cgroup` line). The pod is the
 * innermost pod segment; the container is the first container segment below it (a container nested
 * inside the pod's container is not the kubelet's), or without a pod the innermost container segment
 * (kind nodes and docker-in-docker put the workload's container inside the node's).
 */
export function parseCgroupPath(path: string): CgroupIdentity {
  const clean = path.endsWith(DELETED_SUFFIX) ? path.slice(0, -DELETED_SUFFIX.length) : path;
  // `..` appears when the reader is in a cgroup namespace that does not contain the process
  const names = clean.split('/').filter((s) => s !== '' && s !== '.' && s !== '..');
  const kubepodsAt = names.indexOf('kubepods');
  const segments = names.map((name, i) => classify(name, names[i - 1], kubepodsAt >= 0 && kubepodsAt < i));

  const podIndex = lastIndex(segments, (s) => s.pod !== null);
  const pod = podIndex >= 0 ? segments[podIndex]!.pod : null;
  const containerIndex = pod !== null
    ? segments.findIndex((s, i) => i >= podIndex && s.container !== null)
    : lastIndex(segments, (s) => s.container !== null);
  const container = containerIndex >= 0 ? segments[containerIndex]!.container : null;

  return {
    containerId: container?.id ?? null,
    podUid: pod?.uid ?? null,
    qos: pod?.qos ?? null,
    runtime: container?.runtime ?? null,
    unit: container === null ? unitOf(names, segments, podIndex) : null,
    path: clean,
  };
}

/**
 * Identity from the whole content of a `/proc/<pid>/cgroup` file: `N:controllers:path` lines (v1
 * hierarchies, and `0::path` for v2), or bare paths. Never throws; input without any cgroup path gives
 * all nulls.
 *
 * When the lines disagree (cgroup v1 puts a process in one cgroup per hierarchy, and runtimes do not
 * always place it the same way in each), the most specific answer wins: a line naming a container,
 * else one naming a pod, else one naming a unit. Among equally specific lines the v2 line (`0::`)
 * wins, then `name=systemd` (systemd places every process there, so it names the unit), then the
 * first other line in file order.
 */
export function parseCgroupFile(content: string): CgroupIdentity {
  let best: CgroupIdentity = NOTHING;
  let bestRank = -1;
  for (const raw of content.split('\n')) {
    const line = parseLine(raw);
    if (line === null) continue;
    const identity = parseCgroupPath(line.path);
    // specificity first, then hierarchy preference, then file order (earlier lines keep ties)
    const rank = specificity(identity) * 4 + hierarchyPreference(line.hierarchy, line.controllers);
    if (rank > bestRank) {
      best = identity;
      bestRank = rank;
    }
  }
  return best;
}

function classify(name: string, parent: string | undefined, belowKubepods: boolean): Segment {
  const segment: Segment = { pod: null, container: null, monitor: false };
  let m = SYSTEMD_POD.exec(name);
  if (m) {
    segment.pod = { uid: m[2]!.toLowerCase().replaceAll('_', '-'), qos: qosOf(m[1]) };
  } else if ((m = CGROUPFS_POD.exec(name)) && belowKubepods) {
    segment.pod = { uid: m[1]!.toLowerCase(), qos: parent === 'kubepods' ? 'guaranteed' : qosOrNull(parent) };
  } else if (MONITOR_SCOPE.test(name)) {
    segment.monitor = true;
  } else if ((m = RUNTIME_SCOPE.exec(name))) {
    segment.container = { id: m[2]!.toLowerCase(), runtime: RUNTIME_OF_PREFIX[m[1]!.toLowerCase()] ?? null };
  } else if ((m = SLICE_PREFIX_ID.exec(name))) {
    segment.pod = classify(m[1]!, parent, belowKubepods).pod;
    segment.container = { id: m[3]!.toLowerCase(), runtime: RUNTIME_OF_PREFIX[m[2]!.toLowerCase()] ?? null };
  } else if (BARE_ID.test(name)) {
    // below a pod the id alone does not tell containerd from dockershim; below /docker it is docker
    segment.container = { id: name.toLowerCase(), runtime: parent === 'docker' ? 'docker' : null };
  }
  return segment;
}

function lastIndex<T>(items: T[], test: (item: T) => boolean): number {
  for (let i = items.length - 1; i >= 0; i--) if (test(items[i]!)) return i;
  return -1;
}

/** The systemd pod slice names only burstable and besteffort; guaranteed pods sit right under kubepods. */
function qosOf(name: string | undefined): QosClass {
  return name === undefined ? 'guaranteed' : (name.toLowerCase() as QosClass);
}

function qosOrNull(name: string | undefined): QosClass | null {
  return name === 'burstable' || name === 'besteffort' ? name : null;
}

/** Where a process outside any container belongs; only segments below its pod count, if it has one. */
function unitOf(names: string[], segments: Segment[], podIndex: number): string | null {
  for (let i = segments.length - 1; i > podIndex; i--) if (segments[i]!.monitor) return names[i]!;
  for (let i = names.length - 1; i > podIndex; i--) if (SYSTEMD_UNIT.test(names[i]!)) return names[i]!;
  return null;
}

function specificity(id: CgroupIdentity): number {
  if (id.containerId !== null) return 3;
  if (id.podUid !== null) return 2;
  if (id.unit !== null) return 1;
  return 0;
}

function hierarchyPreference(hierarchy: string | null, controllers: string | null): number {
  if (hierarchy === '0' && controllers === '') return 3;
  if (controllers !== null && controllers.split(',').includes('name=systemd')) return 2;
  return 1;
}

interface CgroupLine {
  /** null for a bare path */
  hierarchy: string | null;
  controllers: string | null;
  path: string;
}

/** Control characters, and U+FFFD from bytes that were not UTF-8: neither occurs in a real cgroup file. */
// eslint-disable-next-line no-control-regex
const NOT_TEXT = /[\u0000-\u001f\u007f\ufffd]/;
const DIGITS = /^\d+$/;

function parseLine(raw: string): CgroupLine | null {
  const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
  if (line === '' || NOT_TEXT.test(line)) return null;
  // only the first two colons separate fields: paths may contain colons (containerd's slice:prefix:id)
  const first = line.indexOf(':');
  const second = first < 0 ? -1 : line.indexOf(':', first + 1);
  if (second > 0 && DIGITS.test(line.slice(0, first))) {
    const path = line.slice(second + 1);
    if (!path.startsWith('/')) return null;
    return { hierarchy: line.slice(0, first), controllers: line.slice(first + 1, second), path };
  }
  // a bare path, as some tools print it (with or without the leading slash); text with spaces, a word
  // without any slash, or a colon before the first slash (a malformed prefix) is not one
  const bare = line.endsWith(DELETED_SUFFIX) ? line.slice(0, -DELETED_SUFFIX.length) : line;
  const slash = bare.indexOf('/');
  if (slash < 0 || /\s/.test(bare) || bare.lastIndexOf(':', slash) >= 0) return null;
  return { hierarchy: null, controllers: null, path: line };
}
