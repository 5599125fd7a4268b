import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';

import type { SyscallStore } from '../store/syscall-store.js';
import { STATUS_CODES } from 'node:http';
import { ApiError, codeOfStatus } from './api-errors.js';
import { StoreError } from '../store/store-error.js';
import type { PendingStats } from '../ingest/pending-batches.js';
import { SERVER_LIMITS, type ServerLimits } from './server-limits.js';
import { authorize } from './bearer-token.js';
import { pageRoute } from './routes/page-route.js';
import { ROUTE_SUMMARIES } from './route-summaries.js';
import swagger from '@fastify/swagger';
import type { Registry } from 'prom-client';
import { forgetPodRoute } from './routes/forget-pod-route.js';
import { nodeRoutes } from './routes/node-routes.js';
import { podsRoutes } from './routes/pods-routes.js';
import { profileRoute } from './routes/profile-route.js';
import { profilesRoute } from './routes/profiles-route.js';
import { unitsRoute } from './routes/units-route.js';
import type { ProfileInstaller } from '../deliver/profile-installer.js';
import type { AuditChannelState } from '../types/audit-channel.js';
import type { PipelineCounters } from '../types/pipeline-counters.js';
import { SOURCE_STATE_PROPERTIES } from './api-json.js';
import { DEFAULT_YOUNG_THRESHOLDS, type YoungThresholds } from '../profile/learning-window.js';
import { InlineStoreReader, ReadAbandoned, type StoreReader } from './store-reader.js';

/**
 * Scrapes and probes every few seconds would bury the daemon's own events in request lines:
 * requests are logged only when they fail.
 */
class QuietRequests extends LogController {
  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply, metadata?: Record<string, unknown>): void {
    if (error) super.requestCompleted(error, request, reply, metadata);
  }
}

/** What the HTTP layer may ask of the running daemon. */
export interface DaemonStatus {
  ready(): { ready: boolean; sources: { name: string; ok: boolean; error: string | null }[] };
  /** what each source's pipeline counted since the daemon started (absent: nothing to show) */
  counters?(): { name: string; counters: PipelineCounters | null; audit?: AuditChannelState | null }[];
  /** batches kept in memory while the database is away, and what the bound dropped */
  pending?(): PendingStats;
}

export interface DeclaredRoute {
  method: string;
  url: string;
  /** its line in route-summaries.ts; null when it has none */
  summary: string | null;
}

