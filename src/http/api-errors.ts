import type { SyscallStore } from '../store/syscall-store.js';

/**
 * The API's error answers, documented once: every error is `{"code","message"}` with one of
 * these codes and its HTTP status.
 */
export const API_ERRORS = {
  SA_BAD_REQUEST: 400,
  SA_UNAUTHORIZED: 401,
  SA_MUTATIONS_OFF: 403,
  SA_POD_NOT_FOUND: 404,
  SA_NOT_FOUND: 404,
  SA_REQUEST_TIMEOUT: 408,
  SA_PROFILE_CONFLICT: 409,
  /** the learning window overlaps records the node lost; ?allowIncomplete=true takes the profile anyway */
  SA_PROFILE_INCOMPLETE: 409,
  SA_BODY_TOO_LARGE: 413,
  SA_URI_TOO_LONG: 414,
  SA_UNSUPPORTED_MEDIA_TYPE: 415,
  SA_HEADERS_TOO_LARGE: 431,
  SA_INTERNAL: 500,
  /** the database is not open (see /readyz), or a read failed in it: the message is the store's, naming the file and the fix */
  SA_STORE_UNAVAILABLE: 503,
  SA_PROFILES_OFF: 503,
  /** every read thread is busy and the queue in front of them is full: retry after Retry-After (a second) */
  SA_BUSY: 503,
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

/** The code of an error answer of this status that no route raised itself (the framework's, Node's). */
export function codeOfStatus(status: number): ApiErrorCode {
  switch (status) {
    case 401: return 'SA_UNAUTHORIZED';
    case 404: return 'SA_NOT_FOUND';
    case 408: return 'SA_REQUEST_TIMEOUT';
    case 413: return 'SA_BODY_TOO_LARGE';
    case 414: return 'SA_URI_TOO_LONG';
    case 415: return 'SA_UNSUPPORTED_MEDIA_TYPE';
    case 431: return 'SA_HEADERS_TOO_LARGE';
    default: return status >= 500 ? 'SA_INTERNAL' : 'SA_BAD_REQUEST';
  }
}

export class ApiError extends Error {
  readonly statusCode: number;
  constructor(readonly code: ApiErrorCode, message: string) {
    super(message);
    this.statusCode = API_ERRORS[code];
  }
}

export const ERROR_SCHEMA = {
  type: 'object',
  properties: { code: { type: 'string' }, message: { type: 'string' } },
  required: ['code', 'message'],
} as const;

/** Kubernetes object names (DNS-1123 subdomains for pods, labels for namespaces and containers). */
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$';
export const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';

/** The database, or the 503 that says it is not there. */
export function requireStore(store: () => SyscallStore | null): SyscallStore {
  const s = store();
  if (s === null) throw new ApiError('SA_STORE_UNAVAILABLE', 'the database is not available; see /readyz and the daemon\'s log');
  return s;
}
