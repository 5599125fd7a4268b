/**
 * A fake Kubernetes API server for the calls `profile --cluster` makes, speaking the real
 * protocol: HTTPS with a certificate made here by openssl, bearer tokens (401 Status for others),
 * RBAC decided from Role objects (the shipped ones, read from deploy/), 403 Status objects worded
 * as the API server words them, pod lists with an equality label selector, the pod proxy
 * (`/api/v1/namespaces/NS/pods/NAME:PORT/proxy/...`) forwarding to the pod's address and port as
 * the API server does (Authorization removed before forwarding, as its authentication filter
 * does; 404 Status for a pod that is not there; 503 Status when the pod does not accept), Secrets,
 * and ConfigMap get/update with resourceVersion (409 Conflict on a stale one).
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface PolicyRule { apiGroups?: string[]; resources?: string[]; verbs?: string[]; resourceNames?: string[] }
export interface User { name: string; rules: PolicyRule[] }
export type KObject = { metadata: Record<string, any> } & Record<string, any>;

/** A self-signed certificate for 127.0.0.1; it is its own CA. */
export function selfSigned(dir: string, name: string): { key: string; cert: string } {
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1',
    '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'], { encoding: 'utf8' });
  if (r.error !== undefined || r.status !== 0) {
    throw new Error(`these tests need openssl (1.1.1 or later) to make the fake API server's certificate: ${r.error?.message ?? r.stderr}`);
  }
  return { key: readFileSync(keyFile, 'utf8'), cert: readFileSync(certFile, 'utf8') };
}

export interface Seen { method: string; path: string; user: string | null; status: number }

export class FakeKubeApi {
  readonly users = new Map<string, User>();
  readonly pods = new Map<string, KObject>();
  readonly secrets = new Map<string, KObject>();
  readonly configMaps = new Map<string, KObject>();
  readonly requests: Seen[] = [];
  /** called after a pod list is answered: a test deletes a pod here to make one go away */
  afterList: (() => void) | null = null;
  /** called after a Secret or ConfigMap is read: a test edits it here, as someone else would meanwhile */
  afterGet: ((key: string) => void) | null = null;
  /** the headers the last proxied request reached the pod with */
  lastProxiedHeaders: Record<string, string | string[] | undefined> | null = null;
  #rv = 100;
  readonly #server: Server;

