import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';

/** What the HTTP layer may ask of the running daemon. */
export interface DaemonStatus {
  ready(): { ready: boolean; sources: { name: string; ok: boolean; error: string | null }[] };
}

/** Builds the app without listening: tests use `inject`, the daemon calls `listen`. */
export function buildApp(options: { status: DaemonStatus; logger?: FastifyServerOptions['logger'] }): FastifyInstance {
  // scrapes and probes every few seconds would bury the daemon's own events; errors are still logged
  const app = Fastify({ logger: options.logger ?? false, disableRequestLogging: true });
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
