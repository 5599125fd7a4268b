import type { FastifyInstance } from 'fastify';
import { PAGE_HTML } from '../page/page-html.js';
import { PAGE_SCRIPT } from '../page/page-script.js';

/**
 * The built-in page: GET / (HTML) and GET /page.js (its script). Both are static and say nothing
 * about the node, so they are served without the token, like /healthz: a browser cannot send a
 * bearer header when it navigates. Every request the page makes for data goes to the /api/v1
 * routes with the token the user types in, so under --protect-reads the page shows nothing
 * without it. The policy allows this origin only: no inline script, no other host, no framing.
 */
const POLICY = "default-src 'none'; script-src 'self'; style-src 'unsafe-inline'; connect-src 'self'; img-src 'self' blob:; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

export function pageRoute(app: FastifyInstance): void {
  const headers = (reply: { header: (k: string, v: string) => unknown }) => {
    reply.header('content-security-policy', POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-cache');
  };
  app.get('/', { schema: { hide: true } }, async (_req, reply) => {
    headers(reply);
    return reply.type('text/html; charset=utf-8').send(PAGE_HTML);
  });
  app.get('/page.js', { schema: { hide: true } }, async (_req, reply) => {
    headers(reply);
    return reply.type('text/javascript; charset=utf-8').send(PAGE_SCRIPT);
  });
}
