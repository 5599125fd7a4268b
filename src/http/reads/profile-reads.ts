/**
 * What the profile routes read and build: a pod's, a workload's or a host unit's learned profile
 * with what it was learned from (the learning window's losses and unattributed neighbours), and
 * the diff of a given profile against a pod's observations. Pure over the store, plain data out
 * (see pod-reads.ts); the route sets the X-Learned-* headers from `learned` and sends `body`.
 */
import { buildOciProfile, LOG_DENIED_NEEDS_ERRNO, withLogDenied } from '../../profile/oci-profile.js';
import { baselineSyscalls, type Baseline } from '../../profile/runtime-baseline.js';
import { formatSpoYaml, toSpoProfile } from '../../profile/spo-profile.js';
import { formatSystemdDropIn, SystemdDropInError } from '../../profile/systemd-dropin.js';
import { workloadPods } from '../../profile/workload-pods.js';
import { diffProfile, type GivenProfile } from '../../profile/profile-diff.js';
import { learnedAnnotations, type LearnedFrom, type YoungThresholds } from '../../profile/learning-window.js';
import type { StoredWorkload, SyscallStore } from '../../store/syscall-store.js';
import { ApiError } from '../api-errors.js';
import { learnedFor, refuseIncomplete } from '../learned-answer.js';
import { podWorkloads } from '../pod-lookup.js';

export interface ProfileQuery { container?: string | undefined; format: 'oci' | 'spo'; defaultAction: 'errno' | 'log'; baseline: Baseline; explain?: boolean | undefined; logDenied: boolean; allowIncomplete: boolean }

export interface UnitProfileQuery { format: 'oci' | 'systemd'; defaultAction: 'errno' | 'log'; explain?: boolean | undefined; logDenied: boolean; allowIncomplete: boolean }

/** A profile answer: its body and content type, and what it was learned from (the X-Learned-* headers). */
export interface ProfileAnswer {
  learned: LearnedFrom;
  type: string;
  /** a string (YAML, a drop-in) or JSON */
  body: unknown;
}

/** GET /api/v1/namespaces/{ns}/pods/{pod}/profile */
export function podProfile(store: SyscallStore, args: { namespace: string; pod: string; query: ProfileQuery; young: YoungThresholds }): ProfileAnswer {
  const { namespace, pod } = args;
  return profileOf(store, podWorkloads(store, namespace, pod), args.query, namespace, pod, `pod ${namespace}/${pod}`, args.young);
}

/** GET /api/v1/namespaces/{ns}/workloads/{name}/profile: the union over the workload's pods. */
export function workloadProfile(store: SyscallStore, args: { namespace: string; name: string; query: ProfileQuery; young: YoungThresholds }): ProfileAnswer {
  const { namespace, name } = args;
  const workloads = workloadPods(store.workloadCandidates(namespace, name), name);
  if (workloads.length === 0) throw new ApiError('SA_NOT_FOUND', `no observations for a workload ${namespace}/${name} (pods it owns, or pods named ${name}-... without a known owner)`);
  return profileOf(store, workloads, args.query, namespace, name, `workload ${namespace}/${name}`, args.young);
}

/** POST /api/v1/namespaces/{ns}/pods/{pod}/profile/diff: what a given profile would block of what the pod did. */
export function podProfileDiff(store: SyscallStore, args: { namespace: string; pod: string; container?: string | undefined; listNeverObserved: boolean; given: GivenProfile }) {
  const workloads = podWorkloads(store, args.namespace, args.pod, args.container);
  return diffProfile(args.given, store.syscallsOf(workloads.map((w) => w.key)), { listNeverObserved: args.listNeverObserved });
}

/** GET /api/v1/units/{unit}/profile: as OCI JSON or a systemd drop-in. */
export function unitProfile(store: SyscallStore, args: { unit: string; query: UnitProfileQuery; young: YoungThresholds }): ProfileAnswer {
  const { unit, young } = args;
  const { format, defaultAction, explain, logDenied, allowIncomplete } = args.query;
  const key = `unit:${unit}`;
  const rows = store.readSnapshot(() => (store.workload(key) !== null ? store.syscallsOf([key]) : null));
  if (rows === null) throw new ApiError('SA_NOT_FOUND', `no observations for host unit ${unit} (GET /api/v1/units lists the units seen)`);
  const built = buildOciProfile(rows, { defaultAction });
  const learned = learnedFor(store, [key], built.explain, young);
  refuseIncomplete(learned, allowIncomplete, `host unit ${unit}`);
  built.explain.learned = learned;
  if (logDenied) built.profile = withLogDenied(built.profile);
  if (format === 'systemd') {
    let dropIn: string;
    try {
      dropIn = formatSystemdDropIn(built, { unit, defaultAction });
    } catch (err) {
      if (err instanceof SystemdDropInError) throw new ApiError('SA_NOT_FOUND', err.message);
      throw err;
    }
    if (explain) return { learned, type: 'application/json', body: { profile: dropIn, explain: built.explain } };
    return { learned, type: 'text/plain; charset=utf-8', body: dropIn };
  }
  return { learned, type: 'application/json', body: explain ? { profile: built.profile, explain: built.explain } : built.profile };
}

function profileOf(s: SyscallStore, all: StoredWorkload[], query: ProfileQuery, namespace: string, name: string, what: string, young: YoungThresholds): ProfileAnswer {
  const { container, format, defaultAction, baseline, explain, logDenied, allowIncomplete } = query;
  if (logDenied && defaultAction !== 'errno') throw new ApiError('SA_BAD_REQUEST', `logDenied=true with defaultAction=${defaultAction}: ${LOG_DENIED_NEEDS_ERRNO}`);
  const workloads = container === undefined ? all : all.filter((w) => w.container === container);
  if (workloads.length === 0) throw new ApiError('SA_NOT_FOUND', `${what} has no container ${container} in the observations`);
  const keys = workloads.map((w) => w.key);
  const built = buildOciProfile(s.syscallUnionOf(keys), { defaultAction, baseline: baselineSyscalls(baseline) });
  const learned = learnedFor(s, keys, built.explain, young);
  refuseIncomplete(learned, allowIncomplete, container === undefined ? what : `${what}, container ${container}`);
  built.explain.learned = learned;
  if (logDenied) built.profile = withLogDenied(built.profile);
  if (format === 'spo') {
    const yaml = formatSpoYaml(toSpoProfile(built.profile, { name: container === undefined ? name : `${name}-${container}`, namespace, annotations: learnedAnnotations(learned) }));
    if (explain) return { learned, type: 'application/json', body: { profile: yaml, explain: built.explain } };
    return { learned, type: 'application/yaml', body: yaml };
  }
  return { learned, type: 'application/json', body: explain ? { profile: built.profile, explain: built.explain } : built.profile };
}
