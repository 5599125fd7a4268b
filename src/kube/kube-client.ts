/**
 * Requests to the Kubernetes API with the credentials of a KubeConnection: node:https with the
 * cluster's CA (Node's fetch cannot take a CA without undici's dispatcher, a dependency), a
 * deadline per request (body included), and a cap on what is read (a pod proxy relays whatever
 * the pod sends).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { KubeConnection } from './kube-config.js';

export interface KubeResponse {
  status: number;
  body: string;
}

export interface KubeRequest {
  method?: 'GET' | 'PUT';
  /** path and query below the server (its path prefix is kept) */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  timeoutMs: number;
  maxBytes: number;
}

/** the deadline passed before the answer was read */
export class KubeTimeout extends Error {}
/** the answer was larger than maxBytes */
export class KubeTooLarge extends Error {}

/**
 * A Status object of the API server itself (`kind: Status`): what tells its own 403 or 404 from
 * one that a pod answered through the proxy.
 */
export interface KubeStatus {
  kind: 'Status';
  message: string;
  reason: string;
  code: number;
}

export function kubeStatusOf(body: string): KubeStatus | null {
  try {
    const s = JSON.parse(body) as Partial<KubeStatus> & { apiVersion?: unknown };
    if (s !== null && s.kind === 'Status' && s.apiVersion === 'v1') return { kind: 'Status', message: String(s.message ?? ''), reason: String(s.reason ?? ''), code: Number(s.code ?? 0) };
  } catch {
    // not JSON: not a Status
  }
  return null;
}

export class KubeClient {
  readonly #conn: KubeConnection;
  readonly #base: URL;

  constructor(conn: KubeConnection) {
    this.#conn = conn;
    this.#base = new URL(conn.server);
    if (this.#base.protocol !== 'https:' && this.#base.protocol !== 'http:') throw new TypeError(`the API server ${conn.server} is not an http(s) URL`);
  }

  get server(): string {
    return this.#conn.server;
  }

  request(r: KubeRequest): Promise<KubeResponse> {
    const url = new URL(this.#base.pathname.replace(/\/+$/, '') + r.path, this.#base);
    const token = this.#conn.token?.();
    const payload = r.body === undefined ? undefined : Buffer.from(JSON.stringify(r.body));
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...(token !== undefined && token !== '' ? { authorization: `Bearer ${token}` } : {}),
      ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': String(payload.length) } : {}),
      ...r.headers,
    };
    const signal = AbortSignal.timeout(r.timeoutMs);
    return new Promise<KubeResponse>((resolve, reject) => {
      const done = (res: IncomingMessage): void => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > r.maxBytes) {
            res.destroy();
            reject(new KubeTooLarge(`more than ${r.maxBytes} bytes`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', (err) => reject(signal.aborted ? new KubeTimeout(`no answer within ${r.timeoutMs} ms`) : err));
      };
      const options = {
        method: r.method ?? 'GET', headers, signal, agent: false as const,
        ...(url.protocol === 'https:' ? {
          ca: this.#conn.ca, cert: this.#conn.cert, key: this.#conn.key,
          rejectUnauthorized: !this.#conn.insecure,
          ...(this.#conn.tlsServerName !== undefined ? { servername: this.#conn.tlsServerName } : {}),
        } : {}),
      };
      const req = url.protocol === 'https:' ? httpsRequest(url, options, done) : httpRequest(url, options, done);
      req.on('error', (err) => reject(signal.aborted ? new KubeTimeout(`no answer within ${r.timeoutMs} ms`) : err));
      req.end(payload);
    });
  }
}
