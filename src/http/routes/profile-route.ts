import type { FastifyInstance, FastifyReply } from 'fastify';
import { BASELINES, DEFAULT_BASELINE } from '../../profile/runtime-baseline.js';
import type { GivenProfile } from '../../profile/profile-diff.js';
import { checkedProfile, OCI_PROFILE_BODY } from '../oci-profile-body.js';
import { DNS1123_LABEL, DNS1123_SUBDOMAIN, ERROR_SCHEMA } from '../api-errors.js';
import { CONTAINER_QUERY_PROPERTY, POD_PARAMS } from '../pod-lookup.js';
import type { YoungThresholds } from '../../profile/learning-window.js';
import { sendLearnedHeaders } from '../learned-answer.js';
import type { ProfileAnswer, ProfileQuery } from '../reads/profile-reads.js';
import { clientGone, type StoreReader } from '../store-reader.js';

/**
 * GET /api/v1/namespaces/{namespace}/pods/{pod}/profile: the profile learned for a pod (the union
 * of its containers, or one with ?container=), as OCI JSON for the kubelet's seccomp directory or
 * as a Security Profiles Operator object. What it was learned from comes in headers
 * (X-Learned-Records, -From, -To, -Complete, -Lost, -Young, -Unattributed), in the SPO object's
 * annotations, and with ?explain=1 beside the profile (`explain.learned`). A profile whose
 * learning window overlaps records the node lost is refused (409 SA_PROFILE_INCOMPLETE) unless
 * ?allowIncomplete=true. The profile is read and built in reads/profile-reads.ts, where the
 * reader runs reads (a read thread).
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

export function profileRoute(app: FastifyInstance, reader: StoreReader, young: YoungThresholds): void {
  app.get<{ Params: { namespace: string; pod: string }; Querystring: ProfileQuery }>('/api/v1/namespaces/:namespace/pods/:pod/profile', {
    schema: { params: POD_PARAMS, querystring: PROFILE_QUERY, response: { '4xx': ERROR_SCHEMA, 503: ERROR_SCHEMA } },
  }, async (req, reply) => sendProfile(reply, await reader.run('podProfile', { ...req.params, query: { ...req.query }, young }, clientGone(reply))));

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
  }, async (req, reply) => {
    // checked here: a bad body costs no place in the read queue
    const given = checkedProfile(req.body);
    return reader.run('podProfileDiff', {
      ...req.params, container: req.query.container, listNeverObserved: req.query.neverObserved === 'list', given,
    }, clientGone(reply));
  });

  // the union over every pod of a workload: the pods the Kubernetes API named as its own, and
  // pods without a known owner whose names tell it (ReplicaSet hash and pod suffix, or a
  // StatefulSet ordinal, stripped)
  app.get<{ Params: { namespace: string; name: string }; Querystring: ProfileQuery }>('/api/v1/namespaces/:namespace/workloads/:name/profile', {
    schema: { params: WORKLOAD_PARAMS, querystring: PROFILE_QUERY, response: { '4xx': ERROR_SCHEMA, 503: ERROR_SCHEMA } },
  }, async (req, reply) => sendProfile(reply, await reader.run('workloadProfile', { ...req.params, query: { ...req.query }, young }, clientGone(reply))));
}

/** A profile answer as built on the read thread: the X-Learned-* headers, then the body in its type. */
function sendProfile(reply: FastifyReply, answer: ProfileAnswer): FastifyReply {
  sendLearnedHeaders(reply, answer.learned);
  return reply.type(answer.type).send(answer.body);
}
