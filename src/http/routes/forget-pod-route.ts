import type { FastifyInstance } from 'fastify';
import { authorize } from '../bearer-token.js';
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
