import { existsSync, readFileSync } from 'node:fs';
import { buildOciProfile, LOG_DENIED_NEEDS_ERRNO, withLogDenied, type BuiltProfile, type DefaultAction, type ProfileOptions } from '../profile/oci-profile.js';
import { BASELINES, baselineSyscalls, DEFAULT_BASELINE } from '../profile/runtime-baseline.js';
import { mergeBuiltProfiles } from '../profile/profile-merge.js';
import { checkOciProfile } from '../profile/oci-profile-check.js';
import { formatSpoYaml, toSpoProfile } from '../profile/spo-profile.js';
import { formatSystemdDropIn, isServiceUnit, SYSTEMD_LOG_DENIED, SystemdDropInError } from '../profile/systemd-dropin.js';
import { workloadPods } from '../profile/workload-pods.js';
import { SyscallStore, type StoredSyscall, type StoredWorkload } from '../store/syscall-store.js';
import type { Command, CommandIo } from './command.js';
import { formatOptions, parseCommandLine, UsageError, type OptionTable } from './options.js';
import { daemonBaseUrl, fetchNodeProfiles, type NodeAnswer, type ProfileTarget } from './remote-profiles.js';
import { applyToCluster, askCluster, checkClusterFlags, CLUSTER_OPTIONS, type ClusterSession } from './cluster-options.js';
import { ClusterError } from './cluster-profiles.js';
import { assessLearning, incompleteMessage, learnedAnnotations, lossQueryWindow, lostSummary, mergeLearned, type LearnedFrom, type YoungThresholds } from '../profile/learning-window.js';
import { parseYoungThresholds, YOUNG_OPTIONS } from './young-options.js';

const FORMATS = ['oci', 'spo', 'systemd'] as const;
const DEFAULT_ACTIONS = ['errno', 'log'] as const satisfies readonly DefaultAction[];

