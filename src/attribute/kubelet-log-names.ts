/*
 * The kubelet's log file names (pkg/kubelet/kuberuntime):
 *   containers/<pod>_<namespace>_<container>-<container id>.log  (symlink to the file below)
 *   pods/<namespace>_<pod>_<pod uid>/<container>/<restart count>.log
 * Pod names are DNS-1123 subdomains (lower-case alphanumerics, '-' and '.'), namespaces and container
 * names DNS-1123 labels (no '.'): none may hold '_', which is why the kubelet can use it as separator.
 */

const SUBDOMAIN = '[a-z0-9](?:[-a-z0-9.]*[a-z0-9])?';
const LABEL = '[a-z0-9](?:[-a-z0-9]*[a-z0-9])?';
const POD_UID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{32}';

const CONTAINER_LOG = new RegExp(`^(${SUBDOMAIN})_(${LABEL})_(${LABEL})-([0-9a-f]{64})\\.log$`);
const POD_DIR = new RegExp(`^(${LABEL})_(${SUBDOMAIN})_(${POD_UID})$`);

const MAX_SUBDOMAIN = 253;
const MAX_LABEL = 63;

export interface ContainerLogName {
  pod: string;
  namespace: string;
  container: string;
  containerId: string;
}

export interface PodDirName {
  namespace: string;
  pod: string;
  podUid: string;
}

/**
 * Parses a `containers/` entry name. The kubelet cuts names longer than 255 bytes, which removes the
 * id's end: such names (pod names near 253 characters) give null, as do names of other files.
 */
export function parseContainerLogName(name: string): ContainerLogName | null {
  const m = CONTAINER_LOG.exec(name);
  if (!m) return null;
  const [, pod, namespace, container, containerId] = m as unknown as [string, string, string, string, string];
  if (pod.length > MAX_SUBDOMAIN || namespace.length > MAX_LABEL || container.length > MAX_LABEL) return null;
  return { pod, namespace, container, containerId };
}

/** Parses a `pods/` directory name. */
export function parsePodDirName(name: string): PodDirName | null {
  const m = POD_DIR.exec(name);
  if (!m) return null;
  const [, namespace, pod, podUid] = m as unknown as [string, string, string, string];
  if (pod.length > MAX_SUBDOMAIN || namespace.length > MAX_LABEL) return null;
  return { namespace, pod, podUid };
}

/**
 * The pod directory name inside a `containers/` symlink's target
 * (`/var/log/pods/<namespace>_<pod>_<uid>/<container>/<n>.log`). Only the names are used, never the
 * target itself: when the log root is the host's /var/log mounted elsewhere, the target still starts
 * with the host's path.
 */
export function podDirOfLogTarget(target: string): PodDirName | null {
  const parts = target.split('/').filter((p) => p !== '');
  if (parts.length < 3 || !/^\d+\.log$/.test(parts[parts.length - 1]!)) return null;
  return parsePodDirName(parts[parts.length - 3]!);
}
