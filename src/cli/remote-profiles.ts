/**
 * The profiles several nodes' daemons learned for one pod, workload or host unit, fetched over
 * their REST API (`.../profile?explain=true`: the profile with the records, time range and
 * left-out calls it came from, which is everything mergeBuiltProfiles needs).
 */
import type { BuiltProfile } from '../profile/oci-profile.js';

export type ProfileTarget =
  | { kind: 'pod'; namespace: string; name: string; container?: string }
  | { kind: 'workload'; namespace: string; name: string; container?: string }
  | { kind: 'unit'; name: string };

export type NodeAnswer =
  | { url: string; built: BuiltProfile }
  /** the node does not answer, or has not seen the target (404): skippable with --allow-missing */
  | { url: string; missing: string }
  /** anything else (a refused token, a bad request, a server error): never skipped */
  | { url: string; error: string };

const TIMEOUT_MS = 10_000;

/** `http://node-a:9761` (a path prefix is kept, for a proxy), or a message saying what is wrong with it. */
export function daemonBaseUrl(value: string): string | { problem: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: `--from ${value}: not a URL; expected a daemon's address, e.g. http://node-a:9761` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `--from ${value}: expected http:// or https://` };
  if (url.search !== '' || url.hash !== '') return { problem: `--from ${value}: a daemon's base URL has no query or fragment` };
  return url.href.replace(/\/+$/, '');
}

export function profilePath(target: ProfileTarget): string {
  const e = encodeURIComponent;
  // pods' observations alone: the baseline is applied once, to the merge (units have none)
  const query = target.kind === 'unit'
    ? '?explain=true'
    : `?explain=true&baseline=none${target.container !== undefined ? `&container=${e(target.container)}` : ''}`;
  switch (target.kind) {
    case 'pod': return `/api/v1/namespaces/${e(target.namespace)}/pods/${e(target.name)}/profile${query}`;
    case 'workload': return `/api/v1/namespaces/${e(target.namespace)}/workloads/${e(target.name)}/profile${query}`;
    case 'unit': return `/api/v1/units/${e(target.name)}/profile${query}`;
  }
}

/** Asks every daemon at once; one answer per URL, in the order given. */
export async function fetchNodeProfiles(baseUrls: readonly string[], target: ProfileTarget, options: { token: string | null }): Promise<NodeAnswer[]> {
  return Promise.all(baseUrls.map((base) => fetchOne(base, target, options.token)));
}

async function fetchOne(base: string, target: ProfileTarget, token: string | null): Promise<NodeAnswer> {
  const url = `${base}${profilePath(target)}`;
  let response: Response;
  let text: string;
  try {
    response = await fetch(url, { headers: { accept: 'application/json', ...(token !== null ? { authorization: `Bearer ${token}` } : {}) }, signal: AbortSignal.timeout(TIMEOUT_MS) });
    // the body too: a connection reset or the timeout can come while it is read
    text = await response.text();
  } catch (err) {
    const e = err as Error & { cause?: { code?: string; message?: string } };
    const why = e.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : e.cause?.code ?? e.cause?.message ?? e.message;
    return { url: base, missing: `${base} does not answer (${why})` };
  }
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // reported below with the status
  }
  const apiMessage = typeof (body as { message?: unknown } | null)?.message === 'string' ? (body as { message: string }).message : text.slice(0, 200);
  if (response.status === 404) return { url: base, missing: `${base}: ${apiMessage}` };
  if (response.status === 401) {
    return { url: base, error: `${base} wants a bearer token (the daemon runs with --protect-reads): ${token === null ? 'give --token-file' : 'the one from --token-file was refused'}` };
  }
  if (response.status !== 200) return { url: base, error: `${base} answered ${response.status}: ${apiMessage}` };
  if (!isBuiltProfile(body)) return { url: base, error: `${base} answered something that is not a seccomp-auditor profile; is it a seccomp-auditor daemon of this version?` };
  return { url: base, built: body };
}

function isBuiltProfile(v: unknown): v is BuiltProfile {
  const b = v as BuiltProfile | null;
  return typeof b === 'object' && b !== null
    && typeof b.profile === 'object' && b.profile !== null && Array.isArray(b.profile.architectures) && Array.isArray(b.profile.syscalls)
    && b.profile.syscalls.every((r) => Array.isArray(r?.names) && r.names.every((n) => typeof n === 'string'))
    && typeof b.explain === 'object' && b.explain !== null && typeof b.explain.records === 'number'
    && Array.isArray(b.explain.notAllowed) && Array.isArray(b.explain.unknownNumbers);
}