const OPTIONS = {
  db: { type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_DB', description: 'the SQLite database the daemon writes (this or --from is required)' },
  from: {
    type: 'string', value: 'URL', multiple: true,
    description: "a daemon's base URL (http://node-a:9761): the profile merges what every --from daemon learned (instead of --db)",
  },
  'token-file': {
    type: 'string', value: 'PATH', env: 'SECCOMP_AUDITOR_TOKEN_FILE',
    description: 'with --from: the bearer token of daemons that run with --protect-reads',
  },
  'allow-missing': {
    type: 'boolean',
    description: 'with --from: skip (with a warning) a daemon that does not answer or has not seen the target, instead of failing; with --cluster: a daemon that is gone, not running or slower than --node-timeout',
  },
  ...CLUSTER_OPTIONS,
  namespace: { type: 'string', value: 'NS', description: "the pod's or workload's namespace" },
  pod: { type: 'string', value: 'POD', description: 'the pod name' },
  workload: { type: 'string', value: 'NAME', description: 'a workload (Deployment, StatefulSet, DaemonSet, Job): the union over its pods (owned by it per the Kubernetes API, else as their names tell)' },
  unit: { type: 'string', value: 'UNIT', description: 'a host systemd unit (nginx.service) instead of a pod' },
  container: { type: 'string', value: 'NAME', description: "only this container's syscalls; default the union over the pod's containers" },
  format: {
    type: 'string', value: 'oci|spo|systemd', env: 'SECCOMP_AUDITOR_PROFILE_FORMAT', default: 'oci',
    description: 'oci: the JSON runc, crun and the kubelet read; spo: a Security Profiles Operator SeccompProfile (YAML); systemd: a drop-in for a --unit NAME.service',
  },
  'default-action': {
    type: 'string', value: 'errno|log', env: 'SECCOMP_AUDITOR_PROFILE_DEFAULT_ACTION', default: 'errno',
    description: 'what the profile does with syscalls never seen: errno (EPERM) enforces; log allows and logs them (complain mode)',
  },
  baseline: {
    type: 'string', value: 'none|runc|crun', env: 'SECCOMP_AUDITOR_PROFILE_BASELINE',
    description: "also allow what that runtime's init calls after loading the filter (derived from real runs; some of it happens in some runs only); default runc for pods and workloads, none for host units",
  },
  'log-denied': {
    type: 'boolean', env: 'SECCOMP_AUDITOR_PROFILE_LOG_DENIED',
    description: 'add flags: [SECCOMP_FILTER_FLAG_LOG] (spec.flags in spo) so the kernel logs the calls the profile denies and they show in /api/v1/violations (it logs errno actions only with the flag); crun 1.8 loads it, runc 1.1 refuses such a profile and the container does not start',
  },
  name: { type: 'string', value: 'NAME', description: 'metadata.name of the spo object; default POD (or the workload), -CONTAINER with --container' },
  explain: {
    type: 'boolean', env: 'SECCOMP_AUDITOR_PROFILE_EXPLAIN',
    description: 'print {"profile", "explain"} as JSON: records and time range learned from (explain.learned: losses overlapping it, young), syscalls left out and why',
  },
  'allow-incomplete': {
    type: 'boolean', env: 'SECCOMP_AUDITOR_PROFILE_ALLOW_INCOMPLETE',
    description: 'print the profile even when its learning window overlaps records a node lost (with a warning, and marked in --explain and the spo annotations); without it such a profile is an error that says what was lost',
  },
  ...YOUNG_OPTIONS,
} satisfies OptionTable;

export const profileCommand: Command = {
  name: 'profile',
  summary: 'print the seccomp profile learned for a pod, workload or host unit (OCI JSON, SPO, systemd drop-in)',
  help: () => `Usage: seccomp-auditor profile --db PATH --namespace NS --pod POD [options]
       seccomp-auditor profile --db PATH --namespace NS --workload NAME [options]
       seccomp-auditor profile --db PATH --unit NAME.service [--format systemd] [options]
       seccomp-auditor profile --from URL [--from URL ...] ... (instead of --db)
       seccomp-auditor profile --cluster [--context NAME] [--apply] ... (instead of --db)

Prints to stdout the seccomp profile learned from what the pod's containers (or the workload's
pods, or the host unit's processes) were seen calling: one SCMP_ACT_ALLOW rule with every
syscall seen running (logged), for the architectures seen. Syscalls only ever seen blocked
(errno, kill, trap, ...) stay out; --explain lists them.

With --from, each daemon's learned profile is fetched over its API and the union is printed: a
syscall is allowed if any node saw it run. A daemon that does not answer, or has not seen the
target (404), is an error naming its URL; --allow-missing skips it with a warning instead (a
pod runs on one node: merging a pod across nodes usually wants --allow-missing).

With --cluster, the daemon pods are found through the Kubernetes API (the kubeconfig as kubectl
finds it, or the in-cluster service account) and each is asked through the API server's pod
proxy, with the token from the Secret seccomp-auditor-token (or --token-file); no network path
to the nodes is needed. Daemons that have not seen the target are left out (a workload runs on
some nodes); one that is gone, not running or slower than --node-timeout is an error unless
--allow-missing. stderr says which nodes answered. --apply writes the profile into the
ConfigMap seccomp-auditor-profiles as NAME.json; every daemon then installs it as
seccomp-auditor/NAME.json in its node's kubelet seccomp directory. The RBAC it needs:
deploy/kubernetes/components/profile-export-rbac (kubectl seccomp-auditor is the same command).

A profile whose learning window (first to last record) overlaps records a node lost (printk
suppression or ring overwrites on /dev/kmsg, audit socket overruns, the kernel's audit_lost,
the daemon being down) may lack calls the workload makes: it is an error naming the loss and
the fix unless --allow-incomplete. With --from, each daemon says whether its part is complete
and the merge is complete only if every part is. A window shorter than --young-window or with
fewer than --young-records records is young: printed, and marked so in --explain
(explain.learned.young) and the spo annotations.

Options:
${formatOptions(OPTIONS)}
`,
  async run(argv: string[], io: CommandIo): Promise<number> {
    const { values, positionals } = parseCommandLine(argv, OPTIONS, io.env);
    if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
    checkClusterFlags(values, argv);
    const remote = values.from.length > 0 || values.cluster;
    const dbFlag = argv.some((a) => a === '--db' || a.startsWith('--db='));
    if (remote && dbFlag) throw new UsageError('--from and --db are mutually exclusive: merge from daemons, or read one database');
    if (!remote && values.db === undefined) throw new UsageError('--db PATH is required: the database the daemon writes (or --from URL, repeated, to merge what several nodes\' daemons learned, or --cluster)');
    if (!remote && values['allow-missing']) throw new UsageError('--allow-missing goes with --from or --cluster');
    const target = targetOf(values);
    const format = oneOf('--format', values.format!, FORMATS);
    const defaultAction = oneOf('--default-action', values['default-action']!, DEFAULT_ACTIONS);
    // host units do not start under an OCI runtime
    const baseline = baselineSyscalls(oneOf('--baseline', values.baseline ?? (target.kind === 'unit' ? 'none' : DEFAULT_BASELINE), BASELINES));
    if (format === 'systemd' && target.kind !== 'unit') throw new UsageError('--format systemd is for host units: give --unit NAME.service');
    if (format === 'spo' && target.kind === 'unit') throw new UsageError('--format spo is for pods and workloads; a host unit takes oci or systemd');
    if (format === 'systemd' && !isServiceUnit(target.name)) throw new UsageError(`--format systemd needs a service: ${target.name} is not NAME.service`);
    if (values['log-denied'] && defaultAction !== 'errno') throw new UsageError(`--log-denied with --default-action ${defaultAction}: ${LOG_DENIED_NEEDS_ERRNO}`);
    if (values['log-denied'] && format === 'systemd') throw new UsageError(`--log-denied with --format systemd: ${SYSTEMD_LOG_DENIED}`);
    const young = parseYoungThresholds(values);
    const fail = (message: string): number => {
      io.stderr.write(`seccomp-auditor profile: ${message}\n`);
      return 1;
    };

    let built: BuiltProfile;
    let learned: LearnedFrom;
    let nodes: unknown[] | null = null;
    let session: ClusterSession | null = null;
    if (remote) {
      const urls: string[] = [];
      for (const value of values.from) {
        const url = daemonBaseUrl(value);
        if (typeof url !== 'string') throw new UsageError(url.problem);
        urls.push(url);
      }
      let token: string | null = null;
      if (values['token-file'] !== undefined) {
        try {
          token = readFileSync(values['token-file'], 'utf8').trim();
        } catch (err) {
          return fail(`cannot read the token file ${values['token-file']} (${(err as NodeJS.ErrnoException).code}); check --token-file`);
        }
      }
      let answers: NodeAnswer[];
      if (values.cluster) {
        try {
          const asked = await askCluster(values, target, io.env);
          session = asked.session;
          answers = asked.answers;
          // which nodes the merge is made of, always: a node left out changes the profile
          const got = answers.filter((a) => 'built' in a).map((a) => a.url);
          io.stderr.write(`seccomp-auditor profile: asked ${asked.asked} daemon${asked.asked === 1 ? '' : 's'} in ${session.namespace}: ${got.length > 0 ? `merging ${got.join(', ')}` : 'none has observations'}${asked.notSeen.length > 0 ? `; not seen on ${asked.notSeen.map((n) => n.split(':')[0]).join(', ')}` : ''}\n`);
        } catch (err) {
          if (err instanceof ClusterError) return fail(err.message);
          throw err;
        }
      } else {
        answers = await fetchNodeProfiles(urls, target, { token });
      }
      const errors = answers.filter((a) => 'error' in a);
      if (errors.length > 0) return fail(errors.map((a) => (a as { error: string }).error).join('; '));
      const missing = answers.filter((a): a is { url: string; missing: string } => 'missing' in a);
      if (missing.length > 0 && !values['allow-missing']) {
        return fail(values.cluster
          ? `${missing.map((m) => m.missing).join('; ')}; the merge would lack those nodes' observations of ${describe(target)} (--allow-missing merges the nodes that answered)`
          : `${missing.map((m) => m.missing).join('; ')}; every --from daemon must have seen ${describe(target)} (--allow-missing skips those that have not)`);
      }
      for (const m of missing) io.stderr.write(`seccomp-auditor profile: warning: skipped ${m.missing}\n`);
      const found = answers.filter((a): a is { url: string; built: BuiltProfile } => 'built' in a);
      if (found.length === 0) return fail(`no ${values.cluster ? 'daemon in the cluster' : '--from daemon'} has observations for ${describe(target)}`);
      // a daemon of a version before explain.learned cannot say whether its part is complete
      const silent = found.filter((a) => a.built.explain.learned === undefined).map((a) => a.url);
      if (silent.length > 0 && !values['allow-incomplete']) {
        return fail(`${silent.join(', ')} ${silent.length > 1 ? 'do' : 'does'} not say what ${silent.length > 1 ? 'their' : 'its'} profile was learned from (a daemon older than explain.learned), so nothing says it is complete; upgrade ${silent.length > 1 ? 'them' : 'it'}, or take the merge anyway with --allow-incomplete`);
      }
      // each node's part as it judged it; the merge is decided once, below, on all of them
      learned = mergeLearned(found.map((a) => ({
        node: a.url,
        learned: a.built.explain.learned ?? assessLearning({ records: a.built.explain.records, fromMs: null, toMs: null, losses: [], unattributed: [], thresholds: young }),
      })), young);
      if (silent.length > 0) learned.complete = false;
      built = mergeBuiltProfiles(found.map((a) => a.built), { defaultAction, baseline });
      // each answer was checked; the merge is checked again as a whole before anything is printed
      const check = checkOciProfile(built.profile);
      if (!check.ok) return fail(`the profile merged from ${found.map((a) => a.url).join(', ')} is not valid (${check.problem}); nothing printed`);
      nodes = answers.map((a) => ('built' in a
        ? {
          url: a.url, records: a.built.explain.records, syscalls: a.built.explain.syscalls, from: a.built.explain.from, to: a.built.explain.to,
          // null: the daemon does not say (an older version)
          complete: a.built.explain.learned?.complete ?? null, lost: a.built.explain.learned === undefined ? null : lostSummary(a.built.explain.learned),
        }
        : { url: a.url, missing: (a as { missing: string }).missing }));
    } else {
      const local = readLocal(values.db!, target, { defaultAction, baseline }, young);
      if (typeof local === 'string') return fail(local);
      built = local;
      learned = local.explain.learned!;
    }
    built.explain.learned = learned;
    if (!learned.complete) {
      if (!values['allow-incomplete']) return fail(incompleteMessage(describe(target), learned, '--allow-incomplete'));
      io.stderr.write(`seccomp-auditor profile: warning: the profile is incomplete (lost: ${lostSummary(learned)}): it may lack calls the workload makes; taken because of --allow-incomplete\n`);
    }

    if (values['log-denied']) built.profile = withLogDenied(built.profile);
    if (built.explain.syscalls - built.explain.baselineAdded.length === 0 && format !== 'systemd') {
      const what = target.kind === 'pod' ? describe(target).slice('pod '.length) : describe(target);
      io.stderr.write(`seccomp-auditor profile: warning: no syscall of ${what} was seen running; the profile allows none\n`);
    }
    let text: string;
    let object: unknown;
    if (format === 'systemd') {
      try {
        text = formatSystemdDropIn(built, { unit: target.name, defaultAction });
      } catch (err) {
        if (err instanceof SystemdDropInError) return fail(err.message);
        throw err;
      }
      object = text;
    } else if (format === 'spo') {
      const container = target.kind !== 'unit' ? target.container : undefined;
      const spo = toSpoProfile(built.profile, {
        name: values.name ?? (container === undefined ? target.name : `${target.name}-${container}`), namespace: (target as { namespace: string }).namespace,
        annotations: learnedAnnotations(learned),
      });
      text = formatSpoYaml(spo);
      object = spo;
    } else {
      text = JSON.stringify(built.profile, null, 2) + '\n';
      object = built.profile;
    }
    if (values.apply) {
      const container = target.kind !== 'unit' ? target.container : undefined;
      const name = values.name ?? (container === undefined ? target.name : `${target.name}-${container}`);
      try {
        const r = await applyToCluster(session!, name, text);
        io.stdout.write(`${r.unchanged ? 'unchanged' : 'written'}: ${r.key} in ConfigMap ${session!.namespace}/seccomp-auditor-profiles (resourceVersion ${r.resourceVersion}); pods use it as localhostProfile: seccomp-auditor/${r.key}\n`);
      } catch (err) {
        if (err instanceof ClusterError) return fail(err.message);
        throw err;
      }
      return 0;
    }
    if (values.explain) {
      io.stdout.write(JSON.stringify({ profile: object, explain: nodes === null ? built.explain : { ...built.explain, nodes } }, null, 2) + '\n');
    } else {
      io.stdout.write(text);
    }
    return 0;
  },
};

type Values = { namespace?: string; pod?: string; workload?: string; unit?: string; container?: string };

function targetOf(v: Values): ProfileTarget {
  const given = (s: string | undefined): s is string => s !== undefined && s !== '';
  if (given(v.unit)) {
    for (const flag of ['namespace', 'pod', 'workload', 'container'] as const) {
      if (given(v[flag])) throw new UsageError(`--unit and --${flag} do not go together: a host unit has no ${flag}`);
    }
    return { kind: 'unit', name: v.unit };
  }
  if (given(v.pod) && given(v.workload)) throw new UsageError('--pod and --workload are mutually exclusive');
  if ((given(v.pod) || given(v.workload)) && !given(v.namespace)) throw new UsageError('--namespace NS is required');
  if (!given(v.pod) && !given(v.workload)) throw new UsageError('--pod POD is required (or --workload NAME, or --unit UNIT for a host unit)');
  const container = given(v.container) ? { container: v.container } : {};
  return given(v.pod)
    ? { kind: 'pod', namespace: v.namespace!, name: v.pod, ...container }
    : { kind: 'workload', namespace: v.namespace!, name: v.workload!, ...container };
}

function describe(target: ProfileTarget): string {
  if (target.kind === 'unit') return `host unit ${target.name}`;
  const what = `${target.kind === 'pod' ? 'pod' : 'workload'} ${target.namespace}/${target.name}`;
  return target.container === undefined ? what : `${what}/${target.container}`;
}

/** The profile learned in one database with what it was learned from (explain.learned), or the message that says why there is none. */
function readLocal(db: string, target: ProfileTarget, options: ProfileOptions, young: YoungThresholds): BuiltProfile | string {
  // opening would create an empty database: a mistyped path should say so instead
  if (!existsSync(db)) return `${db}: no such database; check --db (or SECCOMP_AUDITOR_DB)`;
  let store: SyscallStore;
  try {
    store = SyscallStore.open({ path: db });
  } catch (err) {
    return (err as Error).message;
  }
  let workloads: StoredWorkload[];
  let chosen: StoredWorkload[];
  let rows: StoredSyscall[];
  let units: string[] = [];
  let built: BuiltProfile | null = null;
  try {
    // one snapshot: the daemon may commit between the reads
    [workloads, chosen, rows, units] = store.readSnapshot(() => {
      let all: StoredWorkload[];
      let hostUnits: string[] = [];
      if (target.kind === 'unit') {
        const every = store.listWorkloads();
        all = every.filter((w) => w.key === `unit:${target.name}`);
        if (all.length === 0) hostUnits = every.filter((w) => w.kind === 'host' && w.unit !== null).map((w) => w.unit!);
      } else if (target.kind === 'pod') {
        all = store.workloadsOfPod(target.namespace, target.name);
      } else {
        all = workloadPods(store.listWorkloads({ namespace: target.namespace }), target.name);
      }
      const container = target.kind !== 'unit' ? target.container : undefined;
      const picked = container === undefined ? all : all.filter((w) => w.container === container);
      return [all, picked, store.syscallsOf(picked.map((w) => w.key)), hostUnits] as const;
    });
    if (chosen.length > 0) {
      built = buildOciProfile(rows, options);
      const fromMs = built.explain.from === null ? null : Date.parse(built.explain.from);
      const toMs = built.explain.to === null ? null : Date.parse(built.explain.to);
      const q = fromMs === null || toMs === null ? null : lossQueryWindow(fromMs, toMs);
      const evidence = q === null ? { losses: [], unattributed: [] } : store.learningEvidence(chosen.map((w) => w.key), q.fromMs, q.toMs);
      built.explain.learned = assessLearning({ records: built.explain.records, fromMs, toMs, ...evidence, thresholds: young });
    }
  } catch (err) {
    return (err as Error).message;
  } finally {
    store.close();
  }

  if (workloads.length === 0) {
    if (target.kind === 'unit') {
      const seen = units.sort();
      return `no observations for host unit ${target.name} in ${db}; units seen: ${seen.length > 0 ? seen.slice(0, 20).join(', ') + (seen.length > 20 ? ', ...' : '') : '(none)'}`;
    }
    if (target.kind === 'workload') return `no observations for workload ${target.namespace}/${target.name} (pods it owns, or named ${target.name}-...) in ${db}`;
    return `no observations for pod ${target.namespace}/${target.name} in ${db}: is the daemon running with that database, and has the pod run under a logging profile?`;
  }
  if (chosen.length === 0 && target.kind !== 'unit') {
    const names = [...new Set(workloads.map((w) => w.container).filter((c): c is string => c !== null))].sort();
    return `${target.kind} ${target.namespace}/${target.name} has no container '${target.container}'; its containers: ${names.length > 0 ? names.join(', ') : '(none named)'}`;
  }
  return built!;
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}
