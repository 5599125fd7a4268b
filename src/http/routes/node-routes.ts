import type { FastifyInstance } from 'fastify';
import type { SyscallStore } from '../../store/syscall-store.js';
import { archName, syscallName } from '../../syscalls/syscall-table.js';
import { ERROR_SCHEMA, requireStore } from '../api-errors.js';
import { iso, itemsOf, SOURCE_STATE_PROPERTIES } from '../api-json.js';
import type { DaemonStatus } from '../app.js';

/**
 * What the node as a whole shows: records a restrictive profile blocked (violations), records
 * no container could be found for, and the daemon's own state.
 */
export function nodeRoutes(app: FastifyInstance, store: () => SyscallStore | null, status: DaemonStatus): void {
  app.get('/api/v1/violations', {
    schema: {
      response: {
        200: itemsOf({
          namespace: { type: ['string', 'null'] }, pod: { type: ['string', 'null'] }, container: { type: ['string', 'null'] },
          workload: { type: 'string' }, syscall: { type: ['string', 'null'] }, arch: { type: ['string', 'null'] }, nr: { type: 'integer' },
          action: { type: 'string' }, count: { type: 'integer' }, firstSeen: { type: 'string' }, lastSeen: { type: 'string' },
        }),
        503: ERROR_SCHEMA,
      },
    },
  }, async () => {
    const s = requireStore(store);
    const workloads = s.listWorkloads();
    const byKey = new Map(workloads.map((w) => [w.key, w]));
    // every action but `log` means the filter acted: what a restrictive profile blocked
    const rows = s.syscallsOf(workloads.map((w) => w.key)).filter((r) => r.action !== 'log');
    return {
      items: rows.map((r) => {
        const w = byKey.get(r.workload);
        return {
          namespace: w?.namespace ?? null, pod: w?.pod ?? null, container: w?.container ?? null, workload: r.workload,
          syscall: syscallName(r.auditArch, r.syscallNr), arch: archName(r.auditArch, r.syscallNr), nr: r.syscallNr,
          action: r.action, count: r.count, firstSeen: iso(r.firstSeen), lastSeen: iso(r.lastSeen),
        };
      }),
    };
  });

  app.get('/api/v1/unattributed', {
    schema: {
      response: {
        200: itemsOf({
          comm: { type: ['string', 'null'] }, exe: { type: ['string', 'null'] }, reason: { type: 'string' },
          count: { type: 'integer' }, firstSeen: { type: 'string' }, lastSeen: { type: 'string' },
        }),
        503: ERROR_SCHEMA,
      },
    },
  }, async () => ({
    items: requireStore(store).unattributed().map((u) => ({ ...u, firstSeen: iso(u.firstSeen), lastSeen: iso(u.lastSeen) })),
  }));

  app.get('/api/v1/status', {
    schema: {
      response: {
        200: {
          type: 'object',
          properties: {
            ready: { type: 'boolean' },
            sources: {
              type: 'array',
              items: {
                type: 'object',
                properties: {
                  ...SOURCE_STATE_PROPERTIES,
                  // since the daemon started (the store is not a source: these stay absent for it)
                  records: { type: 'integer' }, malformedLines: { type: 'integer' }, lagSeconds: { type: ['number', 'null'] },
                  actions: { type: 'object', additionalProperties: { type: 'integer' } },
                  attribution: { type: 'object', additionalProperties: { type: 'integer' } },
                  audit: AUDIT_CHANNEL_SCHEMA,
                },
              },
            },
            positions: { type: 'array', items: { type: 'object', properties: { source: { type: 'string' }, position: { type: 'string' }, updatedAt: { type: 'string' } } } },
            lost: { type: 'array', items: { type: 'object', properties: { source: { type: 'string' }, reason: { type: 'string' }, count: { type: 'integer' } } } },
            databaseBytes: { type: ['integer', 'null'] },
          },
        },
      },
    },
  }, async () => {
    const s = store();
    const state = status.ready();
    const reported = status.counters?.() ?? [];
    const counted = new Map(reported.map((c) => [c.name, c.counters]));
    const channels = new Map(reported.map((c) => [c.name, c.audit ?? null]));
    return {
      ready: state.ready,
      sources: state.sources.map((src) => {
        const c = counted.get(src.name);
        return c == null ? src : {
          ...src, records: c.records, malformedLines: c.malformed, lagSeconds: c.lagSeconds, actions: c.actions, attribution: c.attributed,
          ...(channels.get(src.name) ? { audit: channels.get(src.name) } : {}),
        };
      }),
      positions: s === null ? [] : s.positions().map((p) => ({ source: p.source, position: p.position, updatedAt: iso(p.updatedAt) })),
      lost: s === null ? [] : s.lost(),
      databaseBytes: s === null ? null : s.sizeBytes(),
    };
  });
}


/** The audit source's channel in /api/v1/status: what an operator checks when records seem missing. */
const AUDIT_CHANNEL_SCHEMA = {
  type: 'object',
  description: 'the audit multicast source only: its socket and the canary that proves it delivers',
  properties: {
    rcvbuf: { type: 'integer', description: 'receive buffer granted by the kernel, bytes' },
    rcvbufForced: { type: 'boolean', description: 'granted past net.core.rmem_max (CAP_NET_ADMIN)' },
    canary: {
      type: 'object',
      properties: {
        state: { type: 'string', enum: ['pending', 'seen', 'missing', 'unavailable'] },
        latencyMs: { type: ['number', 'null'] },
        detail: { type: ['string', 'null'] },
      },
    },
    foreign: { type: 'integer', description: 'datagrams from senders other than the kernel, dropped' },
    kernelLost: { type: ['integer', 'null'], description: 'records the kernel dropped (audit_lost) since the reader started; null when not readable' },
    kernelStatusError: { type: ['string', 'null'] },
  },
} as const;
