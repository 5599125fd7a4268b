import type { StoredWorkload } from '../store/syscall-store.js';

export interface PodOwnerJson {
  kind: string;
  name: string;
}

/** `owner` in answers: the pod's owning workload as the Kubernetes API named it; null without the API. */
export const OWNER_SCHEMA = {
  type: ['object', 'null'],
  properties: { kind: { type: 'string' }, name: { type: 'string' } },
} as const;

/**
 * A pod's owning workload, from whichever of its containers' rows has one: they all belong to the
 * same pod, and a container first seen before the Kubernetes API knew the pod may lack it. Null
 * when none has one.
 */
export function podOwner(workloads: readonly StoredWorkload[]): PodOwnerJson | null {
  for (const w of workloads) if (w.ownerName !== null && w.ownerKind !== null) return { kind: w.ownerKind, name: w.ownerName };
  return null;
}
