/**
 * Which stored pods make up a workload (Deployment, StatefulSet, DaemonSet, Job): the REST
 * routes and the `profile` command select them the same way.
 */
import type { StoredWorkload } from '../store/syscall-store.js';
import { workloadNameOf } from './workload-name.js';

export interface PodOwner {
  kind: string;
  name: string;
}

/**
 * A pod's owning workload, from whichever of its containers' rows has one: they all belong to the
 * same pod, and a container first seen before the Kubernetes API knew the pod may lack it. Null
 * when none has one.
 */
export function podOwner(workloads: readonly StoredWorkload[]): PodOwner | null {
  for (const w of workloads) if (w.ownerName !== null && w.ownerKind !== null) return { kind: w.ownerKind, name: w.ownerName };
  return null;
}

/**
 * The rows of the pods of workload `name`: a pod with a stored owner when the owner's name is
 * `name` (whatever its kind: names of one namespace's workloads are one answer); a pod without
 * one when its name derives to `name`. A bare pod named like a StatefulSet's (`web-0`) is
 * therefore not taken for it once its owner is known.
 */
export function workloadPods(all: readonly StoredWorkload[], name: string): StoredWorkload[] {
  const byPod = new Map<string, StoredWorkload[]>();
  for (const w of all) {
    if (w.pod === null) continue;
    const pod = byPod.get(w.pod);
    if (pod === undefined) byPod.set(w.pod, [w]);
    else pod.push(w);
  }
  const selected: StoredWorkload[] = [];
  for (const [pod, containers] of byPod) {
    const owner = podOwner(containers);
    if (owner !== null ? owner.name === name : workloadNameOf(pod) === name) selected.push(...containers);
  }
  return selected;
}
