import type { StoredWorkload, SyscallStore } from '../store/syscall-store.js';
import { ApiError, DNS1123_LABEL, DNS1123_SUBDOMAIN } from './api-errors.js';

/** `{namespace}` and `{pod}` as the routes under /api/v1/namespaces/{namespace}/pods/{pod} take them. */
export const POD_PARAMS = {
  type: 'object',
  properties: {
    namespace: { type: 'string', pattern: DNS1123_LABEL, maxLength: 63 },
    pod: { type: 'string', pattern: DNS1123_SUBDOMAIN, maxLength: 253 },
  },
  required: ['namespace', 'pod'],
} as const;

/** `?container=`, a container name. */
export const CONTAINER_QUERY_PROPERTY = { type: 'string', pattern: DNS1123_LABEL, maxLength: 63 } as const;

/** The observed containers of a pod (or the one named), or the 404 that says what is missing. */
export function podWorkloads(store: SyscallStore, namespace: string, pod: string, container?: string): StoredWorkload[] {
  const all = store.workloadsOfPod(namespace, pod);
  if (all.length === 0) throw new ApiError('SA_POD_NOT_FOUND', `no observations for pod ${namespace}/${pod}`);
  if (container === undefined) return all;
  const one = all.filter((w) => w.container === container);
  if (one.length === 0) throw new ApiError('SA_NOT_FOUND', `pod ${namespace}/${pod} has no container ${container} in the observations`);
  return one;
}
