import type { FastifyInstance } from 'fastify';
import { ApiError, ERROR_SCHEMA } from '../api-errors.js';
import { itemsOf, SOURCE_STATE_PROPERTIES } from '../api-json.js';
import type { DaemonStatus } from '../app.js';
import { CONTINUE_PROPERTY, PAGE_QUERY_PROPERTIES } from '../continue-token.js';
import { clientGone, sendJson, type StoreReader } from '../store-reader.js';

/**
 * What the node as a whole shows: records a restrictive profile blocked (violations), records
 * no container could be found for, and the daemon's own state. What they read of the database
 * is in reads/node-reads.ts, run where the reader runs reads (a read thread); the status's few
 * rows through `inline`, on this thread.
 */
export function nodeRoutes(app: FastifyInstance, reader: StoreReader, status: DaemonStatus, inline: StoreReader): void {
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
  }, async (req, reply) => sendJson(reply, await reader.runJson('violationsPage', { ...req.query }, clientGone(reply))));

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
  }, async (req, reply) => sendJson(reply, await reader.runJson('unattributedPage', { ...req.query }, clientGone(reply))));

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
  }, async (_req, reply) => {
    // the daemon's own state and the database's part (nothing without a database) are read here:
    // a few rows and a stat, bounded, that must not wait behind the read threads' pages and profiles
    const stored = await inline.run('statusOfStore', {}).catch((err: unknown) => {
      if (err instanceof ApiError && err.code === 'SA_STORE_UNAVAILABLE') return null;
      throw err;
    });
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
      positions: stored?.positions ?? [],
      lost: stored?.lost ?? [],
      databaseBytes: stored?.databaseBytes ?? null,
      ...(status.pending !== undefined ? { pending: status.pending() } : {}),
      overflow: stored?.overflow ?? null,
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
