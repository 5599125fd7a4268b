/**
 * Plain result types of attribution (pid → container → Kubernetes names). Free of imports so that
 * aggregate, store and http can use them without depending on the attribute stage itself.
 */

/** The pod's QoS class, as the kubelet encodes it in the pod's cgroup. */
export type QosClass = 'guaranteed' | 'burstable' | 'besteffort';

/** The runtime that created the container, when its cgroup name says so. */
export type ContainerRuntime = 'containerd' | 'cri-o' | 'docker' | 'podman';

/** What the content of one `/proc/<pid>/cgroup` file says about who runs the process. */
export interface CgroupIdentity {
  /** 64 lower-case hex digits, or null when the process is not in a container's cgroup. */
  containerId: string | null;
  /**
   * The pod's UID in its API form, lower case: dashed UUID for ordinary pods, 32 hex digits for static
   * pods (the kubelet makes their UID from a hash of the manifest). Null outside pods.
   */
  podUid: string | null;
  /** Only known together with podUid. */
  qos: QosClass | null;
  /** Null when not in a container, and when the cgroup name does not tell (cgroupfs driver: bare id). */
  runtime: ContainerRuntime | null;
  /**
   * For a process that is not in a container: its systemd unit or slice (innermost), a runtime monitor
   * such as `crio-conmon-<id>.scope`, or for a group outside systemd's naming the top-level group that
   * holds it (`/k3s` → `k3s`). Null for containers and for the root cgroup.
   */
  unit: string | null;
  /** The cgroup path the answer came from (` (deleted)` removed); null when the input held none. */
  path: string | null;
}

/** A container's Kubernetes names, as the kubelet's log files spell them. */
export interface ContainerNames {
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
}

/** A pod's names, from its log directory. */
export interface PodNames {
  namespace: string;
  pod: string;
}
