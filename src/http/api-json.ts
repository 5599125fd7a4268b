/** Shapes the API's answers share. */

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

/** A source's (or the store's) state in /readyz and /api/v1/status. */
export const SOURCE_STATE_PROPERTIES = { name: { type: 'string' }, ok: { type: 'boolean' }, error: { type: ['string', 'null'] } } as const;
