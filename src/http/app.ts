import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';

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
}

/** Builds the app without listening: tests use `inject`, the daemon calls `listen`. */
export function buildApp(options: { status: DaemonStatus; logger?: FastifyServerOptions['logger'] }): FastifyInstance {
  const app = Fastify({ logger: options.logger ?? false, logController: new QuietRequests() });
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
                properties: { name: { type: 'string' }, ok: { type: 'boolean' }, error: { type: ['string', 'null'] } },
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
