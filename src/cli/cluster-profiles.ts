/**
 * `profile --cluster`: every node's daemon asked through the Kubernetes API server's pod proxy
 * (GET /api/v1/namespaces/NS/pods/POD:PORT/proxy/...), so the CLI needs a kubeconfig, not a
 * network path to each node. The daemon pods are found by label in their namespace; each answer
 * is checked as untrusted input exactly as a --from answer is (checkBuiltProfile), and merged by
 * the profile command as --from answers are.
 *
 * Two kinds of 403 and 404 come back through a proxy: the API server's own (a Status object: RBAC
 * refused, the pod is gone) and the daemon's (its own JSON error: the token, a target it has not
 * seen). They are told apart by `kind: Status`, and each message names the node and the fix.
 *
 * The daemons' bearer token (they run with --protect-reads) cannot travel in Authorization: the
 * API server authenticates with that header and deletes it before proxying
 * (kubernetes/kubernetes#38775). It goes in X-Seccomp-Auditor-Token, which the daemon takes as
 * the same token (src/http/bearer-token.ts).
 */
import { checkBuiltProfile } from '../profile/built-profile-check.js';
import { KubeClient, kubeStatusOf, KubeTimeout, KubeTooLarge } from '../kube/kube-client.js';
import { MAX_ANSWER_BYTES, printable, profilePath, type NodeAnswer, type ProfileTarget } from './remote-profiles.js';

export const DAEMON_NAMESPACE = 'seccomp-auditor';
export const DAEMON_SELECTOR = 'app.kubernetes.io/name=seccomp-auditor,app.kubernetes.io/component=daemon';
export const TOKEN_SECRET = 'seccomp-auditor-token';
/** what the daemon reads the token from behind the proxy (src/http/bearer-token.ts TOKEN_HEADER) */
export const TOKEN_HEADER = 'x-seccomp-auditor-token';
const DEFAULT_PORT = 9761;
/** the plugin's Roles, shipped as a kustomize component */
export const RBAC_FIX = 'deploy/kubernetes/components/profile-export-rbac';
const MAX_LIST_BYTES = 64 << 20;

export interface DaemonPod {
  name: string;
  node: string;
  port: number;
  phase: string;
}

export interface ClusterAnswers {
  /** per asked daemon: its profile, or missing (gone, slow, unreachable: skippable with --allow-missing), or an error */
  answers: NodeAnswer[];
  /** daemons that answered they have not seen the target: a workload runs on some nodes only */
  notSeen: string[];
}

export class ClusterError extends Error {}

export function nodeLabel(ns: string, pod: DaemonPod): string {
  return `node ${pod.node || '(unscheduled)'} (pod ${ns}/${pod.name})`;
}

/** The daemon pods, or a ClusterError naming what is missing. */
export async function listDaemons(client: KubeClient, ns: string, selector: string, timeoutMs: number): Promise<DaemonPod[]> {
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/pods?labelSelector=${encodeURIComponent(selector)}`;
  const res = await apiCall(client, path, timeoutMs, `listing the daemon pods in namespace ${ns}`);
  if (res.status === 403) throw new ClusterError(`the API server refused to list pods in namespace ${ns} (403: ${statusMessage(res.body)}); bind the Role seccomp-auditor-profile-reader (${RBAC_FIX}) to you: it grants list on pods and get on pods/proxy in ${ns} only`);
  if (res.status === 401) throw new ClusterError(`the API server ${client.server} rejected our credentials (401); check the kubeconfig's user (kubectl auth whoami)`);
  if (res.status !== 200) throw new ClusterError(`listing pods in namespace ${ns} answered ${res.status}: ${statusMessage(res.body)}`);
  let items: unknown[];
  try {
    items = (JSON.parse(res.body) as { items: unknown[] }).items;
    if (!Array.isArray(items)) throw new Error('no items');
  } catch {
    throw new ClusterError(`${client.server} answered the pod list with something that is not a PodList; is it a Kubernetes API server?`);
  }
  const pods = items.map((item) => daemonPod(item as PodLike)).filter((p): p is DaemonPod => p !== null);
  if (pods.length === 0) {
    throw new ClusterError(`no daemon pods in namespace ${ns} match ${selector}; is the DaemonSet deployed there? (give --daemon-namespace if it runs elsewhere)`);
  }
  return pods.sort((a, b) => a.node.localeCompare(b.node) || a.name.localeCompare(b.name));
}

