/**
 * What a record is attributed to: a container (with its pod, once names are known) or a host
 * unit. One object per container or unit, shared by every record of it, so the hot path hands
 * out references and never builds one.
 */
export interface Workload {
  /** `container:<id>` or `unit:<name>`: the key the store and metrics use. */
  readonly key: string;
  readonly kind: 'container' | 'host';
  readonly containerId: string | null;
  readonly podUid: string | null;
  readonly qos: string | null;
  readonly runtime: string | null;
  readonly unit: string | null;
  /** Filled in from the kubelet's log directory when it knows the container (may come later). */
  namespace: string | null;
  pod: string | null;
  container: string | null;
  /**
   * The workload that runs the pod (Deployment, StatefulSet, DaemonSet, Job, StaticPod, ...), when
   * the Kubernetes API says; null or absent otherwise. Filled in with the names.
   */
  ownerKind?: string | null;
  ownerName?: string | null;
  /** When names were last looked for and not found (the attributor's ms, 0: found), to retry without looking per record. */
  namesTriedAt: number;
  /**
   * Set and read by SyscallAggregate alone (opaque to the rest): its per-workload state, so that
   * a record of another workload than the last finds it without a lookup by key (records of a
   * node's processes interleave: most records switch).
   */
  aggregateState?: object | null;
}

export type AttributionMethod = 'proc' | 'cache' | 'lineage' | 'label';

export type UnattributedReason =
  /** the process was gone before its record was read, and nothing in the stream tied it to a parent */
  | 'exited'
  /** /proc has the process, but its cgroup names neither a container nor a unit */
  | 'no-cgroup-identity'
  /** the record carries no pid, or pid 0 */
  | 'no-pid'
  /** reading /proc failed in a way that is not the process being gone (see the log) */
  | 'proc-error';
