import { checkOciProfile } from '../profile/oci-profile-check.js';
import type { GivenProfile } from '../profile/profile-diff.js';
import { ApiError } from './api-errors.js';

/**
 * A request body holding an OCI seccomp profile. The schema only says "a JSON object" (for the
 * OpenAPI document and the parser); what it must hold is checked once, by checkOciProfile, so
 * the routes and the ConfigMap sync cannot disagree on what a valid profile is.
 */
export const OCI_PROFILE_BODY = {
  type: 'object',
  description: 'an OCI seccomp profile (runtime-spec linux.seccomp: defaultAction, architectures, syscalls[{names, action, args}])',
} as const;

/** The body as a profile, or the 400 that names the field at fault. */
export function checkedProfile(body: unknown): GivenProfile {
  const check = checkOciProfile(body);
  if (!check.ok) throw new ApiError('SA_BAD_REQUEST', `not a valid seccomp profile: ${check.problem}`);
  return check.profile;
}
