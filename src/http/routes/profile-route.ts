import type { FastifyInstance, FastifyReply } from 'fastify';
import { buildOciProfile, LOG_DENIED_NEEDS_ERRNO, withLogDenied } from '../../profile/oci-profile.js';
import { BASELINES, baselineSyscalls, DEFAULT_BASELINE, type Baseline } from '../../profile/runtime-baseline.js';
import { formatSpoYaml, toSpoProfile } from '../../profile/spo-profile.js';
import type { StoredWorkload, SyscallStore } from '../../store/syscall-store.js';
import { workloadPods } from '../../profile/workload-pods.js';
import { diffProfile, type GivenProfile } from '../../profile/profile-diff.js';
import { checkedProfile, OCI_PROFILE_BODY } from '../oci-profile-body.js';
import { ApiError, DNS1123_LABEL, DNS1123_SUBDOMAIN, ERROR_SCHEMA, requireStore } from '../api-errors.js';
import { CONTAINER_QUERY_PROPERTY, POD_PARAMS, podWorkloads } from '../pod-lookup.js';
import { learnedAnnotations, type YoungThresholds } from '../../profile/learning-window.js';
import { learnedFor, refuseIncomplete, sendLearnedHeaders } from '../learned-answer.js';

/**
 * GET /api/v1/namespaces/{namespace}/pods/{pod}/profile: the profile learned for a pod (the union
 * of its containers, or one with ?container=), as OCI JSON for the kubelet's seccomp directory or
 * as a Security Profiles Operator object. What it was learned from comes in headers
 * (X-Learned-Records, -From, -To, -Complete, -Lost, -Young, -Unattributed), in the SPO object's
 * annotations, and with ?explain=1 beside the profile (`explain.learned`). A profile whose
 * learning window overlaps records the node lost is refused (409 SA_PROFILE_INCOMPLETE) unless
 * ?allowIncomplete=true.
 */
const WORKLOAD_PARAMS = {
  type: 'object',
  properties: {
    namespace: { type: 'string', pattern: DNS1123_LABEL, maxLength: 63 },
    name: { type: 'string', pattern: DNS1123_SUBDOMAIN, maxLength: 253 },
  },
  required: ['namespace', 'name'],
} as const;

const PROFILE_QUERY = {
  type: 'object',
  properties: {
    container: CONTAINER_QUERY_PROPERTY,
    format: { type: 'string', enum: ['oci', 'spo'], default: 'oci' },
    defaultAction: { type: 'string', enum: ['errno', 'log'], default: 'errno' },
    // what the runtime's init calls after loading the filter: runc's by default, since some of
    // it (futex, rt_sigreturn) happens in some runs only, and a profile without it fails to
    // start about one container in forty (measured; README "Learned profiles")
    baseline: { type: 'string', enum: BASELINES, default: DEFAULT_BASELINE },
    explain: { type: 'boolean' },
    // flags: ["SECCOMP_FILTER_FLAG_LOG"], so that the kernel logs what the profile denies (it
    // logs errno actions only with it) and denials reach /api/v1/violations; crun loads it, runc
    // 1.1 refuses the profile (withLogDenied, test/e2e/log-denied.test.ts)
    logDenied: { type: 'boolean', default: false },
    // a profile whose learning window overlaps losses: returned (marked) instead of refused
    allowIncomplete: { type: 'boolean', default: false },
  },
  additionalProperties: false,
} as const;

interface ProfileQuery { container?: string; format: 'oci' | 'spo'; defaultAction: 'errno' | 'log'; baseline: Baseline; explain?: boolean; logDenied: boolean; allowIncomplete: boolean }

