import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { SyscallStore } from '../../store/syscall-store.js';
import { ApiError, ERROR_SCHEMA, requireStore } from '../api-errors.js';
import { POD_PARAMS } from '../pod-lookup.js';

/**
 * DELETE /api/v1/namespaces/{namespace}/pods/{pod}: forget a pod's observations, to learn it
 * afresh. Mutating, so it needs `Authorization: Bearer <token>`; without a configured token the
 * route answers that mutations are off.
 */
export function forgetPodRoute(app: FastifyInstance, store: () => SyscallStore | null, token: string | null): void {
  app.delete<{ Params: { namespace: string; pod: string } }>('/api/v1/namespaces/:namespace/pods/:pod', {
    schema: {
      params: POD_PARAMS,
      response: {
        200: { type: 'object', properties: { namespace: { type: 'string' }, pod: { type: 'string' }, forgotten: { type: 'integer' } } },
        '4xx': ERROR_SCHEMA,
        503: ERROR_SCHEMA,
      },
    },
    preHandler: async (req) => authorize(req, token),
  }, async (req) => {
    const { namespace, pod } = req.params;
    const forgotten = requireStore(store).deletePod(namespace, pod);
    if (forgotten === 0) throw new ApiError('SA_POD_NOT_FOUND', `no observations for pod ${namespace}/${pod}`);
    app.log.info({ event: 'pod_forgotten', namespace, pod, containers: forgotten }, `forgot ${namespace}/${pod}`);
    return { namespace, pod, forgotten };
  });
}

function authorize(req: FastifyRequest, token: string | null): void {
  if (token === null) throw new ApiError('SA_MUTATIONS_OFF', 'mutating routes are off: start the daemon with --token-file to enable them');
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given), b = Buffer.from(token);
  // compared in constant time, so the answer's timing does not reveal the token
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new ApiError('SA_UNAUTHORIZED', 'missing or wrong bearer token (Authorization: Bearer <token from --token-file>)');
}
