import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-errors.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * The header that carries the token through the Kubernetes API server's pod proxy: the API server
 * takes Authorization as its own credentials and deletes it before proxying
 * (kubernetes/kubernetes#38775), so `profile --cluster` sends the daemon's token here.
 */
export const TOKEN_HEADER = 'x-seccomp-auditor-token';

/**
 * Checks `Authorization: Bearer <token>` (or, when there is no Authorization header, the
 * X-Seccomp-Auditor-Token header) against the daemon's token (from --token-file). No configured
 * token: the guarded routes are off.
 */
export function authorize(req: FastifyRequest, token: string | null): void {
  if (token === null) throw new ApiError('SA_MUTATIONS_OFF', 'mutating routes are off: start the daemon with --token-file to enable them');
  const header = req.headers[TOKEN_HEADER];
  const given = req.headers.authorization !== undefined
    ? /^Bearer (.+)$/.exec(req.headers.authorization)?.[1] ?? ''
    : typeof header === 'string' ? header : '';
  // both sides hashed first: equal lengths always, so neither the comparison nor a length check
  // before it tells by its timing how long the token is or how much of it was right
  if (!timingSafeEqual(digest(given), digest(token))) throw new ApiError('SA_UNAUTHORIZED', 'missing or wrong bearer token (Authorization: Bearer <token from --token-file>, or X-Seccomp-Auditor-Token: <token> through the Kubernetes API server\'s pod proxy)');
}