export function profileRoute(app: FastifyInstance, store: () => SyscallStore | null, young: YoungThresholds): void {
  app.get<{ Params: { namespace: string; pod: string }; Querystring: ProfileQuery }>('/api/v1/namespaces/:namespace/pods/:pod/profile', {
    schema: { params: POD_PARAMS, querystring: PROFILE_QUERY, response: { '4xx': ERROR_SCHEMA, 503: ERROR_SCHEMA } },
  }, async (req, reply) => {
    const { namespace, pod } = req.params;
    const s = requireStore(store);
    return sendProfile(reply, s, podWorkloads(s, namespace, pod), req.query, namespace, pod, `pod ${namespace}/${pod}`, young);
  });

  app.post<{ Params: { namespace: string; pod: string }; Querystring: { container?: string; neverObserved: 'count' | 'list' }; Body: GivenProfile }>('/api/v1/namespaces/:namespace/pods/:pod/profile/diff', {
    schema: {
      params: POD_PARAMS,
      querystring: {
        type: 'object',
        properties: {
          container: CONTAINER_QUERY_PROPERTY,
          // the allowed calls nobody made: a count by default (a broad profile allows hundreds), the names with list
          neverObserved: { type: 'string', enum: ['count', 'list'], default: 'count' },
        },
        additionalProperties: false,
      },
      // checked by checkOciProfile, the one validator every route and the ConfigMap sync share
      body: OCI_PROFILE_BODY,
      response: {
        200: {
          type: 'object',
          properties: {
            wouldBlock: { type: 'array', items: { type: 'object', properties: { name: { type: 'string' }, count: { type: 'integer' }, lastSeen: { type: 'string' } } } },
            conditional: { type: 'array', items: { type: 'string' } },
            neverObserved: { type: 'object', properties: { count: { type: 'integer' }, names: { type: 'array', items: { type: 'string' } } } },
          },
        },
        '4xx': ERROR_SCHEMA,
        503: ERROR_SCHEMA,
      },
    },
  }, async (req) => {
    const { namespace, pod } = req.params;
    const given = checkedProfile(req.body);
    const s = requireStore(store);
    const workloads = podWorkloads(s, namespace, pod, req.query.container);
    return diffProfile(given, s.syscallsOf(workloads.map((w) => w.key)), { listNeverObserved: req.query.neverObserved === 'list' });
  });

  // the union over every pod of a workload: the pods the Kubernetes API named as its own, and
  // pods without a known owner whose names tell it (ReplicaSet hash and pod suffix, or a
  // StatefulSet ordinal, stripped)
  app.get<{ Params: { namespace: string; name: string }; Querystring: ProfileQuery }>('/api/v1/namespaces/:namespace/workloads/:name/profile', {
    schema: { params: WORKLOAD_PARAMS, querystring: PROFILE_QUERY, response: { '4xx': ERROR_SCHEMA, 503: ERROR_SCHEMA } },
  }, async (req, reply) => {
    const { namespace, name } = req.params;
    const s = requireStore(store);
    const workloads = workloadPods(s.workloadCandidates(namespace, name), name);
    if (workloads.length === 0) throw new ApiError('SA_NOT_FOUND', `no observations for a workload ${namespace}/${name} (pods it owns, or pods named ${name}-... without a known owner)`);
    return sendProfile(reply, s, workloads, req.query, namespace, name, `workload ${namespace}/${name}`, young);
  });
}


async function sendProfile(
  reply: FastifyReply, s: SyscallStore, all: StoredWorkload[], query: ProfileQuery, namespace: string, name: string, what: string, young: YoungThresholds,
): Promise<FastifyReply> {
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
  sendLearnedHeaders(reply, learned);
  if (format === 'spo') {
    const yaml = formatSpoYaml(toSpoProfile(built.profile, { name: container === undefined ? name : `${name}-${container}`, namespace, annotations: learnedAnnotations(learned) }));
    if (explain) return reply.type('application/json').send({ profile: yaml, explain: built.explain });
    return reply.type('application/yaml').send(yaml);
  }
  return reply.type('application/json').send(explain ? { profile: built.profile, explain: built.explain } : built.profile);
}