type PodLike = {
  metadata?: { name?: unknown };
  spec?: { nodeName?: unknown; containers?: Array<{ name?: unknown; ports?: Array<{ name?: unknown; containerPort?: unknown }> }> };
  status?: { phase?: unknown };
};

function daemonPod(p: PodLike): DaemonPod | null {
  const name = p.metadata?.name;
  if (typeof name !== 'string') return null;
  // the daemon's `http` port (daemonset.yaml); a port moved in an overlay is followed
  const ports = (p.spec?.containers ?? []).flatMap((c) => c.ports ?? []);
  const port = ports.find((x) => x.name === 'http')?.containerPort ?? ports[0]?.containerPort ?? DEFAULT_PORT;
  return {
    name,
    node: typeof p.spec?.nodeName === 'string' ? p.spec.nodeName : '',
    port: typeof port === 'number' ? port : DEFAULT_PORT,
    phase: typeof p.status?.phase === 'string' ? p.status.phase : 'Unknown',
  };
}

/**
 * The daemons' token from the Secret the DaemonSet mounts. null: there is no such Secret (daemons
 * that do not protect reads).
 */
export async function daemonToken(client: KubeClient, ns: string, secret: string, timeoutMs: number): Promise<string | null> {
  const path = `/api/v1/namespaces/${encodeURIComponent(ns)}/secrets/${encodeURIComponent(secret)}`;
  const res = await apiCall(client, path, timeoutMs, `reading the daemons' token from Secret ${ns}/${secret}`);
  if (res.status === 404) return null;
  if (res.status === 403) {
    throw new ClusterError(`the API server refused to get Secret ${ns}/${secret}, the daemons' token (403: ${statusMessage(res.body)}); bind the Role seccomp-auditor-profile-reader (${RBAC_FIX}), which grants get on that one Secret, or give the token with --token-file`);
  }
  if (res.status !== 200) throw new ClusterError(`reading Secret ${ns}/${secret} answered ${res.status}: ${statusMessage(res.body)}`);
  const data = (JSON.parse(res.body) as { data?: Record<string, string> }).data?.['token'];
  if (data === undefined) throw new ClusterError(`Secret ${ns}/${secret} has no key 'token'; create it as the README says (kubectl create secret generic ${secret} --from-literal=token=...)`);
  return Buffer.from(data, 'base64').toString('utf8').trim();
}

export interface AskOptions {
  namespace: string;
  token: string | null;
  /** per node: a slow node is reported as missing, the others still merge */
  timeoutMs: number;
}

/** Asks every daemon at once through the pod proxy. */
export async function fetchClusterProfiles(client: KubeClient, pods: readonly DaemonPod[], target: ProfileTarget, options: AskOptions): Promise<ClusterAnswers> {
  const results = await Promise.all(pods.map((pod) => askOne(client, pod, target, options)));
  return {
    answers: results.filter((r): r is NodeAnswer => !('notSeen' in r)),
    notSeen: results.filter((r): r is { notSeen: string } => 'notSeen' in r).map((r) => r.notSeen),
  };
}

