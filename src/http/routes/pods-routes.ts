import type { FastifyInstance } from 'fastify';
import { DNS1123_LABEL, ERROR_SCHEMA } from '../api-errors.js';
import { CONTINUE_PROPERTY, PAGE_QUERY_PROPERTIES } from '../continue-token.js';
import { itemsOf } from '../api-json.js';
import { CONTAINER_QUERY_PROPERTY, POD_PARAMS } from '../pod-lookup.js';
import { OWNER_SCHEMA } from '../pod-owner.js';
import { clientGone, sendJson, type StoreReader } from '../store-reader.js';

/** Convergence: a container still learning, or stable for days. */
const CONVERGENCE_PROPERTIES = {
  lastNewSyscallAt: { type: ['string', 'null'], description: 'when the first record of its newest distinct syscall was seen; null before any' },
  recordsSinceNewSyscall: { type: 'integer', description: 'records committed after the one that brought that syscall' },
} as const;

const CONTAINER_SUMMARY = {
  type: 'object',
  properties: {
    name: { type: ['string', 'null'] },
    containerId: { type: ['string', 'null'] },
    syscalls: { type: 'integer', description: 'distinct syscalls (arch and number), whatever the action' },
    records: { type: 'integer' },
    violations: { type: 'integer', description: 'records whose action was not log' },
    firstSeen: { type: 'string' },
    lastSeen: { type: 'string' },
    ...CONVERGENCE_PROPERTIES,
  },
} as const;

const SYSCALL = {
  type: 'object',
  properties: {
    name: { type: ['string', 'null'] },
    arch: { type: ['string', 'null'] },
    nr: { type: 'integer' },
    action: { type: 'string' },
    count: { type: 'integer' },
    firstSeen: { type: 'string' },
    lastSeen: { type: 'string' },
  },
} as const;


/**
 * GET /api/v1/pods and GET /api/v1/namespaces/{namespace}/pods/{pod}/syscalls: what the store
 * holds, per pod and container. Pods come in pages (`limit`, and `continue` from the last page).
 * What they read is in reads/pod-reads.ts, run where the reader runs reads (a read thread).
 */
export function podsRoutes(app: FastifyInstance, reader: StoreReader): void {
  app.get<{ Querystring: { namespace?: string; limit: number; continue?: string } }>('/api/v1/pods', {
    schema: {
      description: 'Pods seen, one item per pod incarnation (a pod recreated under its name, as a StatefulSet does, is another podUid and another item), by namespace, name and uid, a page at a time.',
      querystring: {
        type: 'object',
        properties: {
          namespace: { type: 'string', pattern: DNS1123_LABEL, maxLength: 63 },
          ...PAGE_QUERY_PROPERTIES,
        },
        additionalProperties: false,
      },
      response: {
        200: itemsOf({
          namespace: { type: 'string' }, pod: { type: 'string' }, podUid: { type: ['string', 'null'] }, owner: OWNER_SCHEMA,
          containers: { type: 'array', items: CONTAINER_SUMMARY },
        }, CONTINUE_PROPERTY),
        '4xx': ERROR_SCHEMA,
        503: ERROR_SCHEMA,
      },
    },
  }, async (req, reply) => sendJson(reply, await reader.runJson('podsPage', { ...req.query }, clientGone(reply))));

  app.get<{ Params: { namespace: string; pod: string }; Querystring: { container?: string } }>('/api/v1/namespaces/:namespace/pods/:pod/syscalls', {
    schema: {
      params: POD_PARAMS,
      querystring: { type: 'object', properties: { container: CONTAINER_QUERY_PROPERTY }, additionalProperties: false },
      response: {
        200: {
          type: 'object',
          properties: {
            namespace: { type: 'string' },
            pod: { type: 'string' },
            owner: OWNER_SCHEMA,
            containers: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  name: { type: ['string', 'null'] }, containerId: { type: ['string', 'null'] }, syscalls: { type: 'array', items: SYSCALL },
                  ...CONVERGENCE_PROPERTIES,
                  // the programs its processes ran, and how many processes each
                  executables: {
                    type: 'array',
                    items: { type: 'object', properties: { exe: { type: 'string' }, processes: { type: 'integer' }, firstSeen: { type: 'string' }, lastSeen: { type: 'string' } } },
                  },
                },
              },
            },
          },
        },
        '4xx': ERROR_SCHEMA,
        503: ERROR_SCHEMA,
      },
    },
  }, async (req, reply) => sendJson(reply, await reader.runJson('podSyscalls', { ...req.params, container: req.query.container }, clientGone(reply))));
}
