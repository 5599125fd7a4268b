import type { FastifyInstance } from 'fastify';
import type { SyscallStore } from '../../store/syscall-store.js';
import { archName, syscallName } from '../../syscalls/syscall-table.js';
import { ERROR_SCHEMA, requireStore } from '../api-errors.js';
import { iso, itemsOf, SOURCE_STATE_PROPERTIES } from '../api-json.js';
import type { DaemonStatus } from '../app.js';
import { CONTINUE_PROPERTY, decodeContinue, encodeContinue, isWholeNumber, PAGE_QUERY_PROPERTIES } from '../continue-token.js';

/**
 * What the node as a whole shows: records a restrictive profile blocked (violations), records
 * no container could be found for, and the daemon's own state.
 */
export function nodeRoutes(app: FastifyInstance, store: () => SyscallStore | null, status: DaemonStatus): void {
  app.get<{ Querystring: { limit: number; continue?: string } }>('/api/v1/violations', {
    schema: {
      description: 'Syscall rows whose action was not log (what a restrictive profile blocked), a page at a time in the order their containers were first stored.',
      querystring: { type: 'object', properties: PAGE_QUERY_PROPERTIES, additionalProperties: false },
      response: {
        200: itemsOf({
          namespace: { type: ['string', 'null'] }, pod: { type: ['string', 'null'] }, container: { type: ['string', 'null'] },
          workload: { type: 'string' }, syscall: { type: ['string', 'null'] }, arch: { type: ['string', 'null'] }, nr: { type: 'integer' },
          action: { type: 'string' }, count: { type: 'integer' }, firstSeen: { type: 'string' }, lastSeen: { type: 'string' },
        }, CONTINUE_PROPERTY),
        '4xx': ERROR_SCHEMA,
        503: ERROR_SCHEMA,
      },
    },
  }, async (req) => {
    const after = decodeContinue('violations', req.query.continue, isViolationKey);
    const page = requireStore(store).violationPage({
      limit: req.query.limit,
      after: after === null ? null : { workloadId: after[0], auditArch: after[1], syscallNr: after[2], action: after[3] },
    });
    const n = page.next;
    return {
      items: page.items.map((r) => ({
        namespace: r.namespace, pod: r.pod, container: r.container, workload: r.workload,
        syscall: syscallName(r.auditArch, r.syscallNr), arch: archName(r.auditArch, r.syscallNr), nr: r.syscallNr,
        action: r.action, count: r.count, firstSeen: iso(r.firstSeen), lastSeen: iso(r.lastSeen),
      })),
      ...(n !== null ? { continue: encodeContinue('violations', [n.workloadId, n.auditArch, n.syscallNr, n.action]) } : {}),
    };
  });

  app.get<{ Querystring: { limit: number; continue?: string } }>('/api/v1/unattributed', {
    schema: {
      description: 'Records no container or unit could be found for, grouped by comm, exe and reason, a page at a time in the order the groups were first stored. Groups beyond the cap (--max-unattributed-keys) are not stored: their records are counted per reason in `overflow`.',
      querystring: { type: 'object', properties: PAGE_QUERY_PROPERTIES, additionalProperties: false },
      response: {
        200: itemsOf({
          comm: { type: ['string', 'null'] }, exe: { type: ['string', 'null'] }, reason: { type: 'string' },
          count: { type: 'integer' }, firstSeen: { type: 'string' }, lastSeen: { type: 'string' },
        }, {
          ...CONTINUE_PROPERTY,
          overflow: { type: 'object', additionalProperties: { type: 'integer' }, description: 'records per reason whose group the key cap kept out; absent when none' },
        }),
        '4xx': ERROR_SCHEMA,
        503: ERROR_SCHEMA,
      },
    },
  }, async (req) => {
    const s = requireStore(store);
    const page = s.unattributedPage({ limit: req.query.limit, after: decodeContinue('unattributed', req.query.continue, isWholeNumber) });
    const overflow = s.overflow().unattributed;
    return {
      items: page.items.map((u) => ({ comm: u.comm, exe: u.exe, reason: u.reason, count: u.count, firstSeen: iso(u.firstSeen), lastSeen: iso(u.lastSeen) })),
      ...(page.next !== null ? { continue: encodeContinue('unattributed', page.next) } : {}),
      ...(Object.keys(overflow).length > 0 ? { overflow } : {}),
    };
  });

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
                  // records in a framing the kernel does not write (another program's text): skipped
                  foreignLines: { type: 'integer' },
                  actions: { type: 'object', additionalProperties: { type: 'integer' } },
                  attribution: { type: 'object', additionalProperties: { type: 'integer' } },
                  audit: AUDIT_CHANNEL_SCHEMA,
                },
              },
            },
            positions: { type: 'array', items: { type: 'object', properties: { source: { type: 'string' }, position: { type: 'string' }, updatedAt: { type: 'string' } } } },
            lost: { type: 'array', items: { type: 'object', properties: { source: { type: 'string' }, reason: { type: 'string' }, count: { type: 'integer' } } } },
            databaseBytes: { type: ['integer', 'null'] },
            // batches kept in memory while the database is away; what the bound dropped is also lost (store_unavailable)
            pending: { type: 'object', properties: { batches: { type: 'integer' }, droppedBatches: { type: 'integer' }, droppedRecords: { type: 'integer' } } },
            // what the caps on distinct keys kept out (records), since the database was created
            overflow: {
              type: ['object', 'null'],
              properties: { executables: { type: 'integer' }, unattributed: { type: 'object', additionalProperties: { type: 'integer' } } },
            },
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
          ...src, records: c.records, malformedLines: c.malformed, foreignLines: c.foreign, lagSeconds: c.lagSeconds, actions: c.actions, attribution: c.attributed,
          ...(channels.get(src.name) ? { audit: channels.get(src.name) } : {}),
        };
      }),
      positions: s === null ? [] : s.positions().map((p) => ({ source: p.source, position: p.position, updatedAt: iso(p.updatedAt) })),
      lost: s === null ? [] : s.lost(),
      databaseBytes: s === null ? null : s.sizeBytes(),
      ...(status.pending !== undefined ? { pending: status.pending() } : {}),
      overflow: s === null ? null : s.overflow(),
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
    ring: { type: 'integer', description: 'the ring the receive thread empties the socket into, bytes' },
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

const isViolationKey = (v: unknown): v is [number, number, number, string] => Array.isArray(v) && v.length === 4
  && Number.isSafeInteger(v[0]) && Number.isSafeInteger(v[1]) && Number.isSafeInteger(v[2]) && typeof v[3] === 'string';
