/**
 * Finding the API server and credentials as kubectl does: --kubeconfig alone, $KUBECONFIG's files
 * merged (first wins), ~/.kube/config, --context over current-context, paths relative to their
 * file, client certificates, exec credential plugins, and the in-cluster service account; each
 * failure says what is missing and the fix.
 */
import t from 'tap';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KubeConfigError, loadKubeConnection } from '../../src/kube/kube-config.js';
import { makeTempDir } from '../helpers/real-kernel.js';

const dir = makeTempDir('sa-kubeconfig-');
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};
file('ca.crt', 'CA-PEM\n');
file('tok', 'file-token\n');
const main = file('config', `apiVersion: v1
kind: Config
current-context: dev
clusters:
- name: dev
  cluster:
    server: https://dev.example:6443/
    certificate-authority: ca.crt
- name: prod
  cluster:
    server: https://prod.example
    certificate-authority-data: ${Buffer.from('PROD-CA').toString('base64')}
    tls-server-name: api.prod
contexts:
- name: dev
  context: { cluster: dev, user: dev-user, namespace: shop }
- name: prod
  context: { cluster: prod, user: cert-user }
users:
- name: dev-user
  user: { tokenFile: tok }
- name: cert-user
  user:
    client-certificate-data: ${Buffer.from('CERT').toString('base64')}
    client-key-data: ${Buffer.from('KEY').toString('base64')}
`);
// a second file: its dev context must lose to the first file's; its own context is found
const second = file('second', `current-context: prod
contexts:
- name: dev
  context: { cluster: dev, user: nobody, namespace: other }
- name: exec
  context: { cluster: dev, user: exec-user }
users:
- name: exec-user
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: ${join(dir, 'plugin.sh')}
      args: [hello]
      env: [{ name: GREETING, value: hi }]
`);
file('plugin.sh', '#!/bin/sh\nprintf \'{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"exec-%s-%s"}}\' "$1" "$GREETING"\n');
chmodSync(join(dir, 'plugin.sh'), 0o755);

t.test('--kubeconfig, current-context, relative CA and tokenFile, the context\'s namespace', async (t) => {
  const c = loadKubeConnection({ kubeconfig: main, env: {} });
  t.equal(c.server, 'https://dev.example:6443');
  t.equal(c.ca, 'CA-PEM\n', 'certificate-authority read relative to the kubeconfig');
  t.equal(c.token?.(), 'file-token');
  t.equal(c.namespace, 'shop');
  t.match(c.describe, /context dev/);
});

t.test('--context: data fields, tls-server-name, client certificate, namespace default', async (t) => {
  const c = loadKubeConnection({ kubeconfig: main, context: 'prod', env: {} });
  t.equal(c.ca, 'PROD-CA');
  t.equal(c.tlsServerName, 'api.prod');
  t.equal(c.cert, 'CERT');
  t.equal(c.key, 'KEY');
  t.equal(c.namespace, 'default', 'kubectl\'s default namespace');
});

t.test('$KUBECONFIG: files merged, the first to name an entry wins', async (t) => {
  const c = loadKubeConnection({ env: { KUBECONFIG: `${main}:${second}` } });
  t.equal(c.namespace, 'shop', 'current-context and the dev context from the first file');
  const exec = loadKubeConnection({ env: { KUBECONFIG: `${main}:${second}`, PATH: process.env['PATH'] }, context: 'exec' });
  t.equal(exec.token?.(), 'exec-hello-hi', 'the exec plugin ran with its args and env; its ExecCredential token is used');
  t.equal(exec.ca, 'CA-PEM\n', 'the cluster from the first file, its CA relative to that file');
});

t.test('~/.kube/config when nothing is given; the in-cluster account when there is none', async (t) => {
  const home = join(dir, 'home');
  mkdirSync(join(home, '.kube'), { recursive: true });
  writeFileSync(join(home, '.kube', 'config'), `current-context: x
clusters: [{ name: c, cluster: { server: "https://home.example" } }]
contexts: [{ name: x, context: { cluster: c } }]
`);
  t.equal(loadKubeConnection({ env: { HOME: home } }).server, 'https://home.example');
  const sa = join(dir, 'sa');
  mkdirSync(sa);
  writeFileSync(join(sa, 'token'), 'sa-token\n');
  writeFileSync(join(sa, 'namespace'), 'ci\n');
  writeFileSync(join(sa, 'ca.crt'), 'SA-CA');
  const c = loadKubeConnection({ env: { HOME: join(dir, 'nohome'), KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: sa });
  t.same([c.server, c.token?.(), c.namespace, c.ca], ['https://10.0.0.1:443', 'sa-token', 'ci', 'SA-CA']);
});

t.test('failures name what is missing and the fix', async (t) => {
  const cases: Array<[Parameters<typeof loadKubeConnection>[0], RegExp]> = [
    [{ kubeconfig: join(dir, 'absent'), env: {} }, /--kubeconfig .*absent: no such file/],
    [{ env: { HOME: join(dir, 'nohome') } }, /no kubeconfig \(looked at .*nohome\/\.kube\/config\) and not in a cluster.*give --kubeconfig or set KUBECONFIG/],
    [{ kubeconfig: main, context: 'nope', env: {} }, /context 'nope' is not in .*kubectl config get-contexts/],
    [{ kubeconfig: file('nocurrent', 'contexts: []\n'), env: {} }, /no current-context; give --context NAME/],
    [{ kubeconfig: file('bad', ': : :\n  - [\n'), env: {} }, /bad: not a kubeconfig/],
    [{ kubeconfig: file('authprov', 'current-context: a\nclusters: [{name: c, cluster: {server: "https://x"}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {auth-provider: {name: gcp}}}]\n'), env: {} }, /auth-provider plugin.*exec plugin/],
    [{ kubeconfig: file('execfail', 'current-context: a\nclusters: [{name: c, cluster: {server: "https://x"}}]\ncontexts: [{name: a, context: {cluster: c, user: u}}]\nusers: [{name: u, user: {exec: {command: /bin/false, installHint: "install the plugin"}}}]\n'), env: {} }, /the credential plugin '\/bin\/false' failed \(exit 1\); install the plugin/],
  ];
  for (const [options, message] of cases) t.throws(() => loadKubeConnection(options), { message }, String(message));
  // the CLI turns this class into its one-line error; anything else would be a crash
  let thrown: unknown;
  try { loadKubeConnection({ kubeconfig: main, context: 'nope', env: {} }); } catch (err) { thrown = err; }
  t.ok(thrown instanceof KubeConfigError, 'a KubeConfigError');
});
