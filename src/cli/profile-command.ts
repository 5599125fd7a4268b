import { existsSync } from 'node:fs';
import { buildOciProfile, type DefaultAction } from '../profile/oci-profile.js';
import { formatSpoYaml, toSpoProfile } from '../profile/spo-profile.js';
import { SyscallStore, type StoredSyscall, type StoredWorkload } from '../store/syscall-store.js';
import type { Command, CommandIo } from './command.js';
import { formatOptions, parseCommandLine, UsageError, type OptionTable } from './options.js';

const FORMATS = ['oci', 'spo'] as const;
const DEFAULT_ACTIONS = ['errno', 'log'] as const satisfies readonly DefaultAction[];

const OPTIONS = {
  db: { type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_DB', description: 'the SQLite database the daemon writes (required)' },
  namespace: { type: 'string', value: 'NS', description: "the pod's namespace (required)" },
  pod: { type: 'string', value: 'POD', description: 'the pod name (required)' },
  container: { type: 'string', value: 'NAME', description: "only this container's syscalls; default the union over the pod's containers" },
  format: {
    type: 'string', value: 'oci|spo', env: 'SECCOMP_AUDITOR_PROFILE_FORMAT', default: 'oci',
    description: 'oci: the JSON runc, crun and the kubelet read; spo: a Security Profiles Operator SeccompProfile (YAML)',
  },
  'default-action': {
    type: 'string', value: 'errno|log', env: 'SECCOMP_AUDITOR_PROFILE_DEFAULT_ACTION', default: 'errno',
    description: 'what the profile does with syscalls never seen: errno (EPERM) enforces; log allows and logs them (complain mode)',
  },
  name: { type: 'string', value: 'NAME', description: 'metadata.name of the spo object; default POD, or POD-CONTAINER with --container' },
  explain: {
    type: 'boolean', env: 'SECCOMP_AUDITOR_PROFILE_EXPLAIN',
    description: 'print {"profile", "explain"} as JSON: records and time range learned from, syscalls left out and why',
  },
} satisfies OptionTable;

export const profileCommand: Command = {
  name: 'profile',
  summary: "print the seccomp profile learned for a pod (OCI JSON or an SPO SeccompProfile)",
  help: () => `Usage: seccomp-auditor profile --db PATH --namespace NS --pod POD [options]

Prints to stdout the seccomp profile learned from what the pod's containers were seen calling:
one SCMP_ACT_ALLOW rule with every syscall seen running (logged), for the architectures seen.
Syscalls only ever seen blocked (errno, kill, trap, ...) stay out; --explain lists them.

Options:
${formatOptions(OPTIONS)}
`,
  async run(argv: string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, io.env);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    if (values.db === undefined) throw new UsageError('--db PATH is required: the database the daemon writes');
    if (values.namespace === undefined || values.namespace === '') throw new UsageError('--namespace NS is required');
    if (values.pod === undefined || values.pod === '') throw new UsageError('--pod POD is required');
    const format = oneOf('--format', values.format!, FORMATS);
    const defaultAction = oneOf('--default-action', values['default-action']!, DEFAULT_ACTIONS);
    const { db, namespace, pod, container } = values;
    const fail = (message: string): number => {
      io.stderr.write(`seccomp-auditor profile: ${message}\n`);
      return 1;
    };

    // opening would create an empty database: a mistyped path should say so instead
    if (!existsSync(db)) return fail(`${db}: no such database; check --db (or SECCOMP_AUDITOR_DB)`);
    let store: SyscallStore;
    try {
      store = SyscallStore.open({ path: db });
    } catch (err) {
      return fail((err as Error).message);
    }
    let workloads: StoredWorkload[];
    let chosen: StoredWorkload[];
    let rows: StoredSyscall[];
    try {
      // one snapshot: the daemon may commit between the two reads
      [workloads, chosen, rows] = store.readSnapshot(() => {
        const all = store.workloadsOfPod(namespace, pod);
        const picked = container === undefined ? all : all.filter((w) => w.container === container);
        return [all, picked, store.syscallsOf(picked.map((w) => w.key))] as const;
      });
    } catch (err) {
      return fail((err as Error).message);
    } finally {
      store.close();
    }

    if (workloads.length === 0) {
      return fail(`no observations for pod ${namespace}/${pod} in ${db}: is the daemon running with that database, and has the pod run under a logging profile?`);
    }
    if (chosen.length === 0) {
      const names = [...new Set(workloads.map((w) => w.container).filter((c): c is string => c !== null))].sort();
      return fail(`pod ${namespace}/${pod} has no container '${container}'; its containers: ${names.length > 0 ? names.join(', ') : '(none named)'}`);
    }

    const { profile, explain } = buildOciProfile(rows, { defaultAction });
    if (explain.syscalls === 0) {
      io.stderr.write(`seccomp-auditor profile: warning: no syscall of ${namespace}/${pod}${container === undefined ? '' : `/${container}`} was seen running; the profile allows none\n`);
    }
    const spoName = values.name ?? (container === undefined ? pod : `${pod}-${container}`);
    const spo = format === 'spo' ? toSpoProfile(profile, { name: spoName, namespace }) : null;
    if (values.explain) {
      io.stdout.write(JSON.stringify({ profile: spo ?? profile, explain }, null, 2) + '\n');
    } else {
      io.stdout.write(spo !== null ? formatSpoYaml(spo) : JSON.stringify(profile, null, 2) + '\n');
    }
    return 0;
  },
};

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}
