/**
 * `kubectl seccomp-auditor ...`: kubectl runs any `kubectl-seccomp_auditor` on PATH for it (a
 * dash in a plugin's command is an underscore in its file name) with the arguments after the
 * plugin's name, and nothing else: kubectl's own flags are not parsed for a plugin, so this takes
 * the ones users type (-n/--namespace, --context, --kubeconfig, -c/--container) and kubectl's
 * TYPE/NAME, and runs `seccomp-auditor profile --cluster` with them.
 */
import type { CommandIo } from './command.js';
import { main } from './main.js';
import { KubeConfigError, loadKubeConnection } from '../kube/kube-config.js';
import { PACKAGE_VERSION } from '../package-version.js';

/** kubectl's names and short names of what the daemons resolve as a workload (src/attribute/kube-owner.ts) */
const WORKLOAD_TYPES = new Set([
  'deploy', 'deployment', 'deployments', 'deployment.apps', 'sts', 'statefulset', 'statefulsets', 'statefulset.apps',
  'ds', 'daemonset', 'daemonsets', 'daemonset.apps', 'job', 'jobs', 'job.batch', 'rs', 'replicaset', 'replicasets', 'replicaset.apps',
]);
const POD_TYPES = new Set(['po', 'pod', 'pods']);

export const PLUGIN_HELP = `Usage: kubectl seccomp-auditor profile [TYPE/]NAME [-n NS] [options]

Prints the seccomp profile the cluster's seccomp-auditor daemons learned for a pod or a
workload, merged over every node it ran on, or with --apply writes it into the ConfigMap the
daemons install profiles from. Each daemon is asked through the API server's pod proxy with the
kubeconfig's credentials, so no network path to the nodes is needed.

  kubectl seccomp-auditor profile -n shop deploy/web                # OCI JSON
  kubectl seccomp-auditor profile -n shop deploy/web --format spo   # a SeccompProfile object
  kubectl seccomp-auditor profile -n shop pod/web-7d9f8b6c4-x2k4p -c nginx
  kubectl seccomp-auditor profile -n shop deploy/web --apply        # web.json in the ConfigMap

TYPE is pod (the default: a bare NAME is a pod) or a workload: deploy, sts, ds, job, rs.

kubectl's flags:
  -n, --namespace NS     the pod's or workload's namespace (default: the context's)
  -c, --container NAME   one container's syscalls only
  --context NAME         the kubeconfig context (default: current-context)
  --kubeconfig PATH      the kubeconfig (default: $KUBECONFIG, else ~/.kube/config)

Every other option of 'seccomp-auditor profile --cluster' is taken as is (--format, --apply,
--name, --explain, --allow-missing, --node-timeout, --daemon-namespace, --token-file, ...);
'kubectl seccomp-auditor profile --help' lists them. The RBAC it needs is the Roles in
deploy/kubernetes/components/profile-export-rbac.
`;

