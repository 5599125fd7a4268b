import { timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-errors.js';

/**
 * Checks `Authorization: Bearer <token>` against the daemon's token (from --token-file). No
 * configured token: the guarded routes are off.
 */
export function authorize(req: FastifyRequest, token: string | null): void {
  if (token === null) throw new ApiError('SA_MUTATIONS_OFF', 'mutating routes are off: start the daemon with --token-file to enable them');
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  const a = Buffer.from(given), b = Buffer.from(token);
  // compared in constant time, so the answer's timing does not reveal the token
  if (a.length !== b.length || !timingSafeEqual(a, b)) throw new ApiError('SA_UNAUTHORIZED', 'missing or wrong bearer token (Authorization: Bearer <token from --token-file>)');
}
