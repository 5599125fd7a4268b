/** Shapes the API's answers share. */
import { FILE_SOURCE_STATES } from '../sources/file-source.js';

/** Times go out as ISO 8601. */
export const iso = (ms: number): string => new Date(ms).toISOString();

/** `{"items": [...]}` of objects with these properties: the form of every list answer. */
export function itemsOf(properties: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    type: 'object',
    properties: { items: { type: 'array', items: { type: 'object', properties } }, ...extra },
    required: ['items'],
  } as const;
}

/**
 * A source's (or the store's) state in /readyz and /api/v1/status. A followed file also says what
 * it is doing (`following`: open at a known offset, so every line appended from now on is read;
 * what a test or an operator waits for before writing) and its read position, `<inode>:<offset>`.
 */
export const SOURCE_STATE_PROPERTIES = {
  name: { type: 'string' }, ok: { type: 'boolean' }, error: { type: ['string', 'null'] },
  state: { type: 'string', enum: FILE_SOURCE_STATES }, position: { type: 'string' },
} as const;
