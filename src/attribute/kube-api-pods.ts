import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ownerOf, type OwnerReference, type PodOwner } from './kube-owner.js';

export type { PodOwner, WorkloadKind } from './kube-owner.js';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';
/** A watch that delivered an event or stayed open this long was healthy: the next reconnect starts from the shortest backoff. */
const HEALTHY_WATCH_MS = 5_000;
/** Finds a dead watch connection (a NAT or a load balancer forgetting it) before resyncMs does. */
const KEEPALIVE_MS = 30_000;
/** A node's pod list is a few MiB at most (110 pods by default); anything far larger is not one. */
const MAX_LIST_BYTES = 256 * 1024 * 1024;
/** etcd refuses objects over 1.5 MiB; a longer line is not an event we can use. */
const MAX_LINE_CHARS = 16 * 1024 * 1024;
const MAX_ERROR_BODY = 64 * 1024;

export interface KubeApiPodsOptions {
  /** Only this node's pods are listed and watched (`spec.nodeName`); from the downward API in a DaemonSet. */
  nodeName: string;
  /** Default `https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`. A path prefix (an API proxy) is kept. */
  apiServer?: string;
  /** Read again for every request: projected service account tokens rotate. Default the mounted token. */
  tokenFile?: string;
  /** The CA that signs the API server's certificate (https only). Default the mounted ca.crt. */
  caFile?: string;
  /** The service account's namespace, named in the 403 error. Default the mounted namespace file. */
  namespaceFile?: string;
  /**
   * The longest one watch connection is kept; then it is reopened from the last resourceVersion (no
   * relist: a list with a field selector is read from etcd, a watch from the API server's cache). It
   * bounds how long a silently dead connection can go unnoticed. Default 5 minutes.
   */
  resyncMs?: number;
  /** Reconnect backoff: doubles from min to max per failed attempt, each delay jittered to 50–100 %. Defaults 500 ms, 30 s. */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Deadline of one list request, body included. Default 30 s. */
  requestTimeoutMs?: number;
  /** Failures after start() (dropped watches, failed relists, ERROR events); they never throw. Default: ignored. */
  onError?: (err: Error) => void;
  // No `fetch` option: Node's fetch cannot verify against a CA file without undici's dispatcher (a
  // dependency), while node:https takes `ca` directly; tests run a real HTTPS server instead.
}

/** What the API server says about one pod of this node. Complements ContainerNames (same field names). */
export interface PodInfo {
  readonly podUid: string;
  readonly namespace: string;
  readonly pod: string;
  readonly node: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly owner: Readonly<PodOwner>;
  /** Container name → its current id (hex, runtime prefix removed): regular, init and ephemeral containers that have one. */
  readonly containers: Readonly<Record<string, string>>;
}

export type ContainerPodInfo = PodInfo & { readonly container: string };

export interface KubeApiPodsStatus {
  apiServer: string;
  /** A watch stream is open now. */
  connected: boolean;
  /** A list has succeeded: the pods known are the node's pods, as of lastSyncAt (for /readyz). */
  synced: boolean;
  lastError: string | null;
  /** ms since the epoch */
  lastErrorAt: number | null;
  podsKnown: number;
  containersKnown: number;
  /** When a list or a watch event (bookmarks included) was last applied, ms since the epoch. */
  lastSyncAt: number | null;
  resourceVersion: string | null;
  lists: number;
  watches: number;
  events: number;
  /** Watch lines and list items that could not be used (not JSON, fields missing): skipped and counted. */
  badData: number;
}

export type KubeApiErrorCode =
  | 'SA_KUBE_UNAUTHORIZED'
  | 'SA_KUBE_FORBIDDEN'
  | 'SA_KUBE_CREDENTIALS'
  | 'SA_KUBE_UNREACHABLE'
  | 'SA_KUBE_TLS'
  | 'SA_KUBE_TIMEOUT'
  | 'SA_KUBE_HTTP'
  | 'SA_KUBE_BAD_RESPONSE'
  | 'SA_KUBE_WATCH';

