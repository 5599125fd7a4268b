/**
 * The workload that runs a pod, named from the pod's own ownerReferences and labels. Nothing else is
 * read (no ReplicaSet, no Job), so the daemon's RBAC stays "get/list/watch pods" and a node's
 * enrichment costs one watch.
 */

/** Kinds seen in practice; any other controller kind (a CRD's, ReplicationController) passes through as is. */
export type WorkloadKind = 'Deployment' | 'ReplicaSet' | 'StatefulSet' | 'DaemonSet' | 'Job' | 'Pod' | 'StaticPod' | (string & {});

export interface PodOwner {
  kind: WorkloadKind;
  name: string;
  /**
   * For a Job named `<cronjob>-<digits>` (how the CronJob controller names its Jobs): the CronJob's
   * probable name. A hint only: the Job's own ownerReferences, which would say for sure, are not read.
   */
  cronJob?: string;
}

/** The fields of `metadata.ownerReferences[]` that are used. */
export interface OwnerReference {
  kind?: unknown;
  name?: unknown;
  controller?: unknown;
}

export interface OwnedPod {
  /** `metadata.name` */
  name: string;
  /** `spec.nodeName`: a static pod's name ends in it */
  node: string;
  labels: Readonly<Record<string, string>>;
  ownerReferences?: readonly OwnerReference[] | undefined;
}

const JOB_OF_CRONJOB = /^(.+)-(\d+)$/;

/**
 * Only the controller reference counts (client-go's GetControllerOf): other references are garbage
 * collection links, not "who runs this pod". No controller: the pod is its own workload.
 */
export function ownerOf(pod: OwnedPod): PodOwner {
  const ref = pod.ownerReferences?.find((r) => r.controller === true && typeof r.kind === 'string' && typeof r.name === 'string' && r.name !== '');
  if (ref === undefined) return { kind: 'Pod', name: pod.name };
  const kind = ref.kind as string;
  const name = ref.name as string;
  switch (kind) {
    case 'ReplicaSet': {
      // The Deployment controller names a ReplicaSet `<deployment>-<pod-template-hash>` and labels its
      // pods with the hash; a ReplicaSet without that label (made by hand, or by Argo Rollouts, which
      // uses its own label) stays a ReplicaSet rather than a guessed Deployment.
      const hash = pod.labels['pod-template-hash'];
      if (hash !== undefined && hash !== '' && name.length > hash.length + 1 && name.endsWith(`-${hash}`)) {
        return { kind: 'Deployment', name: name.slice(0, -(hash.length + 1)) };
      }
      return { kind: 'ReplicaSet', name };
    }
    case 'Job': {
      const m = JOB_OF_CRONJOB.exec(name);
      return m === null ? { kind: 'Job', name } : { kind: 'Job', name, cronJob: m[1]! };
    }
    case 'Node': {
      // A mirror pod (the API's copy of a static pod) is owned by its node and named `<manifest>-<node>`;
      // the manifest name is what the same static pod is called on every node.
      const suffix = `-${pod.node}`;
      const base = pod.node !== '' && pod.name.length > suffix.length && pod.name.endsWith(suffix) ? pod.name.slice(0, -suffix.length) : pod.name;
      return { kind: 'StaticPod', name: base };
    }
    default:
      return { kind, name };
  }
}