/** Builds the app without listening: tests use `inject`, the daemon calls `listen`. */
export function buildApp(options: {
  status: DaemonStatus;
  /** the database, once open (null while it is not) */
  store?: () => SyscallStore | null;
  /**
   * where the read routes' reads run (the daemon: its read threads); without one they run here,
   * on `store`, as tests with an in-memory store want
   */
  reader?: StoreReader;
  /** told of each store failure a request ran into (the daemon's readiness follows damage) */
  onStoreError?: (err: StoreError) => void;
  /** the bearer token for mutating routes; null: they are off */
  token?: string | null;
  /** read routes need the token too */
  protectReads?: boolean;
  /** the installer of seccomp profiles on this node; null while installation is off */
  profiles?: () => ProfileInstaller | null;
  /** Prometheus metrics, served at /metrics */
  metrics?: Registry;
  logger?: FastifyServerOptions['logger'];
  /** what one client may take (server-limits.ts); tests pass smaller ones */
  limits?: Partial<ServerLimits>;
  /** told each route as it is declared (`run --help` lists the API from this) */
  onRoute?: (route: DeclaredRoute) => void;
  /** when a learned profile is marked young (default DEFAULT_YOUNG_THRESHOLDS) */
  young?: YoungThresholds;
}): FastifyInstance {
  const limits: ServerLimits = { ...SERVER_LIMITS, ...options.limits };
  const app = Fastify({
    logger: options.logger ?? false,
    logController: new QuietRequests(),
    bodyLimit: limits.bodyLimit,
    requestTimeout: limits.requestTimeoutMs,
    connectionTimeout: limits.connectionTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    maxRequestsPerSocket: limits.maxRequestsPerSocket,
    http: { connectionsCheckingInterval: limits.checkIntervalMs, headersTimeout: Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) },
    // the router's own 400 (a bad %-escape) and 414 (a parameter over maxParamLength) in our shape
    frameworkErrors: (err, _req, reply) => {
      const status = err.statusCode ?? 400;
      return (reply as FastifyReply).code(status).send({ code: codeOfStatus(status), message: err.message });
    },
    // what Node's parser refuses before there is a request (a malformed request line, huge
    // headers, a timeout): answered on the raw socket, in the same shape
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
      const message = status === 408
        ? `the request did not arrive within ${limits.requestTimeoutMs / 1000} s`
        : status === 431 ? 'the request headers are too large' : 'malformed HTTP request';
      const body = JSON.stringify({ code: codeOfStatus(status), message });
      if (socket.writable) socket.write(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
      socket.destroy();
    },
    // pod names may be 253 characters (DNS-1123 subdomains) and the router's default cut is
    // 100; above the schemas' limits, so a too-long name gets their 400 rather than a bare 414
    routerOptions: { maxParamLength: 1024 },
    // a misspelt query parameter (`?namespce=`) is an error, not silently dropped
    ajv: { customOptions: { removeAdditional: false } },
  });
  // every error is {code, message}: validation errors name the field, unknown routes say so
  app.setErrorHandler((err: FastifyError | ApiError, _req, reply) => {
    // nobody is left to answer: nothing to log either (read_requests_abandoned_total counts it)
    if ((err as unknown) instanceof ReadAbandoned) return reply.code(499).send();
    if (err instanceof ApiError) {
      if (err.code === 'SA_BUSY') reply.header('Retry-After', '1');
      return reply.code(err.statusCode).send({ code: err.code, message: err.message });
    }
    // the database failed (damaged, locked, unreadable), not the request nor the code: a 503 with
    // the store's own message, which names the file and the fix (a client may retry; /readyz tells)
    const failed: unknown = err;
    if (failed instanceof StoreError && failed.code !== 'SA_BATCH_INVALID') {
      options.onStoreError?.(failed);
      return reply.code(503).send({ code: 'SA_STORE_UNAVAILABLE', message: failed.message });
    }
    if (err.validation) return reply.code(400).send({ code: 'SA_BAD_REQUEST', message: err.message });
    const status = err.statusCode ?? 500;
    if (status >= 500) app.log.error({ event: 'request_failed', error: err.message }, 'request failed');
    const message = status >= 500 ? 'internal error; see the daemon\'s log'
      : status === 413 ? `the body is larger than ${limits.bodyLimit} bytes; a seccomp profile is a few tens of KB`
        : status === 415 ? 'send the profile as JSON (Content-Type: application/json)'
          : err.message;
    return reply.code(status).send({ code: codeOfStatus(status), message });
  });
  // refused at accept, before a byte is read: the cheapest place to say no to a flood
  app.server.maxConnections = limits.maxConnections;
  app.setNotFoundHandler((req, reply) => reply.code(404).send({ code: 'SA_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }));
  app.addHook('onRoute', (route) => {
    // fastify adds a HEAD beside every GET on its own; it is not a route of ours to describe
    for (const method of [route.method].flat()) {
      if (method === 'HEAD') continue;
      const summary = ROUTE_SUMMARIES[`${method} ${route.url}`] ?? null;
      if (summary !== null && route.schema?.summary === undefined) route.schema = { ...route.schema, summary };
      options.onRoute?.({ method, url: route.url, summary });
    }
  });
  const store = options.store ?? (() => null);
  const reader = options.reader ?? new InlineStoreReader(store);
  // the OpenAPI document is generated from the same schemas that validate and serialize
  app.register(swagger, {
    openapi: { info: { title: 'seccomp-auditor', version: '1', description: 'Syscalls observed per pod and container, from the kernel\'s seccomp audit records.' } },
  });
  const token = options.token ?? null;
  if (options.protectReads === true && token === null) throw new Error('protecting the read routes needs a token (--token-file)');
  app.register(async (api) => {
    // with protectReads, every API route of this scope asks for the token (DELETE does anyway)
    if (options.protectReads === true) api.addHook('onRequest', async (req) => authorize(req, token));
    podsRoutes(api, reader);
    // the status's store part is a few rows and a stat: read here, so that it answers while the
    // read threads are busy or their queue is full (an operator's first stop when things go wrong)
    nodeRoutes(api, reader, options.status, new InlineStoreReader(store));
    // mutating: on this thread, on the daemon's own (writing) connection
    forgetPodRoute(api, store, token);
    profileRoute(api, reader, options.young ?? DEFAULT_YOUNG_THRESHOLDS);
    profilesRoute(api, options.profiles ?? (() => null), token);
    unitsRoute(api, reader, options.young ?? DEFAULT_YOUNG_THRESHOLDS);
    api.get('/openapi.json', { schema: { hide: true } }, async () => api.swagger());
  });
  const metrics = options.metrics;
  if (metrics !== undefined) {
    app.get('/metrics', { schema: { hide: true } }, async (_req, reply) => reply.type(metrics.contentType).send(await metrics.metrics()));
  }
  // the page itself is static; the data it shows comes from the API scope above, token and all
  pageRoute(app);
  app.get('/healthz', {
    schema: { response: { 200: { type: 'object', properties: { status: { type: 'string' } }, required: ['status'] } } },
  }, async () => ({ status: 'ok' }));
  app.get('/readyz', {
    schema: {
      response: {
        '2xx': {
          type: 'object',
          properties: {
            ready: { type: 'boolean' },
            sources: {
              type: 'array',
              items: {
                type: 'object',
                properties: SOURCE_STATE_PROPERTIES,
              },
            },
          },
        },
      },
    },
  }, async (_req, reply) => {
    const state = options.status.ready();
    return reply.code(state.ready ? 200 : 503).send(state);
  });
  return app;
}
