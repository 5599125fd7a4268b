import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ApiError } from './api-errors.js';

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/**
 * Checks `Authorization: Bearer <token>` against the daemon's token (from --token-file). No
 * configured token: the guarded routes are off.
 */
export function authorize(req: FastifyRequest, token: string | null): void {
  if (token === null) throw new ApiError('SA_MUTATIONS_OFF', 'mutating routes are off: start the daemon with --token-file to enable them');
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? '';
  // both sides hashed first: equal lengths always, so neither the comparison nor a length check
  // before it tells by its timing how long the token is or how much of it was right
  if (!timingSafeEqual(digest(given), digest(token))) throw new ApiError('SA_UNAUTHORIZED', 'missing or wrong bearer token (Authorization: Bearer <token from --token-file>)');
}