export async function kubectlPlugin(argv: string[], io: CommandIo): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === undefined || sub === '--help' || sub === '-h' || sub === 'help') {
    io.stdout.write(PLUGIN_HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub === '--version' || sub === 'version') {
    io.stdout.write(`kubectl-seccomp_auditor ${PACKAGE_VERSION}\n`);
    return 0;
  }
  if (sub !== 'profile') {
    io.stderr.write(`kubectl seccomp-auditor: unknown command '${sub}'\n\n${PLUGIN_HELP}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) return main(['profile', '--help'], io);
  const translated = translate(rest);
  if (typeof translated === 'string') {
    io.stderr.write(`kubectl seccomp-auditor profile: ${translated}\nRun 'kubectl seccomp-auditor --help' for usage.\n`);
    return 2;
  }
  const { args, namespace, kubeconfig, context } = translated;
  let ns = namespace;
  if (ns === undefined) {
    // kubectl's default: the context's namespace, else default
    try {
      ns = loadKubeConnection({ env: io.env, ...(kubeconfig !== undefined ? { kubeconfig } : {}), ...(context !== undefined ? { context } : {}) }).namespace;
    } catch (err) {
      if (!(err instanceof KubeConfigError)) throw err;
      io.stderr.write(`kubectl seccomp-auditor profile: ${err.message}\n`);
      return 1;
    }
  }
  return main(['profile', '--cluster', '--namespace', ns, ...args], io);
}

interface Translated { args: string[]; namespace?: string; kubeconfig?: string; context?: string }

/** kubectl's spelling into the profile command's; a string is the usage problem. */
export function translate(argv: readonly string[]): Translated | string {
  const out: Translated = { args: [] };
  let target: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const take = (flag: string): string | null => {
      if (a === flag) {
        const v = argv[++i];
        return v === undefined ? null : v;
      }
      if (a.startsWith(`${flag}=`)) return a.slice(flag.length + 1);
      // -nshop, as kubectl takes it
      if (flag.length === 2 && a.startsWith(flag) && a.length > 2) return a.slice(2);
      return null;
    };
    const matches = (flag: string): boolean => a === flag || a.startsWith(`${flag}=`) || (flag.length === 2 && a.startsWith(flag) && a.length > 2);
    if (matches('-n') || matches('--namespace')) {
      const v = take(a.startsWith('--') ? '--namespace' : '-n');
      if (v === null) return `${a} needs a namespace`;
      out.namespace = v;
    } else if (matches('-c') || matches('--container')) {
      const v = take(a.startsWith('--') ? '--container' : '-c');
      if (v === null) return `${a} needs a container name`;
      out.args.push('--container', v);
    } else if (matches('--context') || matches('--kubeconfig')) {
      const flag = a.startsWith('--context') ? '--context' : '--kubeconfig';
      const v = take(flag);
      if (v === null) return `${a} needs a value`;
      if (flag === '--context') out.context = v;
      else out.kubeconfig = v;
      out.args.push(flag, v);
    } else if (a === '--pod' || a === '--workload' || a.startsWith('--pod=') || a.startsWith('--workload=')) {
      return `name the target as kubectl does (pod/NAME, deploy/NAME, ...), not with ${a.split('=')[0]}`;
    } else if (!a.startsWith('-')) {
      if (target !== undefined) return `one target only: got '${target}' and '${a}'`;
      target = a;
    } else {
      out.args.push(a);
      // a flag's value follows it unless given as --flag=value; the profile command checks them
      const next = argv[i + 1];
      if (!a.includes('=') && next !== undefined && !next.startsWith('-') && takesValue(a)) out.args.push(argv[++i]!);
    }
  }
  if (target === undefined) return 'name a pod or workload: [TYPE/]NAME, e.g. deploy/web';
  const slash = target.indexOf('/');
  const type = slash < 0 ? 'pod' : target.slice(0, slash).toLowerCase();
  const name = slash < 0 ? target : target.slice(slash + 1);
  if (name === '') return `${target}: no name after the type`;
  if (POD_TYPES.has(type)) out.args.push('--pod', name);
  else if (WORKLOAD_TYPES.has(type)) out.args.push('--workload', name);
  else if (type === 'cj' || type === 'cronjob' || type === 'cronjobs') return `${target}: a CronJob's pods belong to its Jobs; name one (job/NAME) or merge them with --from`;
  else return `${target}: '${type}' is not a pod or a workload the daemons know (pod, deploy, sts, ds, job, rs)`;
  return out;
}

/** the profile command's flags that take a value (the rest are booleans) */
const VALUE_FLAGS = new Set(['--format', '--default-action', '--baseline', '--name', '--token-file', '--daemon-namespace', '--daemon-selector', '--node-timeout', '--young-window', '--young-records']);
function takesValue(flag: string): boolean {
  return VALUE_FLAGS.has(flag);
}