async function askOne(client: KubeClient, pod: DaemonPod, target: ProfileTarget, o: AskOptions): Promise<NodeAnswer | { notSeen: string }> {
  const url = nodeLabel(o.namespace, pod);
  if (pod.phase !== 'Running') return { url, missing: `${url} is ${pod.phase}, not Running; its node's observations are out of reach until it runs (kubectl -n ${o.namespace} describe pod ${pod.name})` };
  const e = encodeURIComponent;
  const path = `/api/v1/namespaces/${e(o.namespace)}/pods/${e(pod.name)}:${pod.port}/proxy${profilePath(target)}`;
  let res;
  try {
    res = await client.request({ path, timeoutMs: o.timeoutMs, maxBytes: MAX_ANSWER_BYTES, headers: o.token !== null ? { [TOKEN_HEADER]: o.token } : {} });
  } catch (err) {
    if (err instanceof KubeTooLarge) return { url, error: `${url} answered more than ${MAX_ANSWER_BYTES >> 20} MiB, far more than a learned profile; is it a seccomp-auditor daemon?` };
    if (err instanceof KubeTimeout) return { url, missing: `${url} gave no answer within ${o.timeoutMs / 1000} s (a slow or overloaded node); raise --node-timeout, or --allow-missing merges the others` };
    const c = err as NodeJS.ErrnoException;
    return { url, missing: `${url}: the API server ${client.server} is unreachable (${printable(c.code ?? c.message)})` };
  }
  const status = kubeStatusOf(res.body);
  if (status !== null && res.status !== 200) {
    // the API server's own answer: the request never reached the daemon
    if (res.status === 403) return { url, error: `${url}: the API server refused the pod proxy (403: ${printable(status.message)}); you need get on pods/proxy in namespace ${o.namespace}: bind the Role seccomp-auditor-profile-reader (${RBAC_FIX})` };
    if (res.status === 404) return { url, missing: `${url} went away (404 from the API server: ${printable(status.message)}): the pod was deleted or replaced after the list; run the command again` };
    if (res.status === 401) return { url, error: `the API server ${client.server} rejected our credentials (401); check the kubeconfig's user (kubectl auth whoami)` };
    return { url, missing: `${url}: the API server could not reach the daemon (${res.status}: ${printable(status.message)}); check the pod (kubectl -n ${o.namespace} logs ${pod.name})` };
  }
  let body: unknown = null;
  try {
    body = JSON.parse(res.body);
  } catch {
    // reported below with the status
  }
  const apiMessage = printable(typeof (body as { message?: unknown } | null)?.message === 'string' ? (body as { message: string }).message : res.body);
  if (res.status === 404) return { notSeen: `${url}: ${apiMessage}` };
  if (res.status === 401) {
    return { url, error: `${url} wants the daemons' bearer token (--protect-reads): ${o.token === null ? `there is no Secret ${o.namespace}/${TOKEN_SECRET}; give --token-file` : 'the token given was refused; is it the one in the Secret the DaemonSet mounts?'}` };
  }
  if (res.status !== 200) return { url, error: `${url} answered ${res.status}: ${apiMessage}` };
  if (body === null) return { url, error: `${url} answered something that is not JSON; is it a seccomp-auditor daemon?` };
  const check = checkBuiltProfile(body);
  if (!check.ok) return { url, error: `${url} answered a profile that does not hold up: ${check.problem}; is it a seccomp-auditor daemon of this version, and one you trust?` };
  return { url, built: check.built };
}

async function apiCall(client: KubeClient, path: string, timeoutMs: number, what: string) {
  try {
    return await client.request({ path, timeoutMs, maxBytes: MAX_LIST_BYTES });
  } catch (err) {
    if (err instanceof KubeTimeout) throw new ClusterError(`${what}: the API server ${client.server} gave no answer within ${timeoutMs / 1000} s`);
    const c = err as NodeJS.ErrnoException;
    throw new ClusterError(`${what}: cannot reach the API server ${client.server} (${printable(c.code ?? c.message)}); check the kubeconfig's cluster (kubectl cluster-info)`);
  }
}

export function statusMessage(body: string): string {
  return printable(kubeStatusOf(body)?.message ?? body);
}
