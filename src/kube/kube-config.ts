/**
 * Where the Kubernetes API is and who we are to it, found the way kubectl finds it: --kubeconfig,
 * else $KUBECONFIG (a colon-separated list, merged: the first file that names a context, cluster
 * or user wins, as client-go's loading rules do), else ~/.kube/config; with none of those, the
 * in-cluster service account (a Job or a debugging pod running the CLI). One context is chosen:
 * --context, else the file's current-context.
 *
 * Credentials supported: a bearer token (token, tokenFile), a client certificate (files or
 * *-data), and exec plugins (aws, gke-gcloud-auth-plugin, kubelogin: the ExecCredential's token or
 * certificate). Not supported: the removed auth-provider plugins and basic auth; they are named
 * in the error with the fix.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';

const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConnection {
  /** https://host:port, with a path prefix when the kubeconfig has one */
  server: string;
  /** PEM; undefined: the system's CAs */
  ca?: string;
  /** the kubeconfig says insecure-skip-tls-verify */
  insecure: boolean;
  tlsServerName?: string;
  /** read for every request (service account and tokenFile tokens rotate) */
  token?: () => string;
  cert?: string;
  key?: string;
  /** the context's namespace, else 'default' (kubectl's default for -n) */
  namespace: string;
  /** for messages: `context kind-shop (from /home/me/.kube/config)` or `in-cluster service account` */
  describe: string;
}

export class KubeConfigError extends Error {}

export interface KubeConfigOptions {
  kubeconfig?: string;
  context?: string;
  env: NodeJS.ProcessEnv;
  /** for tests: where the in-cluster service account is mounted */
  serviceAccountDir?: string;
}

type Named<T> = { name: string } & T;
type Doc = {
  'current-context'?: string;
  contexts?: Array<Named<{ context?: { cluster?: string; user?: string; namespace?: string } }>>;
  clusters?: Array<Named<{ cluster?: Record<string, unknown> }>>;
  users?: Array<Named<{ user?: Record<string, unknown> }>>;
};
/** an entry and the file it came from, for its relative paths */
type Found<T> = { value: T; file: string };

export function loadKubeConnection(options: KubeConfigOptions): KubeConnection {
  const { env } = options;
  const files = options.kubeconfig !== undefined
    ? [options.kubeconfig]
    : env['KUBECONFIG'] !== undefined && env['KUBECONFIG'] !== ''
      ? env['KUBECONFIG'].split(':').filter((f) => f !== '')
      : [join(env['HOME'] ?? homedir(), '.kube', 'config')];
  if (options.kubeconfig !== undefined && !existsSync(options.kubeconfig)) throw new KubeConfigError(`--kubeconfig ${options.kubeconfig}: no such file`);
  const present = files.filter((f) => existsSync(f));
  if (present.length === 0) {
    const inCluster = inClusterConnection(env, options.serviceAccountDir ?? SERVICE_ACCOUNT_DIR);
    if (inCluster !== null) return inCluster;
    throw new KubeConfigError(`no kubeconfig (looked at ${files.join(', ')}) and not in a cluster (no KUBERNETES_SERVICE_HOST and service account); give --kubeconfig or set KUBECONFIG`);
  }
  const docs = present.map((file) => ({ file, doc: readDoc(file) }));
  const contextName = options.context ?? docs.map((d) => d.doc['current-context']).find((c) => c !== undefined && c !== '');
  if (contextName === undefined) throw new KubeConfigError(`${present.join(', ')}: no current-context; give --context NAME (kubectl config get-contexts lists them)`);
  const context = first(docs, 'contexts', contextName);
  if (context === undefined) throw new KubeConfigError(`context '${contextName}' is not in ${present.join(', ')}; kubectl config get-contexts lists them`);
  const ctx = context.value.context ?? {};
  const cluster = ctx.cluster === undefined ? undefined : first(docs, 'clusters', ctx.cluster);
  if (cluster === undefined) throw new KubeConfigError(`context '${contextName}' names cluster '${ctx.cluster ?? ''}', which is not in ${present.join(', ')}`);
  const user = ctx.user === undefined ? undefined : first(docs, 'users', ctx.user);
  const c = cluster.value.cluster ?? {};
  const server = str(c['server']);
  if (server === undefined) throw new KubeConfigError(`cluster '${ctx.cluster}' in ${cluster.file} has no server`);
  const rel = (file: string, path: string): string => (isAbsolute(path) ? path : join(dirname(file), path));
  const conn: KubeConnection = {
    server: server.replace(/\/+$/, ''),
    insecure: c['insecure-skip-tls-verify'] === true,
    namespace: ctx.namespace !== undefined && ctx.namespace !== '' ? ctx.namespace : 'default',
    describe: `context ${contextName} (${context.file})`,
  };
  const caData = str(c['certificate-authority-data']);
  const caFile = str(c['certificate-authority']);
  if (caData !== undefined) conn.ca = Buffer.from(caData, 'base64').toString('utf8');
  else if (caFile !== undefined) conn.ca = readFile(rel(cluster.file, caFile), `cluster '${ctx.cluster}' certificate-authority`);
  const sni = str(c['tls-server-name']);
  if (sni !== undefined) conn.tlsServerName = sni;
  if (user !== undefined) applyUser(conn, user.value.user ?? {}, ctx.user!, (p) => rel(user.file, p), env);
  return conn;
}