export class KubeApiError extends Error {
  override name = 'KubeApiError';
  constructor(readonly code: KubeApiErrorCode, message: string, readonly httpStatus: number | null = null, options?: ErrorOptions) {
    super(message, options);
  }
}

export interface ParsedPod {
  info: PodInfo;
  /** every id, with the previous instance's of a restarted container (its late records still name the pod) */
  ids: Array<[id: string, container: string]>;
}

interface StoredPod {
  info: PodInfo;
  ids: string[];
}

type WatchEnd = { reason: 'closed' | 'dropped' | 'gone' | 'error-event' | 'resync' | 'stopped'; healthy: boolean; error?: Error };
type EventResult = 'applied' | 'skipped' | 'gone' | 'error-event';

/**
 * This node's pods from the Kubernetes API: labels, owning workload, container ids. Optional and
 * additive: outside a cluster fromEnvironment() returns null and attribution uses the kubelet's files
 * alone. RBAC needed: get/list/watch on pods, nothing else (see kube-owner.ts).
 *
 * One loop: list (replaces everything known), then watch from the list's resourceVersion; a closed or
 * broken watch is reopened from the last resourceVersion seen after a backoff, a 410 Gone or an ERROR
 * event relists. No timer or watch socket keeps the process alive. Shutdown: stop() marks the loop
 * stopped, aborts the request in flight, then wakes a pending backoff; what is known stays readable.
 */
export class KubeApiPods {
  readonly nodeName: string;
  readonly apiServer: string;
  readonly #base: URL;
  readonly #podsPath: string;
  readonly #tokenFile: string;
  readonly #caFile: string;
  readonly #namespaceFile: string;
  readonly #resyncMs: number;
  readonly #minBackoffMs: number;
  readonly #maxBackoffMs: number;
  readonly #requestTimeoutMs: number;
  readonly #onError: (err: Error) => void;

  #pods = new Map<string, StoredPod>();
  #byContainer = new Map<string, ContainerPodInfo>();
  #resourceVersion: string | null = null;
  #needList = true;

  #started: Promise<void> | null = null;
  #settleStart: ((err: Error | null) => void) | null = null;
  #stopped = false;
  #inflight: AbortController | null = null;
  #wake: (() => void) | null = null;

  #connected = false;
  #synced = false;
  #lastError: string | null = null;
  #lastErrorAt: number | null = null;
  #lastSyncAt: number | null = null;
  #lists = 0;
  #watches = 0;
  #events = 0;
  #badData = 0;

  /** null when not in a cluster: no KUBERNETES_SERVICE_HOST, or no service account token mounted. */
  static fromEnvironment(nodeName: string, env: NodeJS.ProcessEnv = process.env, options: Partial<Omit<KubeApiPodsOptions, 'nodeName'>> = {}): KubeApiPods | null {
    const host = env['KUBERNETES_SERVICE_HOST'];
    if (host === undefined || host === '') return null;
    const tokenFile = options.tokenFile ?? `${SERVICE_ACCOUNT_DIR}/token`;
    // only absence means "not in a cluster"; a token that exists but cannot be read is an error start() names
    if (!existsSync(tokenFile)) return null;
    return new KubeApiPods({ ...options, nodeName, tokenFile, apiServer: options.apiServer ?? serverFromEnv(host, env['KUBERNETES_SERVICE_PORT']) });
  }

