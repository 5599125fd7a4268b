import type { FastifyInstance } from 'fastify';
import { buildOciProfile, LOG_DENIED_NEEDS_ERRNO, withLogDenied } from '../../profile/oci-profile.js';
import { SYSTEMD_LOG_DENIED } from '../../profile/systemd-dropin.js';
import { formatSystemdDropIn, SystemdDropInError } from '../../profile/systemd-dropin.js';
import type { SyscallStore } from '../../store/syscall-store.js';
import { ApiError, ERROR_SCHEMA, requireStore } from '../api-errors.js';
import { iso, itemsOf } from '../api-json.js';
import { CONTINUE_PROPERTY, decodeContinue, encodeContinue, isString, PAGE_QUERY_PROPERTIES } from '../continue-token.js';
import type { YoungThresholds } from '../../profile/learning-window.js';
import { learnedFor, refuseIncomplete, sendLearnedHeaders } from '../learned-answer.js';

/** systemd unit names (unit_name_is_valid: at most 255 characters of [A-Za-z0-9:_.\\@-]). */
const UNIT_PARAMS = {
  type: 'object',
  properties: { unit: { type: 'string', pattern: '^[A-Za-z0-9:_.\\\\@-]+$', maxLength: 255 } },
  required: ['unit'],
} as const;

interface UnitProfileQuery { format: 'oci' | 'systemd'; defaultAction: 'errno' | 'log'; explain?: boolean; logDenied: boolean; allowIncomplete: boolean }

/**
 * Host processes are attributed to their systemd unit (workload key `unit:<name>`).
 * GET /api/v1/units lists the units seen; GET /api/v1/units/{unit}/profile gives the profile
 * learned for one, as OCI JSON or (format=systemd) as a drop-in for NAME.service.d/.
 */
export function unitsRoute(app: FastifyInstance, store: () => SyscallStore | null, young: YoungThresholds): void {
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
  }, async (req) => {
    const page = requireStore(store).unitPage({ limit: req.query.limit, after: decodeContinue('units', req.query.continue, isString) });
    return {
      items: page.items.map((w) => ({ unit: w.unit!, syscalls: w.syscalls, records: w.records, firstSeen: iso(w.firstSeen), lastSeen: iso(w.lastSeen) })),
      ...(page.next !== null ? { continue: encodeContinue('units', page.next) } : {}),
    };
  });

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
    const { unit } = req.params;
    const { format, defaultAction, explain, logDenied, allowIncomplete } = req.query;
    if (logDenied && defaultAction !== 'errno') throw new ApiError('SA_BAD_REQUEST', `logDenied=true with defaultAction=${defaultAction}: ${LOG_DENIED_NEEDS_ERRNO}`);
    // a unit file cannot ask for the log flag: systemd sets it (SCMP_FLTATR_CTL_LOG) only when the
    // manager itself runs with SYSTEMD_LOG_SECCOMP=1 (systemd's docs/ENVIRONMENT.md), node-wide
    if (logDenied && format === 'systemd') throw new ApiError('SA_BAD_REQUEST', SYSTEMD_LOG_DENIED);
    const s = requireStore(store);
    const key = `unit:${unit}`;
    const rows = s.readSnapshot(() => (s.workload(key) !== null ? s.syscallsOf([key]) : null));
    if (rows === null) throw new ApiError('SA_NOT_FOUND', `no observations for host unit ${unit} (GET /api/v1/units lists the units seen)`);
    const built = buildOciProfile(rows, { defaultAction });
    const learned = learnedFor(s, [key], built.explain, young);
    refuseIncomplete(learned, allowIncomplete, `host unit ${unit}`);
    built.explain.learned = learned;
    if (logDenied) built.profile = withLogDenied(built.profile);
    sendLearnedHeaders(reply, learned);
    if (format === 'systemd') {
      let dropIn: string;
      try {
        dropIn = formatSystemdDropIn(built, { unit, defaultAction });
      } catch (err) {
        if (err instanceof SystemdDropInError) throw new ApiError('SA_NOT_FOUND', err.message);
        throw err;
      }
      if (explain) return reply.type('application/json').send({ profile: dropIn, explain: built.explain });
      return reply.type('text/plain; charset=utf-8').send(dropIn);
    }
    return reply.type('application/json').send(explain ? { profile: built.profile, explain: built.explain } : built.profile);
  });
}