function applyUser(conn: KubeConnection, u: Record<string, unknown>, name: string, rel: (p: string) => string, env: NodeJS.ProcessEnv): void {
  const token = str(u['token']);
  const tokenFile = str(u['tokenFile']);
  if (token !== undefined) conn.token = () => token;
  else if (tokenFile !== undefined) conn.token = () => readFile(rel(tokenFile), `user '${name}' tokenFile`).trim();
  const certData = str(u['client-certificate-data']);
  const keyData = str(u['client-key-data']);
  const certFile = str(u['client-certificate']);
  const keyFile = str(u['client-key']);
  if (certData !== undefined) conn.cert = Buffer.from(certData, 'base64').toString('utf8');
  else if (certFile !== undefined) conn.cert = readFile(rel(certFile), `user '${name}' client-certificate`);
  if (keyData !== undefined) conn.key = Buffer.from(keyData, 'base64').toString('utf8');
  else if (keyFile !== undefined) conn.key = readFile(rel(keyFile), `user '${name}' client-key`);
  if (u['exec'] !== undefined && u['exec'] !== null) {
    // run once, now: the CLI makes a handful of requests within seconds, well inside any credential's life
    const cred = execCredential(u['exec'] as Record<string, unknown>, name, env);
    if (cred.token !== undefined) conn.token = () => cred.token!;
    if (cred.cert !== undefined) conn.cert = cred.cert;
    if (cred.key !== undefined) conn.key = cred.key;
  }
  if (u['auth-provider'] !== undefined) {
    throw new KubeConfigError(`user '${name}' uses an auth-provider plugin, which kubectl itself dropped in 1.26; switch the kubeconfig to the provider's exec plugin (e.g. gke-gcloud-auth-plugin, kubelogin)`);
  }
  if (conn.token === undefined && conn.cert === undefined && (u['username'] !== undefined || u['password'] !== undefined)) {
    throw new KubeConfigError(`user '${name}' has a username and password (basic auth), which the API server no longer takes; use a token or a client certificate`);
  }
}

/** client.authentication.k8s.io ExecCredential: run the plugin, take status.token or the certificate. */
function execCredential(exec: Record<string, unknown>, user: string, env: NodeJS.ProcessEnv): { token?: string; cert?: string; key?: string } {
  const command = str(exec['command']);
  if (command === undefined) throw new KubeConfigError(`user '${user}': exec has no command`);
  const args = Array.isArray(exec['args']) ? exec['args'].map(String) : [];
  const extra = Array.isArray(exec['env']) ? Object.fromEntries((exec['env'] as Array<{ name: string; value: string }>).map((e) => [e.name, e.value])) : {};
  const apiVersion = str(exec['apiVersion']) ?? 'client.authentication.k8s.io/v1';
  const r = spawnSync(command, args, {
    encoding: 'utf8', timeout: 60_000, stdio: ['inherit', 'pipe', 'inherit'],
    env: { ...env, ...extra, KUBERNETES_EXEC_INFO: JSON.stringify({ apiVersion, kind: 'ExecCredential', spec: { interactive: false } }) },
  });
  if (r.error !== undefined || r.status !== 0) {
    const hint = str(exec['installHint']);
    throw new KubeConfigError(`user '${user}': the credential plugin '${command}' failed (${r.error?.message ?? `exit ${r.status}`})${hint !== undefined ? `; ${hint.trim()}` : ''}`);
  }
  let status: Record<string, unknown> | undefined;
  try {
    status = (JSON.parse(r.stdout) as { status?: Record<string, unknown> }).status;
  } catch {
    // reported below
  }
  if (status === undefined) throw new KubeConfigError(`user '${user}': the credential plugin '${command}' printed no ExecCredential status`);
  return { token: str(status['token']), cert: str(status['clientCertificateData']), key: str(status['clientKeyData']) };
}

function inClusterConnection(env: NodeJS.ProcessEnv, dir: string): KubeConnection | null {
  const host = env['KUBERNETES_SERVICE_HOST'];
  const tokenFile = join(dir, 'token');
  if (host === undefined || host === '' || !existsSync(tokenFile)) return null;
  const port = env['KUBERNETES_SERVICE_PORT'] ?? '443';
  const namespaceFile = join(dir, 'namespace');
  return {
    server: `https://${host.includes(':') ? `[${host}]` : host}:${port}`,
    ca: existsSync(join(dir, 'ca.crt')) ? readFileSync(join(dir, 'ca.crt'), 'utf8') : undefined,
    insecure: false,
    token: () => readFile(tokenFile, 'service account token').trim(),
    namespace: existsSync(namespaceFile) ? readFileSync(namespaceFile, 'utf8').trim() : 'default',
    describe: `in-cluster service account (${dir})`,
  };
}

function readDoc(file: string): Doc {
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new KubeConfigError(`${file}: not a kubeconfig (${(err as Error).message.split('\n')[0]})`);
  }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new KubeConfigError(`${file}: not a kubeconfig (expected a mapping)`);
  return doc as Doc;
}

function first<K extends 'contexts' | 'clusters' | 'users'>(docs: Array<{ file: string; doc: Doc }>, key: K, name: string): Found<NonNullable<Doc[K]>[number]> | undefined {
  for (const { file, doc } of docs) {
    const list = doc[key];
    if (!Array.isArray(list)) continue;
    const hit = (list as Array<NonNullable<Doc[K]>[number]>).find((e) => e?.name === name);
    if (hit !== undefined) return { value: hit, file };
  }
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function readFile(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new KubeConfigError(`cannot read ${what} ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}