  constructor(options: KubeApiPodsOptions) {
    if (typeof options.nodeName !== 'string' || options.nodeName === '') throw new TypeError('KubeApiPods: nodeName is required (spec.nodeName, from the downward API)');
    this.nodeName = options.nodeName;
    let server = options.apiServer;
    if (server === undefined) {
      const host = process.env['KUBERNETES_SERVICE_HOST'];
      if (host === undefined || host === '') throw new TypeError('KubeApiPods: no apiServer given and KUBERNETES_SERVICE_HOST is not set');
      server = serverFromEnv(host, process.env['KUBERNETES_SERVICE_PORT']);
    }
    let base: URL;
    try {
      base = new URL(server);
    } catch {
      throw new TypeError(`KubeApiPods: apiServer is not a URL: ${server}`);
    }
    if (base.protocol !== 'https:' && base.protocol !== 'http:') throw new TypeError(`KubeApiPods: apiServer must be https (or http), got ${server}`);
    this.#base = base;
    this.apiServer = server.replace(/\/+$/, '');
    this.#podsPath = `${base.pathname.replace(/\/+$/, '')}/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${this.nodeName}`)}`;
    this.#tokenFile = options.tokenFile ?? `${SERVICE_ACCOUNT_DIR}/token`;
    this.#caFile = options.caFile ?? `${SERVICE_ACCOUNT_DIR}/ca.crt`;
    this.#namespaceFile = options.namespaceFile ?? `${SERVICE_ACCOUNT_DIR}/namespace`;
    this.#resyncMs = positive('resyncMs', options.resyncMs ?? 5 * 60_000);
    this.#minBackoffMs = positive('minBackoffMs', options.minBackoffMs ?? 500);
    this.#maxBackoffMs = positive('maxBackoffMs', Math.max(options.maxBackoffMs ?? 30_000, this.#minBackoffMs));
    this.#requestTimeoutMs = positive('requestTimeoutMs', options.requestTimeoutMs ?? 30_000);
    this.#onError = options.onError ?? (() => {});
  }

