import type { FastifyInstance } from 'fastify';
import { buildOciProfile } from '../../profile/oci-profile.js';
import { formatSpoYaml, toSpoProfile } from '../../profile/spo-profile.js';
import type { SyscallStore } from '../../store/syscall-store.js';
import { ApiError, DNS1123_LABEL, DNS1123_SUBDOMAIN, ERROR_SCHEMA, requireStore } from '../api-errors.js';

/**
 * GET /api/v1/namespaces/{namespace}/pods/{pod}/profile: the profile learned for a pod (the union
 * of its containers, or one with ?container=), as OCI JSON for the kubelet's seccomp directory or
 * as a Security Profiles Operator object. How much it was learned from comes in headers
 * (X-Learned-Records, X-Learned-From, X-Learned-To), or with ?explain=1 beside the profile.
 */
export function profileRoute(app: FastifyInstance, store: () => SyscallStore | null): void {
  app.get<{
    Params: { namespace: string; pod: string };
    Querystring: { container?: string; format: 'oci' | 'spo'; defaultAction: 'errno' | 'log'; explain?: boolean };
  }>('/api/v1/namespaces/:namespace/pods/:pod/profile', {
    schema: {
      params: {
        type: 'object',
        properties: {
          namespace: { type: 'string', pattern: DNS1123_LABEL, maxLength: 63 },
          pod: { type: 'string', pattern: DNS1123_SUBDOMAIN, maxLength: 253 },
        },
        required: ['namespace', 'pod'],
      },
      querystring: {
        type: 'object',
        properties: {
          container: { type: 'string', pattern: DNS1123_LABEL, maxLength: 63 },
          format: { type: 'string', enum: ['oci', 'spo'], default: 'oci' },
          defaultAction: { type: 'string', enum: ['errno', 'log'], default: 'errno' },
          explain: { type: 'boolean' },
        },
        additionalProperties: false,
      },
      response: { '4xx': ERROR_SCHEMA, 503: ERROR_SCHEMA },
    },
  }, async (req, reply) => {
    const { namespace, pod } = req.params;
    const { container, format, defaultAction, explain } = req.query;
    const s = requireStore(store);
    let workloads = s.workloadsOfPod(namespace, pod);
    if (workloads.length === 0) throw new ApiError('SA_POD_NOT_FOUND', `no observations for pod ${namespace}/${pod}`);
    if (container !== undefined) {
      workloads = workloads.filter((w) => w.container === container);
      if (workloads.length === 0) throw new ApiError('SA_NOT_FOUND', `pod ${namespace}/${pod} has no container ${container} in the observations`);
    }
    const built = buildOciProfile(s.syscallsOf(workloads.map((w) => w.key)), { defaultAction });
    reply.header('X-Learned-Records', String(built.explain.records));
    if (built.explain.from !== null) reply.header('X-Learned-From', built.explain.from);
    if (built.explain.to !== null) reply.header('X-Learned-To', built.explain.to);
    if (format === 'spo') {
      const yaml = formatSpoYaml(toSpoProfile(built.profile, { name: container === undefined ? pod : `${pod}-${container}`, namespace }));
      if (explain) return reply.type('application/json').send({ profile: yaml, explain: built.explain });
      return reply.type('application/yaml').send(yaml);
    }
    return reply.type('application/json').send(explain ? { profile: built.profile, explain: built.explain } : built.profile);
  });
}
