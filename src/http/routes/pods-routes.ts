import type { FastifyInstance } from 'fastify';
import type { StoredWorkload, SyscallStore } from '../../store/syscall-store.js';
import { archName, syscallName } from '../../syscalls/syscall-table.js';
import { DNS1123_LABEL, ERROR_SCHEMA, requireStore } from '../api-errors.js';
import { iso, itemsOf } from '../api-json.js';
import { CONTAINER_QUERY_PROPERTY, POD_PARAMS, podWorkloads } from '../pod-lookup.js';
import { podOwner } from '../../profile/workload-pods.js';
import { OWNER_SCHEMA } from '../pod-owner.js';

const CONTAINER_SUMMARY = {
  type: 'object',
  properties: {
    name: { type: ['string', 'null'] },
    containerId: { type: ['string', 'null'] },
    syscalls: { type: 'integer' },
    records: { type: 'integer' },
    firstSeen: { type: 'string' },
    lastSeen: { type: 'string' },
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

const MAX_LIMIT = 5000;

/**
 * GET /api/v1/pods and GET /api/v1/namespaces/{namespace}/pods/{pod}/syscalls: what the store
 * holds, per pod and container. Pods come in pages (`limit`, and `continue` from the last page).
 */
export function podsRoutes(app: FastifyInstance, store: () => SyscallStore | null): void {
  app.get<{ Querystring: { namespace?: string; limit?: number; continue?: string } }>('/api/v1/pods', {
    schema: {
      querystring: {
        type: 'object',
        properties: {
          namespace: { type: 'string', pattern: DNS1123_LABEL, maxLength: 63 },
          limit: { type: 'integer', minimum: 1, maximum: MAX_LIMIT, default: 500 },
          continue: { type: 'string', pattern: '^[0-9]{1,9}$' },
        },
        additionalProperties: false,
      },
      response: {
        200: itemsOf({
          namespace: { type: 'string' }, pod: { type: 'string' }, podUid: { type: ['string', 'null'] }, owner: OWNER_SCHEMA,
          containers: { type: 'array', items: CONTAINER_SUMMARY },
        }, { continue: { type: 'string' } }),
        '4xx': ERROR_SCHEMA,
        503: ERROR_SCHEMA,
      },
    },
  }, async (req) => {
    const pods = groupByPod(requireStore(store).listWorkloads(req.query.namespace !== undefined ? { namespace: req.query.namespace } : {}));
    const offset = req.query.continue !== undefined ? Number(req.query.continue) : 0;
    const limit = req.query.limit ?? 500;
    const page = pods.slice(offset, offset + limit);
    return {
      items: page.map((p) => ({
        namespace: p.namespace, pod: p.pod, podUid: p.podUid, owner: podOwner(p.workloads),
        containers: p.workloads.map((w) => ({
          name: w.container, containerId: w.containerId, syscalls: w.syscalls, records: w.records,
          firstSeen: iso(w.firstSeen), lastSeen: iso(w.lastSeen),
        })),
      })),
      ...(offset + limit < pods.length ? { continue: String(offset + limit) } : {}),
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

interface PodGroup { namespace: string; pod: string; podUid: string | null; workloads: StoredWorkload[] }

/** Containers of the same pod (by namespace and name) together; host units are not pods. */
function groupByPod(workloads: StoredWorkload[]): PodGroup[] {
  const pods = new Map<string, PodGroup>();
  for (const w of workloads) {
    if (w.namespace === null || w.pod === null) continue;
    const id = `${w.namespace}/${w.pod}`;
    let group = pods.get(id);
    if (group === undefined) {
      group = { namespace: w.namespace, pod: w.pod, podUid: w.podUid, workloads: [] };
      pods.set(id, group);
    }
    group.workloads.push(w);
  }
  return [...pods.values()].sort((a, b) => (a.namespace === b.namespace ? a.pod.localeCompare(b.pod) : a.namespace.localeCompare(b.namespace)));
}
