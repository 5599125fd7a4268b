import type { FastifyInstance } from 'fastify';
import type { StoredWorkload, SyscallStore } from '../../store/syscall-store.js';
import { archName, syscallName } from '../../syscalls/syscall-table.js';
import { ApiError, DNS1123_LABEL, ERROR_SCHEMA, requireStore } from '../api-errors.js';
import { CONTINUE_PROPERTY, decodeContinue, encodeContinue, isStrings, PAGE_QUERY_PROPERTIES } from '../continue-token.js';
import { iso, itemsOf } from '../api-json.js';
import { CONTAINER_QUERY_PROPERTY, POD_PARAMS, podWorkloads } from '../pod-lookup.js';
import { podOwner } from '../../profile/workload-pods.js';
import { OWNER_SCHEMA } from '../pod-owner.js';

/** Convergence: a container still learning, or stable for days. */
const CONVERGENCE_PROPERTIES = {
  lastNewSyscallAt: { type: ['string', 'null'], description: 'when the first record of its newest distinct syscall was seen; null before any' },
  recordsSinceNewSyscall: { type: 'integer', description: 'records committed after the one that brought that syscall' },
} as const;

const convergence = (w: StoredWorkload) => ({
  lastNewSyscallAt: w.lastNewSyscallAt === null ? null : iso(w.lastNewSyscallAt), recordsSinceNewSyscall: w.recordsSinceNewSyscall,
});

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
 */
export function podsRoutes(app: FastifyInstance, store: () => SyscallStore | null): void {
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
  }, async (req) => {
    const { namespace, limit } = req.query;
    const after = decodeContinue('pods', req.query.continue, isStrings(3));
    if (after !== null && namespace !== undefined && after[0] !== namespace) {
      throw new ApiError('SA_BAD_REQUEST', `continue: a token of namespace ${after[0]}, not ${namespace}; pass the same ?namespace= on every page`);
    }
    const page = requireStore(store).podPage({
      limit, ...(namespace !== undefined ? { namespace } : {}),
      after: after === null ? null : { namespace: after[0]!, pod: after[1]!, podUid: after[2]! },
    });
    return {
      items: page.items.map(({ key, workloads }) => ({
        namespace: key.namespace, pod: key.pod, podUid: key.podUid === '' ? null : key.podUid, owner: podOwner(workloads),
        containers: workloads.map((w) => ({
          name: w.container, containerId: w.containerId, syscalls: w.syscalls, records: w.records, violations: w.violations,
          firstSeen: iso(w.firstSeen), lastSeen: iso(w.lastSeen), ...convergence(w),
        })),
      })),
      ...(page.next !== null ? { continue: encodeContinue('pods', [page.next.namespace, page.next.pod, page.next.podUid]) } : {}),
    };
  });

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
  }, async (req) => {
    const { namespace, pod } = req.params;
    const s = requireStore(store);
    const workloads = podWorkloads(s, namespace, pod, req.query.container);
    const rows = s.syscallsOf(workloads.map((w) => w.key));
    const executables = s.executablesOf(workloads.map((w) => w.key));
    return {
      // the owner is the pod's: with ?container= its sibling containers may be the ones that know it
      namespace, pod, owner: podOwner(req.query.container === undefined ? workloads : s.workloadsOfPod(namespace, pod)),
      containers: workloads.map((w) => ({
        name: w.container,
        containerId: w.containerId,
        ...convergence(w),
        syscalls: rows.filter((r) => r.workload === w.key).map((r) => ({
          name: syscallName(r.auditArch, r.syscallNr), arch: archName(r.auditArch, r.syscallNr), nr: r.syscallNr,
          action: r.action, count: r.count, firstSeen: iso(r.firstSeen), lastSeen: iso(r.lastSeen),
        })),
        executables: executables.filter((e) => e.workload === w.key).map((e) => ({
          exe: e.exe, processes: e.count, firstSeen: iso(e.firstSeen), lastSeen: iso(e.lastSeen),
        })),
      })),
    };
  });
}