  /**
   * Resolves when the first list is applied; rejects with the first failure (a KubeApiError naming the
   * API server and the fix). Either way the loop goes on retrying with backoff until stop(), so a
   * permission granted later still takes effect; call stop() to give up. Idempotent.
   */
  start(): Promise<void> {
    if (this.#started !== null) return this.#started;
    this.#started = new Promise<void>((resolve, reject) => {
      this.#settleStart = (err) => {
        this.#settleStart = null;
        if (err === null) resolve();
        else reject(err);
      };
    });
    if (this.#stopped) this.#settleStart?.(new Error('KubeApiPods: start() after stop()'));
    else this.#run().catch((err: unknown) => this.#report(err instanceof Error ? err : new Error(String(err))));
    return this.#started;
  }

  stop(): void {
    this.#stopped = true;
    this.#inflight?.abort();
    this.#wake?.();
    this.#connected = false;
    this.#settleStart?.(new Error(`KubeApiPods: stopped before the first list of pods from ${this.apiServer}`));
  }

  byPodUid(uid: string): PodInfo | null {
    return this.#pods.get(uid)?.info ?? null;
  }

  /** By the id as the cgroup names it (hex); a `containerd://…` form from the API is accepted too. */
  byContainerId(id: string): ContainerPodInfo | null {
    const hit = this.#byContainer.get(id);
    // a miss (a host process's id, another runtime's) allocates nothing
    if (hit !== undefined || !id.includes('://')) return hit ?? null;
    const bare = containerIdOf(id);
    return bare === null ? null : this.#byContainer.get(bare) ?? null;
  }

  get status(): KubeApiPodsStatus {
    return {
      apiServer: this.apiServer,
      connected: this.#connected,
      synced: this.#synced,
      lastError: this.#lastError,
      lastErrorAt: this.#lastErrorAt,
      podsKnown: this.#pods.size,
      containersKnown: this.#byContainer.size,
      lastSyncAt: this.#lastSyncAt,
      resourceVersion: this.#resourceVersion,
      lists: this.#lists,
      watches: this.#watches,
      events: this.#events,
      badData: this.#badData,
    };
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopped) {
      let wait = true;
      try {
        if (this.#needList) {
          await this.#list();
          this.#needList = false;
          this.#settleStart?.(null);
        }
        const end = await this.#watch();
        if (end.healthy) attempt = 0;
        if (end.error !== undefined) this.#report(end.error);
        if (end.reason === 'gone' || end.reason === 'error-event') this.#needList = true;
        // a resync is routine and the connection was fine: reopen at once
        if (end.reason === 'resync') wait = false;
      } catch (err) {
        if (this.#stopped) break;
        const e = err instanceof Error ? err : new Error(String(err));
        // the first failure rejects start(), whose caller reports it: onError would say it twice
        if (this.#settleStart !== null) {
          this.#noteError(e);
          this.#settleStart(e);
        } else {
          this.#report(e);
        }
      }
      if (wait && !this.#stopped) await this.#sleep(this.#backoff(attempt++));
    }
  }

  async #list(): Promise<void> {
    const ac = new AbortController();
    this.#inflight = ac;
    let timedOut = false;
    const deadline = setTimeout(() => {
      timedOut = true;
      ac.abort();
    }, this.#requestTimeoutMs);
    deadline.unref();
    let body: string;
    try {
      const res = await this.#get(this.#podsPath, ac.signal, false);
      if (res.statusCode !== 200) throw await this.#httpError(res, 'list');
      body = await readBody(res, MAX_LIST_BYTES, false);
    } catch (err) {
      if (timedOut) {
        throw new KubeApiError('SA_KUBE_TIMEOUT', `the Kubernetes API server ${this.apiServer} did not answer the pod list within ${this.#requestTimeoutMs} ms`);
      }
      throw err;
    } finally {
      clearTimeout(deadline);
      if (this.#inflight === ac) this.#inflight = null;
    }
    let doc: unknown;
    try {
      doc = JSON.parse(body);
    } catch {
      throw this.#badResponse('the pod list is not JSON');
    }
    const items = isObject(doc) ? doc['items'] : undefined;
    const rv = isObject(doc) && isObject(doc['metadata']) ? doc['metadata']['resourceVersion'] : undefined;
    // a list without items means "none" (the API omits empty arrays in some encodings)
    if (!isObject(doc) || typeof rv !== 'string' || rv === '' || (items !== undefined && items !== null && !Array.isArray(items))) {
      throw this.#badResponse('the pod list has no metadata.resourceVersion or no items array');
    }
    // the list replaces everything: a pod deleted while the watch was broken disappears here
    const pods = new Map<string, StoredPod>();
    const byContainer = new Map<string, ContainerPodInfo>();
    for (const item of (items ?? []) as unknown[]) {
      const p = parsePod(item);
      if (p === null || p.info.node !== this.nodeName) {
        this.#badData++;
        continue;
      }
      pods.set(p.info.podUid, store(p, byContainer));
    }
    this.#pods = pods;
    this.#byContainer = byContainer;
    this.#resourceVersion = rv;
    this.#lists++;
    this.#synced = true;
    this.#lastSyncAt = Date.now();
  }

  async #watch(): Promise<WatchEnd> {
    const ac = new AbortController();
    this.#inflight = ac;
    let reason: WatchEnd['reason'] | null = null;
    const fromRv = this.#resourceVersion ?? '';
    let res: IncomingMessage;
    try {
      res = await this.#get(`${this.#podsPath}&watch=1&resourceVersion=${encodeURIComponent(fromRv)}&allowWatchBookmarks=true`, ac.signal, true);
      if (res.statusCode === 410) {
        res.resume();
        return { reason: 'gone', healthy: false };
      }
      if (res.statusCode !== 200) throw await this.#httpError(res, 'watch');
    } catch (err) {
      if (this.#inflight === ac) this.#inflight = null;
      throw err;
    }
    this.#watches++;
    this.#connected = true;
    const openedAt = Date.now();
    let applied = 0;
    const healthy = (): boolean => applied > 0 || Date.now() - openedAt >= HEALTHY_WATCH_MS;
    const resync = setTimeout(() => {
      reason = 'resync';
      ac.abort();
    }, this.#resyncMs);
    resync.unref();
    res.setEncoding('utf8');
    let pending = '';
    const take = (line: string): WatchEnd | null => {
      const r = this.#applyEvent(line);
      if (r === 'applied') applied++;
      return r === 'gone' || r === 'error-event' ? { reason: r, healthy: healthy() } : null;
    };
    try {
      for await (const chunk of res as AsyncIterable<string>) {
        // a pod object can span many chunks: look for the newline only in what is new
        const scanFrom = pending.length;
        pending += chunk;
        let from = 0;
        for (let nl = pending.indexOf('\n', scanFrom); nl >= 0; nl = pending.indexOf('\n', from)) {
          const end = take(pending.slice(from, nl));
          from = nl + 1;
          if (end !== null) return end;
        }
        pending = pending.slice(from);
        if (pending.length > MAX_LINE_CHARS) {
          // whatever event this was is lost: only a relist makes up for it
          return { reason: 'error-event', healthy: healthy(), error: this.#badResponse(`a watch line exceeds ${MAX_LINE_CHARS} characters`) };
        }
      }
      const last = pending.trim() === '' ? null : take(pending);
      return last ?? { reason: 'closed', healthy: healthy() };
    } catch (err) {
      if (reason !== null) return { reason, healthy: true };
      if (this.#stopped) return { reason: 'stopped', healthy: false };
      const error = new KubeApiError('SA_KUBE_WATCH',
        `the pod watch on ${this.apiServer} broke (${(err as Error).message}); reconnecting from resourceVersion ${this.#resourceVersion}`, null, { cause: err });
      return { reason: 'dropped', healthy: healthy(), error };
    } finally {
      clearTimeout(resync);
      this.#connected = false;
      if (this.#inflight === ac) this.#inflight = null;
      res.destroy();
    }
  }

  #applyEvent(line: string): EventResult {
    if (line.trim() === '') return 'skipped';
    let ev: unknown;
    try {
      ev = JSON.parse(line);
    } catch {
      this.#badData++;
      return 'skipped';
    }
    const object = isObject(ev) ? ev['object'] : undefined;
    if (!isObject(ev) || typeof ev['type'] !== 'string' || !isObject(object)) {
      this.#badData++;
      return 'skipped';
    }
    const metadata = isObject(object['metadata']) ? object['metadata'] : {};
    const rv = typeof metadata['resourceVersion'] === 'string' && metadata['resourceVersion'] !== '' ? metadata['resourceVersion'] : null;
    switch (ev['type']) {
      case 'ADDED':
      case 'MODIFIED': {
        const p = parsePod(object);
        if (p === null || p.info.node !== this.nodeName) {
          this.#badData++;
          return 'skipped';
        }
        this.#remove(p.info.podUid);
        this.#pods.set(p.info.podUid, store(p, this.#byContainer));
        break;
      }
      case 'DELETED': {
        const uid = metadata['uid'];
        if (typeof uid !== 'string' || uid === '') {
          this.#badData++;
          return 'skipped';
        }
        this.#remove(uid);
        break;
      }
      case 'BOOKMARK':
        if (rv === null) {
          this.#badData++;
          return 'skipped';
        }
        break;
      case 'ERROR': {
        // a Status object; 410 means our resourceVersion was compacted away, which is routine
        const code = object['code'];
        if (code === 410) return 'gone';
        this.#report(new KubeApiError('SA_KUBE_WATCH',
          `the pod watch on ${this.apiServer} ended with an ERROR event (${String(code)} ${String(object['reason'] ?? '')}: ${String(object['message'] ?? '')}); relisting`,
          typeof code === 'number' ? code : null));
        return 'error-event';
      }
      default:
        this.#badData++;
        return 'skipped';
    }
    if (rv !== null) this.#resourceVersion = rv;
    this.#events++;
    this.#lastSyncAt = Date.now();
    return 'applied';
  }

  #remove(uid: string): void {
    const old = this.#pods.get(uid);
    if (old === undefined) return;
    this.#pods.delete(uid);
    for (const id of old.ids) {
      // an id moved to another pod (never expected) belongs to that pod now
      if (this.#byContainer.get(id)?.podUid === uid) this.#byContainer.delete(id);
    }
  }

  #get(path: string, signal: AbortSignal, watch: boolean): Promise<IncomingMessage> {
    const token = this.#readFile(this.#tokenFile, 'service account token');
    if (token === '') throw new KubeApiError('SA_KUBE_CREDENTIALS', `the service account token ${this.#tokenFile} is empty`);
    const https = this.#base.protocol === 'https:';
    const url = new URL(path, this.#base);
    const headers = { Authorization: `Bearer ${token}`, Accept: 'application/json', 'User-Agent': 'seccomp-auditor' };
    return new Promise((resolve, reject) => {
      // agent: false: a fresh connection per request, so a rotated CA file is read again and the
      // watch's socket can be unref()ed without touching a shared pool
      const req = https
        ? httpsRequest(url, { headers, signal, agent: false, ca: this.#readFile(this.#caFile, 'CA certificate') }, resolve)
        : httpRequest(url, { headers, signal, agent: false }, resolve);
      req.once('socket', (socket) => {
        socket.setKeepAlive(true, KEEPALIVE_MS);
        if (watch) socket.unref();
      });
      req.on('error', (err) => reject(this.#connectionError(err)));
      req.end();
    });
  }

  #readFile(file: string, what: string): string {
    try {
      return readFileSync(file, 'utf8').trim();
    } catch (err) {
      throw new KubeApiError('SA_KUBE_CREDENTIALS', `cannot read the ${what} ${file} for the Kubernetes API server ${this.apiServer}: ${(err as Error).message}`, null, { cause: err });
    }
  }

  #connectionError(err: Error): Error {
    if (err instanceof KubeApiError || err.name === 'AbortError') return err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    const detail = `${code === '' ? '' : `${code}: `}${err.message}`;
    if (/CERT|SSL|TLS|^EPROTO$/.test(code)) {
      return new KubeApiError('SA_KUBE_TLS',
        `TLS verification of the Kubernetes API server ${this.apiServer} failed (${detail}): check that ${this.#caFile} is the cluster's CA and that the server's certificate names ${this.#base.hostname}`,
        null, { cause: err });
    }
    const why = code === 'ECONNREFUSED' ? 'connection refused'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN' ? 'the host name does not resolve'
      : code === 'ETIMEDOUT' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH' ? 'no route or no answer'
      : 'connection failed';
    return new KubeApiError('SA_KUBE_UNREACHABLE',
      `cannot connect to the Kubernetes API server ${this.apiServer}: ${why} (${detail}); check KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT (or the apiServer setting) and that this node reaches the API server`,
      null, { cause: err });
  }

  async #httpError(res: IncomingMessage, what: 'list' | 'watch'): Promise<KubeApiError> {
    const status = res.statusCode ?? 0;
    const body = await readBody(res, MAX_ERROR_BODY, true).catch(() => '');
    let said = body.trim().slice(0, 500);
    try {
      // the API server answers errors with a Status object whose message names the user and verb
      const s: unknown = JSON.parse(body);
      if (isObject(s) && typeof s['message'] === 'string') said = s['message'];
    } catch {
      // not JSON (a proxy's page): keep the text
    }
    const server = said === '' ? '' : ` (the server said: ${said})`;
    if (status === 401) {
      return new KubeApiError('SA_KUBE_UNAUTHORIZED',
        `the Kubernetes API server ${this.apiServer} rejected the service account token from ${this.#tokenFile} (401 Unauthorized): it is expired, revoked or from another cluster; check that the pod mounts its service account token (automountServiceAccountToken)${server}`,
        status);
    }
    if (status === 403) {
      let namespace = '';
      try {
        namespace = readFileSync(this.#namespaceFile, 'utf8').trim();
      } catch {
        // only for the message
      }
      return new KubeApiError('SA_KUBE_FORBIDDEN',
        `the Kubernetes API server ${this.apiServer} refused to ${what} pods (403 Forbidden): the service account${namespace === '' ? '' : ` (namespace ${namespace})`} cannot ${what} pods: grant get/list/watch on pods (see deploy/kubernetes RBAC)${server}`,
        status);
    }
    return new KubeApiError('SA_KUBE_HTTP', `the Kubernetes API server ${this.apiServer} answered the pod ${what} with ${status} ${res.statusMessage ?? ''}${server}`, status);
  }

  #badResponse(what: string): KubeApiError {
    this.#badData++;
    return new KubeApiError('SA_KUBE_BAD_RESPONSE', `the Kubernetes API server ${this.apiServer} sent something unusable: ${what}`);
  }

  #report(err: Error): void {
    this.#noteError(err);
    try {
      this.#onError(err);
    } catch {
      // a failing logger must not stop the loop
    }
  }

  #noteError(err: Error): void {
    this.#lastError = err.message;
    this.#lastErrorAt = Date.now();
  }

  /** Jittered to 50–100 % so that a node pool restarted together does not reconnect in step. */
  #backoff(attempt: number): number {
    const base = Math.min(this.#maxBackoffMs, this.#minBackoffMs * 2 ** Math.min(attempt, 30));
    return base / 2 + Math.random() * (base / 2);
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#wake = null;
        resolve();
      }, ms);
      timer.unref();
      this.#wake = () => {
        clearTimeout(timer);
        this.#wake = null;
        resolve();
      };
    });
  }
}

