import { ApiError } from './api-errors.js';

/**
 * The `continue` token of a paged list: the key of the last item of the page, opaque to the
 * client (base64url of JSON, tagged with the list it belongs to). The next page starts after that
 * key, so a token stays valid and exact however the list changes between pages (the Kubernetes
 * API's tokens work the same way): an item present throughout is returned exactly once.
 */

/** `limit` and `continue` as every paged route takes them. */
export const PAGE_QUERY_PROPERTIES = {
  // 100 by default: on a 30-day node a page of 500 pods or violations took 50-60 ms at p99, one
  // of 100 about 30 (bench/api-bench.ts), and the event loop is held that long
  limit: { type: 'integer', minimum: 1, maximum: 5000, default: 100, description: 'the most items in one page' },
  continue: {
    type: 'string', pattern: '^[A-Za-z0-9_-]{1,4096}$',
    description: 'the `continue` of the previous page: the next page starts after its last item',
  },
} as const;

/** `continue` in a list answer: present only when there is a next page. */
export const CONTINUE_PROPERTY = {
  continue: { type: 'string', description: 'pass as ?continue= for the next page; absent on the last page' },
} as const;

export function encodeContinue(list: string, key: unknown): string {
  return Buffer.from(JSON.stringify([list, key])).toString('base64url');
}

/** The key in a token, checked to be one `list` issued; a 400 that says what to do otherwise. */
export function decodeContinue<K>(list: string, token: string | undefined, isKey: (v: unknown) => v is K): K | null {
  if (token === undefined) return null;
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || decoded[0] !== list || !isKey(decoded[1])) {
    throw new ApiError('SA_BAD_REQUEST', `continue: not a token of ${list} from this server; pass the continue of the previous page unchanged, or leave it out to start from the first page`);
  }
  return decoded[1];
}

export const isString = (v: unknown): v is string => typeof v === 'string';
export const isStrings = (n: number) => (v: unknown): v is string[] => Array.isArray(v) && v.length === n && v.every(isString);
export const isWholeNumber = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
