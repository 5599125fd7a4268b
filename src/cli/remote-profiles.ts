/**
 * The profiles several nodes' daemons learned for one pod, workload or host unit, fetched over
 * their REST API (`.../profile?explain=true`: the profile with the records, time range and
 * left-out calls it came from, which is everything mergeBuiltProfiles needs).
 */
import { checkBuiltProfile } from '../profile/built-profile-check.js';
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
/**
 * The most of a peer's answer read. A learned profile with --explain is a few tens of KB (every
 * name of every table is ~2 500 names); a peer sending more is broken or hostile, and reading
 * it all would take the CLI's memory with it (a 2 GB answer reached 4 GB RSS).
 */
export const MAX_ANSWER_BYTES = 4 << 20;

/** `user:password@` of a URL, for messages: credentials never leave in one. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i;
/** C0 controls but tab, DEL and C1 controls: a peer's text printed as it came could move the cursor, clear the screen or fake a line */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g;

/** A peer's text as it may be printed: one line, no control characters, at most 200 characters. */
export function printable(text: string): string {
  const clean = text.replace(CONTROL, ' ');
  return clean.length > 200 ? `${clean.slice(0, 200)}...` : clean;
}

/** `http://node-a:9761` (a path prefix is kept, for a proxy), or a message saying what is wrong with it. */
export function daemonBaseUrl(value: string): string | { problem: string } {
  const shown = printable(value.replace(USERINFO, '$1***@'));
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { problem: `--from ${shown}: not a URL; expected a daemon's address, e.g. http://node-a:9761` };
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return { problem: `--from ${shown}: expected http:// or https://` };
  // the daemon takes a bearer token, never basic auth; and fetch would put them in its error
  if (url.username !== '' || url.password !== '') return { problem: `--from ${shown}: a daemon's URL carries no user or password; put its bearer token in a file and give --token-file` };
  if (url.search !== '' || url.hash !== '') return { problem: `--from ${shown}: a daemon's base URL has no query or fragment` };
  return url.href.replace(/\/+$/, '');
}

export function profilePath(target: ProfileTarget): string {
  const e = encodeURIComponent;
  // pods' observations alone: the baseline is applied once, to the merge (units have none);
  // an incomplete part is fetched all the same: the CLI decides once, on the merge
  const query = target.kind === 'unit'
    ? '?explain=true&allowIncomplete=true'
    : `?explain=true&allowIncomplete=true&baseline=none${target.container !== undefined ? `&container=${e(target.container)}` : ''}`;
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
    response = await fetch(url, {
      headers: { accept: 'application/json', ...(token !== null ? { authorization: `Bearer ${token}` } : {}) },
      // a redirect would send the token on, and take the profile from a server nobody named
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
    // the body too: a connection reset or the timeout can come while it is read
    text = await readCapped(response);
  } catch (err) {
    if (err instanceof AnswerTooLarge) return { url: base, error: `${base} answered more than ${MAX_ANSWER_BYTES >> 20} MiB, far more than a learned profile; is it a seccomp-auditor daemon?` };
    const e = err as Error & { cause?: { code?: string; message?: string } };
    if (e.cause?.message === 'unexpected redirect') return { url: base, error: `${base} answered with a redirect; give the daemon's own address in --from` };
    const why = e.name === 'TimeoutError' ? `no answer within ${TIMEOUT_MS / 1000} s` : e.cause?.code ?? e.cause?.message ?? e.message;
    return { url: base, missing: `${base} does not answer (${printable(why)})` };
  }
  let body: unknown = null;
  try {
    body = JSON.parse(text);
  } catch {
    // reported below with the status
  }
  const apiMessage = printable(typeof (body as { message?: unknown } | null)?.message === 'string' ? (body as { message: string }).message : text);
  if (response.status === 404) return { url: base, missing: `${base}: ${apiMessage}` };
  if (response.status === 401) {
    return { url: base, error: `${base} wants a bearer token (the daemon runs with --protect-reads): ${token === null ? 'give --token-file' : 'the one from --token-file was refused'}` };
  }
  if (response.status !== 200) return { url: base, error: `${base} answered ${response.status}: ${apiMessage}` };
  if (body === null) return { url: base, error: `${base} answered something that is not JSON; is it a seccomp-auditor daemon?` };
  const check = checkBuiltProfile(body);
  if (!check.ok) return { url: base, error: `${base} answered a profile that does not hold up: ${check.problem}; is it a seccomp-auditor daemon of this version, and one you trust?` };
  return { url: base, built: check.built };
}

class AnswerTooLarge extends Error {}

/** The body as text, read as it streams in and dropped (the connection with it) past the cap. */
async function readCapped(response: Response): Promise<string> {
  const declared = Number(response.headers.get('content-length') ?? Number.NaN);
  if (declared > MAX_ANSWER_BYTES) {
    await response.body?.cancel();
    throw new AnswerTooLarge();
  }
  if (response.body === null) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = response.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_ANSWER_BYTES) {
      await reader.cancel();
      throw new AnswerTooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString('utf8');
}
