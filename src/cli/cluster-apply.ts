/**
 * `profile --cluster --apply`: the merged profile written as one key (`NAME.json`) of the
 * ConfigMap the DaemonSet mounts (seccomp-auditor-profiles), whose daemons then install it into
 * every node's kubelet seccomp directory (--sync-profiles-from, src/deliver/profile-sync.ts), where
 * pods name it as `localhostProfile: seccomp-auditor/NAME.json`.
 *
 * get, then update with the resourceVersion read: someone else's edit in between is a 409
 * Conflict, and the read-modify-write starts over rather than overwriting it. No create: RBAC
 * cannot restrict create to one name, so the Role grants get and update on this one ConfigMap
 * only, and a missing ConfigMap is an error that says how to make it.
 */
import { isProfileName } from '../deliver/profile-installer.js';
import { KubeClient, KubeTimeout } from '../kube/kube-client.js';
import { ClusterError, RBAC_FIX, statusMessage } from './cluster-profiles.js';

export const PROFILES_CONFIGMAP = 'seccomp-auditor-profiles';
/** etcd's limit on one object is 1.5 MiB; the API server refuses a ConfigMap's data over 1 MiB */
const MAX_CONFIGMAP_DATA = 1 << 20;
const ATTEMPTS = 5;

export interface ApplyResult {
  key: string;
  /** the key held this very profile already */
  unchanged: boolean;
  resourceVersion: string;
}

export async function applyProfileToConfigMap(client: KubeClient, o: { namespace: string; configMap: string; name: string; profile: string; timeoutMs: number }): Promise<ApplyResult> {
  if (!isProfileName(o.name)) throw new ClusterError(`--name ${o.name}: not a profile name the daemons install (lowercase letters, digits, '.', '_' and '-', starting and ending with a letter or digit); give --name`);
  const key = `${o.name}.json`;
  const path = `/api/v1/namespaces/${encodeURIComponent(o.namespace)}/configmaps/${encodeURIComponent(o.configMap)}`;
  const where = `ConfigMap ${o.namespace}/${o.configMap}`;
  for (let attempt = 1; ; attempt++) {
    const got = await call(client, { path, timeoutMs: o.timeoutMs }, where);
    if (got.status === 404) {
      throw new ClusterError(`${where} does not exist; create it (kubectl -n ${o.namespace} create configmap ${o.configMap}, or apply deploy/kubernetes/overlays/example) and run again`);
    }
    if (got.status === 403) throw new ClusterError(`the API server refused to get ${where} (403: ${statusMessage(got.body)}); bind the Role seccomp-auditor-profile-writer (${RBAC_FIX}): get and update on that one ConfigMap`);
    if (got.status !== 200) throw new ClusterError(`reading ${where} answered ${got.status}: ${statusMessage(got.body)}`);
    const cm = JSON.parse(got.body) as { metadata: { resourceVersion?: string }; data?: Record<string, string> } & Record<string, unknown>;
    const data = { ...(cm.data ?? {}) };
    if (data[key] === o.profile) return { key, unchanged: true, resourceVersion: cm.metadata.resourceVersion ?? '' };
    data[key] = o.profile;
    const size = Object.entries(data).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    if (size > MAX_CONFIGMAP_DATA) {
      throw new ClusterError(`${where} would hold ${size} bytes with ${key}, over the API server's 1 MiB for a ConfigMap; remove profiles no pod uses (kubectl -n ${o.namespace} edit configmap ${o.configMap})`);
    }
    // the object as read, resourceVersion included: the update fails with 409 if it changed since
    const put = await call(client, { method: 'PUT', path, body: { ...cm, data }, timeoutMs: o.timeoutMs }, where);
    if (put.status === 200) return { key, unchanged: false, resourceVersion: (JSON.parse(put.body) as { metadata: { resourceVersion: string } }).metadata.resourceVersion };
    if (put.status === 409 && attempt < ATTEMPTS) continue;
    if (put.status === 409) throw new ClusterError(`${where} kept changing while it was written (409 Conflict ${ATTEMPTS} times); run again`);
    if (put.status === 403) throw new ClusterError(`the API server refused to update ${where} (403: ${statusMessage(put.body)}); bind the Role seccomp-auditor-profile-writer (${RBAC_FIX}): get and update on that one ConfigMap`);
    throw new ClusterError(`updating ${where} answered ${put.status}: ${statusMessage(put.body)}`);
  }
}

async function call(client: KubeClient, r: { method?: 'GET' | 'PUT'; path: string; body?: unknown; timeoutMs: number }, where: string) {
  try {
    return await client.request({ ...r, maxBytes: 4 * MAX_CONFIGMAP_DATA });
  } catch (err) {
    if (err instanceof KubeTimeout) throw new ClusterError(`writing ${where}: the API server ${client.server} gave no answer within ${r.timeoutMs / 1000} s`);
    throw new ClusterError(`writing ${where}: cannot reach the API server ${client.server} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
