import type { FastifyInstance, FastifyRequest } from 'fastify';
import { isProfileName, PROFILE_NAME_MAX, SUBDIR, type InstalledProfile, type ProfileInstaller } from '../../deliver/profile-installer.js';
import { ApiError, ERROR_SCHEMA } from '../api-errors.js';
import { iso, itemsOf } from '../api-json.js';
import { authorize } from '../bearer-token.js';
import { checkedProfile, OCI_PROFILE_BODY } from '../oci-profile-body.js';

const NAME_PARAMS = {
  type: 'object',
  properties: { name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9._]*[a-z0-9])?$', maxLength: PROFILE_NAME_MAX } },
  required: ['name'],
} as const;

const PROFILE = {
  name: { type: 'string' },
  localhostProfile: { type: 'string' },
  sha256: { type: 'string' },
  source: { type: 'string', enum: ['configmap', 'api', 'builtin'] },
  installedAt: { type: 'string' },
} as const;

/**
 * The seccomp profiles this node's daemon installed in the kubelet's seccomp directory:
 * GET /api/v1/profiles lists them; POST /api/v1/profiles/{name} with an OCI profile as the body
 * installs one on this node (as `seccomp-auditor/{name}.json`), DELETE removes one the API
 * installed. POST and DELETE need the bearer token, like every mutating route. The bytes are
 * written as posted (after the check), so their sha256 is the one the answer and the list show.
 */
export function profilesRoute(app: FastifyInstance, installer: () => ProfileInstaller | null, token: string | null): void {
  // a scope of its own for the raw-body parser; it inherits the API's hooks (--protect-reads)
  app.register(async (scope) => {
    const raw = new WeakMap<FastifyRequest, string>();
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
      try {
        const text = body as string;
        raw.set(req, text);
        done(null, JSON.parse(text));
      } catch (err) {
        done(new ApiError('SA_BAD_REQUEST', `the body is not JSON: ${(err as Error).message}`), undefined);
      }
    });

    scope.get('/api/v1/profiles', {
      schema: { response: { 200: itemsOf(PROFILE, { directory: { type: ['string', 'null'] } }), '4xx': ERROR_SCHEMA } },
    }, async () => {
      const i = installer();
      return { directory: i?.dir ?? null, items: (i?.list() ?? []).map(toJson) };
    });

    scope.post<{ Params: { name: string } }>('/api/v1/profiles/:name', {
      schema: {
        params: NAME_PARAMS,
        body: OCI_PROFILE_BODY,
        response: { '2xx': { type: 'object', properties: { ...PROFILE, outcome: { type: 'string' } } }, '4xx': ERROR_SCHEMA, 503: ERROR_SCHEMA },
      },
      // before the body is read: no parsing for callers without the token
      onRequest: async (req) => authorize(req, token),
    }, async (req, reply) => {
      const { name } = req.params;
      checkedProfile(req.body);
      const i = requireInstaller(installer);
      const result = i.install(name, raw.get(req) ?? JSON.stringify(req.body), 'api');
      if (result.outcome === 'refused') throw new ApiError('SA_PROFILE_CONFLICT', result.reason);
      if (result.outcome === 'written') app.log.info({ event: 'profile_installed', name, source: 'api', sha256: result.profile.sha256, path: i.pathOf(name) }, `installed ${SUBDIR}/${name}.json`);
      return reply.code(result.outcome === 'written' ? 201 : 200).send({ ...toJson(result.profile), outcome: result.outcome });
    });

    scope.delete<{ Params: { name: string } }>('/api/v1/profiles/:name', {
      schema: {
        params: NAME_PARAMS,
        response: { 200: { type: 'object', properties: { name: { type: 'string' }, removed: { type: 'boolean' } } }, '4xx': ERROR_SCHEMA, 503: ERROR_SCHEMA },
      },
      // before the body is read: no parsing for callers without the token
      onRequest: async (req) => authorize(req, token),
    }, async (req) => {
      const { name } = req.params;
      const i = requireInstaller(installer);
      const outcome = isProfileName(name) ? i.remove(name, 'api') : 'absent';
      if (outcome === 'absent') throw new ApiError('SA_NOT_FOUND', `no profile ${name} installed through the API`);
      if (outcome === 'refused') throw new ApiError('SA_PROFILE_CONFLICT', `${i.pathOf(name)} was not installed through the API (or was changed since); leaving it alone`);
      app.log.info({ event: 'profile_removed', name, source: 'api' }, `removed ${SUBDIR}/${name}.json`);
      return { name, removed: true };
    });
  });
}

function requireInstaller(installer: () => ProfileInstaller | null): ProfileInstaller {
  const i = installer();
  if (i === null) throw new ApiError('SA_PROFILES_OFF', 'profile installation is off on this node: see the profile_install_failed line in the daemon\'s log, or --kubelet-seccomp-dir');
  return i;
}

function toJson(p: InstalledProfile) {
  return { name: p.name, localhostProfile: `${SUBDIR}/${p.name}.json`, sha256: p.sha256, source: p.source, installedAt: iso(p.installedAt) };
}