/** The in-cluster address; an IPv6 service host needs brackets in a URL. */
function serverFromEnv(host: string, port: string | undefined): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return `https://${h}:${port === undefined || port === '' ? '443' : port}`;
}

function store(p: ParsedPod, byContainer: Map<string, ContainerPodInfo>): StoredPod {
  const ids: string[] = [];
  for (const [id, container] of p.ids) {
    // built once here so that a lookup hands out a reference and allocates nothing
    byContainer.set(id, Object.freeze({ ...p.info, container }));
    ids.push(id);
  }
  return { info: p.info, ids };
}

/** A pod object, or null when a field we need is missing or of the wrong type. */
export function parsePod(obj: unknown): ParsedPod | null {
  if (!isObject(obj) || !isObject(obj['metadata'])) return null;
  const meta = obj['metadata'];
  const spec = isObject(obj['spec']) ? obj['spec'] : {};
  const status = isObject(obj['status']) ? obj['status'] : {};
  const uid = meta['uid'];
  const name = meta['name'];
  const namespace = meta['namespace'];
  const node = spec['nodeName'];
  if (!nonEmpty(uid) || !nonEmpty(name) || !nonEmpty(namespace) || !nonEmpty(node)) return null;
  const labels: Record<string, string> = {};
  if (isObject(meta['labels'])) {
    for (const [k, v] of Object.entries(meta['labels'])) if (typeof v === 'string') labels[k] = v;
  }
  const refs = Array.isArray(meta['ownerReferences']) ? (meta['ownerReferences'] as unknown[]).filter(isObject) as OwnerReference[] : undefined;
  const containers: Record<string, string> = {};
  const ids: Array<[string, string]> = [];
  for (const key of ['initContainerStatuses', 'containerStatuses', 'ephemeralContainerStatuses']) {
    const list = status[key];
    if (!Array.isArray(list)) continue;
    for (const cs of list) {
      if (!isObject(cs) || !nonEmpty(cs['name'])) continue;
      const container = cs['name'];
      const id = containerIdOf(cs['containerID']);
      if (id !== null) {
        containers[container] = id;
        ids.push([id, container]);
      }
      const lastState = isObject(cs['lastState']) ? cs['lastState'] : {};
      const previous = isObject(lastState['terminated']) ? containerIdOf(lastState['terminated']['containerID']) : null;
      if (previous !== null && previous !== id) ids.push([previous, container]);
    }
  }
  Object.freeze(labels);
  const owner = Object.freeze(ownerOf({ name, node, labels, ownerReferences: refs }));
  const info: PodInfo = Object.freeze({ podUid: uid, namespace, pod: name, node, labels, owner, containers: Object.freeze(containers) });
  return { info, ids };
}

/** `containerd://<id>`, `cri-o://<id>`, `docker://<id>` → `<id>`, lower case; empty (not started yet) → null. */
export function containerIdOf(v: unknown): string | null {
  if (typeof v !== 'string') return null;
  const sep = v.indexOf('://');
  const id = (sep >= 0 ? v.slice(sep + 3) : v).trim().toLowerCase();
  return id === '' ? null : id;
}

function readBody(res: IncomingMessage, limit: number, truncate: boolean): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    res.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        if (truncate) {
          resolve(Buffer.concat(chunks).toString('utf8'));
        } else {
          reject(new KubeApiError('SA_KUBE_BAD_RESPONSE', `a response from the Kubernetes API server exceeds ${limit} bytes`));
        }
        res.destroy();
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function nonEmpty(v: unknown): v is string {
  return typeof v === 'string' && v !== '';
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new RangeError(`KubeApiPods: ${name} must be a positive number, got ${v}`);
  return v;
}
