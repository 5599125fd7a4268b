import type { FastifyInstance } from 'fastify';
import { LOG_DENIED_NEEDS_ERRNO } from '../../profile/oci-profile.js';
import { SYSTEMD_LOG_DENIED } from '../../profile/systemd-dropin.js';
import { ApiError, ERROR_SCHEMA } from '../api-errors.js';
import { itemsOf } from '../api-json.js';
import { CONTINUE_PROPERTY, PAGE_QUERY_PROPERTIES } from '../continue-token.js';
import type { YoungThresholds } from '../../profile/learning-window.js';
import { sendLearnedHeaders } from '../learned-answer.js';
import type { UnitProfileQuery } from '../reads/profile-reads.js';
import { clientGone, sendJson, type StoreReader } from '../store-reader.js';

/** systemd unit names (unit_name_is_valid: at most 255 characters of [A-Za-z0-9:_.\\@-]). */
const UNIT_PARAMS = {
  type: 'object',
  properties: { unit: { type: 'string', pattern: '^[A-Za-z0-9:_.\\\\@-]+$', maxLength: 255 } },
  required: ['unit'],
} as const;

/**
 * Host processes are attributed to their systemd unit (workload key `unit:<name>`).
 * GET /api/v1/units lists the units seen; GET /api/v1/units/{unit}/profile gives the profile
 * learned for one, as OCI JSON or (format=systemd) as a drop-in for NAME.service.d/. What they
 * read and build is in reads/unit-reads.ts and reads/profile-reads.ts (run on a read thread).
 */
export function unitsRoute(app: FastifyInstance, reader: StoreReader, young: YoungThresholds): void {
  app.get<{ Querystring: { limit: number; continue?: string } }>('/api/v1/units', {
    schema: {
      description: 'Host systemd units seen, by name, a page at a time.',
      querystring: { type: 'object', properties: PAGE_QUERY_PROPERTIES, additionalProperties: false },
      response: {
        200: itemsOf({
          unit: { type: 'string' }, syscalls: { type: 'integer' }, records: { type: 'integer' }, firstSeen: { type: 'string' }, lastSeen: { type: 'string' },
        }, CONTINUE_PROPERTY),
        '4xx': ERROR_SCHEMA,
        503: ERROR_SCHEMA,
      },
    },
  }, async (req, reply) => sendJson(reply, await reader.runJson('unitsPage', { ...req.query }, clientGone(reply))));

  app.get<{ Params: { unit: string }; Querystring: UnitProfileQuery }>('/api/v1/units/:unit/profile', {
    schema: {
      params: UNIT_PARAMS,
      querystring: {
        type: 'object',
        properties: {
          format: { type: 'string', enum: ['oci', 'systemd'], default: 'oci' },
          defaultAction: { type: 'string', enum: ['errno', 'log'], default: 'errno' },
          explain: { type: 'boolean' },
          // as on the pod routes (withLogDenied); OCI JSON only
          logDenied: { type: 'boolean', default: false },
          // as on the pod routes: an incomplete profile is refused (409) unless asked for
          allowIncomplete: { type: 'boolean', default: false },
        },
        additionalProperties: false,
      },
      response: { '4xx': ERROR_SCHEMA, 503: ERROR_SCHEMA },
    },
  }, async (req, reply) => {
    const { format, defaultAction, logDenied } = req.query;
    // refused here: a request that can get no profile costs no place in the read queue
    if (logDenied && defaultAction !== 'errno') throw new ApiError('SA_BAD_REQUEST', `logDenied=true with defaultAction=${defaultAction}: ${LOG_DENIED_NEEDS_ERRNO}`);
    // a unit file cannot ask for the log flag: systemd sets it (SCMP_FLTATR_CTL_LOG) only when the
    // manager itself runs with SYSTEMD_LOG_SECCOMP=1 (systemd's docs/ENVIRONMENT.md), node-wide
    if (logDenied && format === 'systemd') throw new ApiError('SA_BAD_REQUEST', SYSTEMD_LOG_DENIED);
    const answer = await reader.run('unitProfile', { unit: req.params.unit, query: { ...req.query }, young }, clientGone(reply));
    sendLearnedHeaders(reply, answer.learned);
    return reply.type(answer.type).send(answer.body);
  });
}