  constructor(readonly tls: { key: string; cert: string }) {
    this.#server = createServer({ key: tls.key, cert: tls.cert }, (req, res) => {
      this.#handle(req, res).catch((err: Error) => this.#status(res, 500, 'InternalError', err.message));
    });
  }

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    return `https://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  nextResourceVersion(): string {
    return String(++this.#rv);
  }

  /** A pod as the API server returns it: hostNetwork, so its IP is the node's; the `http` port. */
  addPod(ns: string, name: string, o: { node: string; port: number; labels: Record<string, string>; phase?: string }): void {
    this.pods.set(`${ns}/${name}`, {
      apiVersion: 'v1', kind: 'Pod',
      metadata: { name, namespace: ns, labels: o.labels, uid: `uid-${name}`, resourceVersion: this.nextResourceVersion() },
      spec: { nodeName: o.node, hostNetwork: true, containers: [{ name: 'seccomp-auditor', ports: [{ name: 'http', containerPort: o.port, protocol: 'TCP' }] }] },
      status: { phase: o.phase ?? 'Running', podIP: '127.0.0.1', hostIP: '127.0.0.1' },
    });
  }

  #status(res: ServerResponse, code: number, reason: string, message: string, details?: Record<string, unknown>): void {
    if (res.headersSent) { res.destroy(); return; }
    res.writeHead(code, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code }));
  }

  #allowed(user: User, verb: string, resource: string, name: string | undefined): boolean {
    return user.rules.some((r) => (r.apiGroups ?? []).includes('')
      && (r.resources ?? []).includes(resource)
      && (r.verbs ?? []).includes(verb)
      // a rule naming objects never allows list, nor a request without a name
      && (r.resourceNames === undefined || r.resourceNames.length === 0 || (name !== undefined && r.resourceNames.includes(name))));
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://127.0.0.1');
    const seen: Seen = { method: req.method ?? 'GET', path: url.pathname, user: null, status: 0 };
    this.requests.push(seen);
    res.on('finish', () => { seen.status = res.statusCode; });
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const user = token === undefined ? undefined : this.users.get(token);
    if (user === undefined) return this.#status(res, 401, 'Unauthorized', 'Unauthorized');
    seen.user = user.name;
    const forbid = (verb: string, resource: string, ns: string, name?: string): boolean => {
      if (this.#allowed(user, verb, resource, name)) return false;
      const [plural] = resource.split('/');
      this.#status(res, 403, 'Forbidden',
        `${name !== undefined ? `${plural} "${name}"` : plural} is forbidden: User "${user.name}" cannot ${verb} resource "${resource}" in API group "" in the namespace "${ns}"`,
        { ...(name !== undefined ? { name } : {}), kind: plural });
      return true;
    };

    let m = /^\/api\/v1\/namespaces\/([^/]+)\/pods$/.exec(url.pathname);
    if (m !== null && req.method === 'GET') {
      const ns = decodeURIComponent(m[1]!);
      if (forbid('list', 'pods', ns)) return;
      const selector = parseSelector(url.searchParams.get('labelSelector') ?? '');
      const items = [...this.pods.values()].filter((p) => p.metadata['namespace'] === ns
        && Object.entries(selector).every(([k, v]) => p.metadata['labels']?.[k] === v));
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ kind: 'PodList', apiVersion: 'v1', metadata: { resourceVersion: this.nextResourceVersion() }, items }));
      this.afterList?.();
      return;
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/proxy(\/.*)?$/.exec(url.pathname);
    if (m !== null) {
      const ns = decodeURIComponent(m[1]!);
      // NAME, NAME:PORT or SCHEME:NAME:PORT
      const parts = decodeURIComponent(m[2]!).split(':');
      const name = parts.length === 3 ? parts[1]! : parts[0]!;
      const port = parts.length >= 2 ? Number(parts[parts.length - 1]) : 80;
      if (forbid(req.method === 'GET' ? 'get' : 'create', 'pods/proxy', ns, name)) return;
      const pod = this.pods.get(`${ns}/${name}`);
      if (pod === undefined) return this.#status(res, 404, 'NotFound', `pods "${name}" not found`, { name, kind: 'pods' });
      return this.#proxy(req, res, pod['status'].podIP as string, port, `${m[3] ?? '/'}${url.search}`);
    }
    m = /^\/api\/v1\/namespaces\/([^/]+)\/(secrets|configmaps)\/([^/]+)$/.exec(url.pathname);
    if (m !== null) {
      const [ns, resource, name] = [decodeURIComponent(m[1]!), m[2]!, decodeURIComponent(m[3]!)];
      const store = resource === 'secrets' ? this.secrets : this.configMaps;
      const key = `${ns}/${name}`;
      const kind = resource === 'secrets' ? 'Secret' : 'ConfigMap';
      if (req.method === 'GET') {
        if (forbid('get', resource, ns, name)) return;
        const o = store.get(key);
        if (o === undefined) return this.#status(res, 404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(o));
        this.afterGet?.(key);
        return;
      }
      if (req.method === 'PUT') {
        if (forbid('update', resource, ns, name)) return;
        const body = JSON.parse(await readBody(req)) as KObject;
        const current = store.get(key);
        if (current === undefined) return this.#status(res, 404, 'NotFound', `${resource} "${name}" not found`, { name, kind: resource });
        if (body.metadata['name'] !== name || body['kind'] !== kind) return this.#status(res, 400, 'BadRequest', 'the name of the object does not match the name on the URL');
        if (body.metadata['resourceVersion'] !== current.metadata['resourceVersion']) {
          return this.#status(res, 409, 'Conflict', `Operation cannot be fulfilled on ${resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`, { name, kind: resource });
        }
        const next = { ...body, metadata: { ...body.metadata, resourceVersion: this.nextResourceVersion() } };
        store.set(key, next);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(next));
        return;
      }
    }
    this.#status(res, 404, 'NotFound', 'the server could not find the requested resource');
  }

  #proxy(req: IncomingMessage, res: ServerResponse, host: string, port: number, path: string): void {
    const headers = { ...req.headers };
    // the API server's authentication filter deletes the credentials it authenticated with
    delete headers.authorization;
    headers.host = `${host}:${port}`;
    this.lastProxiedHeaders = headers;
    const upstream = httpRequest({ host, port, path, method: req.method, headers }, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers);
      up.pipe(res);
    });
    upstream.on('error', (err: NodeJS.ErrnoException) => {
      this.#status(res, 503, 'ServiceUnavailable', `error trying to reach service: dial tcp ${host}:${port}: connect: ${err.code === 'ECONNREFUSED' ? 'connection refused' : err.message}`);
    });
    // a client that gives up takes the upstream request with it, as the API server's proxy does
    res.on('close', () => upstream.destroy());
    req.pipe(upstream);
  }
}

function parseSelector(s: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const term of s.split(',').filter((x) => x !== '')) {
    const m = /^([^=!]+)==?(.*)$/.exec(term);
    if (m === null) throw new Error(`the fake API server models equality selectors only: ${term}`);
    out[m[1]!.trim()] = m[2]!.trim();
  }
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
