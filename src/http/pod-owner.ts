/** `owner` in answers: the pod's owning workload as the Kubernetes API named it; null without the API. */
export const OWNER_SCHEMA = {
  type: ['object', 'null'],
  properties: { kind: { type: 'string' }, name: { type: 'string' } },
} as const;
