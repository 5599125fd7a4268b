/**
 * The flags of `profile --cluster` (and so of `kubectl seccomp-auditor profile`), and the two
 * steps the profile command calls with them: ask every daemon through the API server, and write
 * the result into the profiles ConfigMap. Kept here so the profile command only chooses between
 * --from and --cluster answers; the merge, its checks and the output stay one code path.
 */
import { readFileSync } from 'node:fs';
import { KubeClient } from '../kube/kube-client.js';
import { KubeConfigError, loadKubeConnection } from '../kube/kube-config.js';
import { applyProfileToConfigMap, PROFILES_CONFIGMAP, type ApplyResult } from './cluster-apply.js';
import { ClusterError, DAEMON_NAMESPACE, DAEMON_SELECTOR, daemonToken, fetchClusterProfiles, listDaemons, TOKEN_SECRET, type ClusterAnswers } from './cluster-profiles.js';
import { UsageError, type OptionTable } from './options.js';
import type { ProfileTarget } from './remote-profiles.js';

export const CLUSTER_OPTIONS = {
  cluster: {
    type: 'boolean', env: 'SECCOMP_AUDITOR_PROFILE_CLUSTER',
    description: "ask every node's daemon through the Kubernetes API server's pod proxy (kubeconfig as kubectl finds it) and merge as --from does (instead of --db)",
  },
  kubeconfig: { type: 'string', value: 'PATH', description: 'with --cluster: the kubeconfig; default $KUBECONFIG, else ~/.kube/config, else the in-cluster service account' },
  context: { type: 'string', value: 'NAME', description: "with --cluster: the kubeconfig context; default its current-context" },
  'daemon-namespace': {
    type: 'string', value: 'NS', env: 'SECCOMP_AUDITOR_DAEMON_NAMESPACE', default: DAEMON_NAMESPACE,
    description: 'with --cluster: where the DaemonSet runs (its pods, token Secret and profiles ConfigMap)',
  },
  'daemon-selector': {
    type: 'string', value: 'SELECTOR', default: DAEMON_SELECTOR,
    description: 'with --cluster: the label selector of the daemon pods',
  },
  'node-timeout': {
    type: 'string', value: 'SECONDS', default: '10',
    description: 'with --cluster: how long one node\'s daemon may take; a slower one is reported as missing (and skipped with --allow-missing)',
  },
  apply: {
    type: 'boolean',
    description: `with --cluster: write the profile (oci) as key NAME.json (--name) of the ConfigMap ${PROFILES_CONFIGMAP} that the daemons install on every node, instead of printing it`,
  },
} satisfies OptionTable;

type ClusterValues = {
  cluster: boolean; kubeconfig?: string; context?: string; 'daemon-namespace'?: string; 'daemon-selector'?: string;
  'node-timeout'?: string; apply: boolean; 'token-file'?: string;
};

export interface ClusterSession {
  client: KubeClient;
  namespace: string;
  timeoutMs: number;
}

/** Usage errors of the cluster flags given without --cluster, or with what they exclude. */
export function checkClusterFlags(values: ClusterValues & { from: string[]; format?: string; explain: boolean }, argv: string[]): void {
  if (!values.cluster) {
    for (const flag of ['kubeconfig', 'context', 'apply'] as const) {
      if (values[flag] !== undefined && values[flag] !== false) throw new UsageError(`--${flag} goes with --cluster`);
    }
    return;
  }
  if (values.from.length > 0) throw new UsageError('--cluster and --from are mutually exclusive: ask the cluster\'s daemons, or the ones named');
  if (argv.some((a) => a === '--db' || a.startsWith('--db='))) throw new UsageError('--cluster and --db are mutually exclusive');
  if (values.apply && values.format !== 'oci') throw new UsageError(`--apply writes an OCI profile into the ConfigMap the daemons install from; --format ${values.format} is for printing`);
  if (values.apply && values.explain) throw new UsageError('--apply and --explain do not go together: --apply prints what it wrote, not the profile');
  nodeTimeoutMs(values);
}

function nodeTimeoutMs(values: ClusterValues): number {
  const raw = values['node-timeout']!;
  if (!/^\d+(\.\d+)?$/.test(raw) || Number(raw) <= 0) throw new UsageError(`--node-timeout ${raw}: expected a number of seconds, e.g. 10`);
  return Number(raw) * 1000;
}

/** Connects, finds the daemons, reads their token and asks each; a ClusterError says what failed and the fix. */
export async function askCluster(values: ClusterValues, target: ProfileTarget, env: NodeJS.ProcessEnv): Promise<ClusterAnswers & { session: ClusterSession; asked: number }> {
  let conn;
  try {
    conn = loadKubeConnection({ env, ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}), ...(values.context !== undefined ? { context: values.context } : {}) });
  } catch (err) {
    if (err instanceof KubeConfigError) throw new ClusterError(err.message);
    throw err;
  }
  const session: ClusterSession = { client: new KubeClient(conn), namespace: values['daemon-namespace']!, timeoutMs: nodeTimeoutMs(values) };
  const pods = await listDaemons(session.client, session.namespace, values['daemon-selector']!, session.timeoutMs);
  let token: string | null;
  if (values['token-file'] !== undefined) {
    try {
      token = readFileSync(values['token-file'], 'utf8').trim();
    } catch (err) {
      throw new ClusterError(`cannot read the token file ${values['token-file']} (${(err as NodeJS.ErrnoException).code}); check --token-file`);
    }
  } else {
    // the Secret the DaemonSet mounts: the Role that lets you proxy to the daemons grants get on it
    token = await daemonToken(session.client, session.namespace, TOKEN_SECRET, session.timeoutMs);
  }
  const answers = await fetchClusterProfiles(session.client, pods, target, { namespace: session.namespace, token, timeoutMs: session.timeoutMs });
  return { ...answers, session, asked: pods.length };
}

export function applyToCluster(session: ClusterSession, name: string, profile: string): Promise<ApplyResult> {
  return applyProfileToConfigMap(session.client, { namespace: session.namespace, configMap: PROFILES_CONFIGMAP, name, profile, timeoutMs: session.timeoutMs });
}
