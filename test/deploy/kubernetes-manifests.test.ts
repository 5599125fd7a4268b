import t from 'tap';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join, posix, relative } from 'node:path';
import { REPO_ROOT } from '../helpers/paths.js';
import { applyOperation, buildKustomization, idOf, isNamespaced, readYamlDocuments, splitImage, type KObject } from './kustomize-build.js';
import { schemaErrors, unknownFields } from './kube-schema.js';
import { parseRunArgs, realRunFlags, type FlagSpec } from './run-flags.js';
import { DEFAULT_PORT, parseListen } from '../../src/cli/run-command.js';

const KUBE = join(REPO_ROOT, 'deploy', 'kubernetes');
const NAMESPACE = 'seccomp-auditor';
const PACKAGE_VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

/**
 * The capabilities the daemon gets, each justified in daemonset.yaml; anything else is a finding:
 * joining the audit multicast group, and the reader thread's priority.
 */
const CAPABILITIES = ['AUDIT_READ', 'SYS_NICE'].sort();

/** Every kustomization that can be built on its own: the base and each overlay (components are built through them). */
const BUILDS = ['base', ...readdirSync(join(KUBE, 'overlays')).map((d) => `overlays/${d}`)];
/** Overlays that must keep the base's unprivileged container; the others say in their name why not. */
const privilegedBuild = (name: string): boolean => name.includes('privileged');

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)]));
}

function one(objects: KObject[], kind: string): KObject {
  const found = objects.filter((o) => o['kind'] === kind);
  if (found.length !== 1) throw new Error(`expected one ${kind}, found ${found.length}`);
  return found[0]!;
}

function matches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  return Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels?.[k] === v);
}

/** Kubernetes quantities as the manifests write them: `50m`, `1`, `128Mi`, `256Mi`, `1Gi`. */
function quantity(q: string | number): number {
  const m = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(String(q));
  if (m === null) throw new Error(`quantity ${q} not understood by this test`);
  const unit = { m: 1e-3, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 }[m[2] as 'm' | 'Ki' | 'Mi' | 'Gi'] ?? 1;
  return Number(m[1]) * unit;
}

t.test('every YAML and JSON file under deploy/ parses', async (t) => {
  const files = walk(join(REPO_ROOT, 'deploy'));
  const yaml = files.filter((f) => /\.ya?ml$/.test(f));
  t.ok(yaml.length >= 10, `${yaml.length} YAML files`);
  for (const f of yaml) t.doesNotThrow(() => readYamlDocuments(f), relative(REPO_ROOT, f));
  for (const f of files.filter((f) => f.endsWith('.json'))) t.doesNotThrow(() => JSON.parse(readFileSync(f, 'utf8')), relative(REPO_ROOT, f));
  // a component is only built through an overlay: each must be used by one
  const components = readdirSync(join(KUBE, 'components'));
  const used = new Set(BUILDS.flatMap((b) => {
    const k = readYamlDocuments(join(KUBE, b, 'kustomization.yaml'))[0] as KObject;
    return ((k['components'] ?? []) as string[]).map((c) => posix.basename(c));
  }));
  for (const c of components) t.ok(used.has(c), `component ${c} is used by an overlay, so the tests build it`);
});

t.test('the kustomize subset refuses what it does not model', async (t) => {
  const doc = { a: { list: [1, 2] } };
  applyOperation(doc, { op: 'add', path: '/a/list/-', value: 3 });
  applyOperation(doc, { op: 'replace', path: '/a/list/0', value: 0 });
  t.same(doc, { a: { list: [0, 2, 3] } });
  t.throws(() => applyOperation(doc, { op: 'replace', path: '/a/missing', value: 1 }), /does not exist/);
  t.throws(() => applyOperation(doc, { op: 'move', path: '/a/list/0', from: '/a' }), /not implemented/);
  t.same(splitImage('registry:5000/team/app:1.2.3@sha256:abc'), { name: 'registry:5000/team/app', tag: '1.2.3', digest: 'sha256:abc' });
  t.same(splitImage('registry:5000/app'), { name: 'registry:5000/app', tag: null, digest: null });
});

const realFlags = realRunFlags();

t.test('the run command\'s help lists its flags', async (t) => {
  t.ok(realFlags.length >= 10, `the run command's help lists ${realFlags.length} flags`);
  for (const name of ['kubelet-seccomp-dir', 'sync-profiles-from', 'proc-root', 'log-dir', 'db', 'listen']) {
    t.ok(realFlags.some((r) => r.name === name), `--${name}, which the DaemonSet passes`);
  }
});

const allFlags: FlagSpec[] = realFlags;

for (const build of BUILDS) {
  t.test(`kustomize build ${build}`, async (t) => {
    const objects = buildKustomization(join(KUBE, build));
    const privileged = privilegedBuild(build);

    t.test('every object conforms to its Kubernetes schema, without unknown fields', async (t) => {
      t.equal(new Set(objects.map(idOf)).size, objects.length, 'no object twice');
      for (const o of objects) {
        t.same(schemaErrors(o), [], `${o['kind']} ${o['metadata'].name}`);
        t.same(unknownFields(o), [], `${o['kind']} ${o['metadata'].name}: fields the API server would reject`);
        t.equal(o['metadata'].namespace, isNamespaced(o) ? NAMESPACE : undefined, `${o['kind']} ${o['metadata'].name} namespace`);
        t.equal(o['metadata'].labels?.['app.kubernetes.io/part-of'], 'seccomp-auditor', `${o['kind']} ${o['metadata'].name} is labelled part-of`);
      }
      const ns = one(objects, 'Namespace');
      t.equal(ns['metadata'].name, NAMESPACE);
      // hostPID and hostPath are refused below the privileged Pod Security level
      t.equal(ns['metadata'].labels['pod-security.kubernetes.io/enforce'], 'privileged');
    });

    const ds = one(objects, 'DaemonSet');
    const pod = ds['spec'].template.spec;
    const [container, ...others] = pod.containers as KObject[];

    t.test('DaemonSet: the node\'s records, /proc and host files', async (t) => {
      t.equal(others.length, 0, 'one container');
      t.equal(pod.hostPID, true, 'hostPID: seccomp records name host pids');
      t.equal(pod.hostNetwork, true, 'hostNetwork: the audit multicast group delivers only in the host\'s network namespace');
      t.equal(pod.dnsPolicy, 'ClusterFirstWithHostNet', 'cluster DNS despite the host network');
      t.not(pod.hostIPC, true);
      const volumes = new Map<string, KObject>(pod.volumes.map((v: KObject) => [v['name'], v]));
      const mounts = new Map<string, KObject>(container!['volumeMounts'].map((m: KObject) => [m['mountPath'], m]));
      const hostMount = (path: string, type: string, mountPath: string, readOnly: boolean): void => {
        const m = mounts.get(mountPath);
        t.ok(m, `${mountPath} is mounted`);
        const v = volumes.get(m?.['name']);
        t.same(v?.['hostPath'], { path, type }, `${mountPath} is the host's ${path} (${type})`);
        t.equal(m?.['readOnly'] === true, readOnly, `${mountPath} ${readOnly ? 'read-only' : 'writable'}`);
      };
      hostMount('/var/log', 'Directory', '/var/log', true);
      const kmsgVolumes = pod.volumes.filter((v: KObject) => v['hostPath']?.path === '/dev/kmsg');
      if (privileged) {
        hostMount('/dev/kmsg', 'CharDevice', '/dev/kmsg', true);
        t.equal(kmsgVolumes.length, 1, 'the kmsg component adds the device once');
      } else {
        t.same(kmsgVolumes, [], 'no /dev/kmsg volume: the base reads the audit group');
        t.notOk(mounts.has('/dev/kmsg'), 'no /dev/kmsg mount');
      }
      hostMount('/var/lib/seccomp-auditor', 'DirectoryOrCreate', '/var/lib/seccomp-auditor', false);
      hostMount('/var/lib/kubelet/seccomp', 'DirectoryOrCreate', '/var/lib/kubelet/seccomp', false);
      for (const [path, m] of mounts) {
        t.ok(volumes.has(m['name']), `${path}: volume ${m['name']} exists`);
        if (volumes.get(m['name'])?.['hostPath'] !== undefined && !['/var/lib/seccomp-auditor', '/var/lib/kubelet/seccomp'].includes(path)) {
          t.equal(m['readOnly'], true, `${path}: every other host path is read-only`);
        }
      }
      t.equal(pod.volumes.length, mounts.size, 'every volume is mounted once');
      const profiles = volumes.get(mounts.get('/etc/seccomp-auditor/profiles')?.['name']);
      t.same(profiles?.['configMap'], { name: 'seccomp-auditor-profiles', optional: true });
      const token = volumes.get(mounts.get('/etc/seccomp-auditor/token')?.['name']);
      t.equal(token?.['secret']?.secretName, 'seccomp-auditor-token');
      t.equal(token?.['secret']?.optional, false, 'the token Secret is required: every /api/v1 route asks for it');
      t.equal(token?.['secret']?.defaultMode, 0o400, 'readable by the daemon only');
      t.ok(volumes.get(mounts.get('/tmp')?.['name'])?.['emptyDir'], 'a writable /tmp beside the read-only root');
      t.same(container!['env'].find((e: KObject) => e['name'] === 'SECCOMP_AUDITOR_NODE_NAME')?.valueFrom, { fieldRef: { fieldPath: 'spec.nodeName' } });
      t.same(container!['env'].find((e: KObject) => e['name'] === 'SECCOMP_AUDITOR_HOST_IP')?.valueFrom, { fieldRef: { fieldPath: 'status.hostIP' } }, 'the node\'s address from the downward API');
    });

    t.test('DaemonSet: the container\'s arguments are what `run` accepts, pointing at the mounts', async (t) => {
      const [command, ...argv] = container!['args'] as string[];
      t.equal(command, 'run', 'the image\'s entrypoint is the CLI; args start with the command');
      t.equal(container!['command'], undefined, 'the image\'s entrypoint is kept');
      let values: ReturnType<typeof parseRunArgs> = {};
      t.doesNotThrow(() => { values = parseRunArgs(argv, allFlags); }, 'every flag is in the run command\'s option table');
      const env = new Set((container!['env'] as KObject[]).map((e) => e['name'] as string));
      // $(NAME) in args is expanded by the kubelet from the container's variables; an undefined
      // one is left as it is, so each must be defined
      const referenced = new Set(argv.flatMap((a) => [...a.matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g)].map((m) => m[1]!)));
      for (const name of referenced) t.ok(env.has(name), `$(${name}) in args is a variable of the container`);
      for (const name of env) {
        t.ok(allFlags.some((f) => f.env === name) || referenced.has(name), `env ${name} is a flag's variable, or expanded into args`);
      }
      t.equal(values['listen'], `$(SECCOMP_AUDITOR_HOST_IP):${DEFAULT_PORT}`, 'listens on the node\'s own address (hostNetwork), not 0.0.0.0 or loopback');
      // what the kubelet makes of it on an IPv4 and on an IPv6 node (status.hostIP is a bare address)
      for (const hostIP of ['10.0.3.17', 'fd00:10:96::a']) {
        const expanded = String(values['listen']).replace('$(SECCOMP_AUDITOR_HOST_IP)', hostIP);
        t.same(parseListen(expanded), [hostIP, DEFAULT_PORT], `--listen=${expanded} binds ${hostIP}`);
      }
      t.equal(values['protect-reads'], true, '--protect-reads: the API is on the node\'s network, outside any NetworkPolicy');
      t.equal(values['token-file'], '/etc/seccomp-auditor/token/token', 'the token from the required Secret');
      t.equal(values['proc-root'], '/proc');
      t.equal(values['log-dir'], '/var/log');
      t.equal(values['db'], '/var/lib/seccomp-auditor/seccomp-auditor.db');
      t.equal(values['kubelet-seccomp-dir'], '/var/lib/kubelet/seccomp');
      t.equal(values['sync-profiles-from'], '/etc/seccomp-auditor/profiles');
      if (values['protect-reads'] === true) t.type(values['token-file'], 'string', '--protect-reads needs --token-file (the CLI refuses it alone)');
      if (values['token-file'] !== undefined) t.match(values['token-file'], /^\/etc\/seccomp-auditor\/token\/[^/]+$/, 'the token file is in the Secret\'s mount');
      const port = container!['ports'].find((p: KObject) => p['name'] === 'http');
      t.equal(port?.containerPort, DEFAULT_PORT);
      t.equal(String(values['listen']).split(':').pop(), String(port?.containerPort), 'the listen port is the container port');
      const image = splitImage(container!['image']);
      t.equal(image.tag, PACKAGE_VERSION, 'the image tag is the package version');
      t.not(image.tag, 'latest');
    });

    t.test('DaemonSet: least privilege', async (t) => {
      const sc = container!['securityContext'];
      t.same(sc.capabilities.drop, ['ALL']);
      t.same([...sc.capabilities.add].sort(), CAPABILITIES, `capabilities exactly ${CAPABILITIES.join(', ')}`);
      t.equal(sc.readOnlyRootFilesystem, true);
      t.same(sc.seccompProfile, { type: 'RuntimeDefault' });
      t.same(pod.securityContext.seccompProfile, { type: 'RuntimeDefault' });
      t.equal(sc.runAsUser, 0, 'uid 0, as daemonset.yaml explains');
      // the API server refuses privileged: true with allowPrivilegeEscalation: false
      t.not(sc.privileged === true && sc.allowPrivilegeEscalation === false, true, 'privileged and allowPrivilegeEscalation agree');
      if (privileged) {
        t.equal(sc.privileged, true, 'this overlay exists to open /dev/kmsg past the device cgroup');
      } else {
        t.equal(sc.privileged, false);
        t.equal(sc.allowPrivilegeEscalation, false);
      }
      t.equal(pod.automountServiceAccountToken, true, 'the pod mounts its token for the pod watch');
      const sa = one(objects, 'ServiceAccount');
      t.equal(pod.serviceAccountName, sa['metadata'].name);
      t.equal(sa['automountServiceAccountToken'], false, 'nobody else using the account gets the token');
    });

    t.test('DaemonSet: scheduling, updates, probes and resources', async (t) => {
      t.same(pod.tolerations, [{ operator: 'Exists' }], 'every node, control-plane and tainted ones too');
      t.equal(ds['spec'].updateStrategy.type, 'RollingUpdate');
      t.ok(ds['spec'].updateStrategy.rollingUpdate.maxUnavailable, 'maxUnavailable is set');
      t.equal(ds['spec'].updateStrategy.rollingUpdate.maxSurge, 0, 'never two daemons on one node');
      t.ok(pod.terminationGracePeriodSeconds >= 2 && pod.terminationGracePeriodSeconds <= 30, 'a grace period above the daemon\'s one-second stop');
      t.ok(matches(ds['spec'].selector.matchLabels, ds['spec'].template.metadata.labels), 'the selector selects the template');
      for (const [probe, path] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz']] as const) {
        t.equal(container![probe]?.httpGet?.path, path, `${probe} ${path}`);
        const port = container![probe]?.httpGet?.port;
        t.equal(container!['ports'].find((p: KObject) => p['name'] === port || p['containerPort'] === port)?.containerPort, DEFAULT_PORT, `${probe} on ${DEFAULT_PORT}`);
      }
      const { requests, limits } = container!['resources'];
      for (const r of ['cpu', 'memory']) t.ok(requests?.[r] !== undefined && limits?.[r] !== undefined, `${r} request and limit`);
      // the README's benchmark table: ingest's peak RSS, the largest figure it gives
      const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
      const peaks = [...readme.matchAll(/peak RSS (\d+) MiB/g)].map((m) => Number(m[1]));
      t.ok(peaks.length > 0, 'the README states a peak RSS');
      const peak = Math.max(...peaks) * 2 ** 20;
      t.ok(quantity(requests.memory) >= peak, `memory request ${requests.memory} covers the measured peak ${Math.max(...peaks)} MiB`);
      t.ok(quantity(limits.memory) >= 1.5 * quantity(requests.memory), 'headroom above the peak before an OOM kill');
      t.ok(quantity(limits.cpu) >= 1, 'at least one core when it needs it: the benchmark figures are for one core');
      t.ok(quantity(requests.cpu) <= quantity(limits.cpu));
    });

    t.test('RBAC: read pods, nothing else', async (t) => {
      const role = one(objects, 'ClusterRole');
      t.same(role['rules'], [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] }]);
      const binding = one(objects, 'ClusterRoleBinding');
      t.same(binding['roleRef'], { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role['metadata'].name });
      t.same(binding['subjects'], [{ kind: 'ServiceAccount', name: pod.serviceAccountName, namespace: ds['metadata'].namespace }], 'bound to the DaemonSet\'s account, in its namespace');
      // the plugin's Roles (components/profile-export-rbac) are for people, bound by them, and tested with the plugin
      const plugin = (o: KObject): boolean => o['metadata'].labels?.['app.kubernetes.io/component'] === 'profile-export';
      t.equal(objects.filter((o) => /Role/.test(o['kind']) && !plugin(o)).length, 2, 'no other roles or bindings');
      t.same(objects.filter(plugin).map((o) => o['kind']).filter((k) => k !== 'Role'), [], 'the plugin\'s RBAC is Roles only (its namespace), never bound here');
    });

    t.test('Service, scrape annotations and NetworkPolicy', async (t) => {
      const podLabels = ds['spec'].template.metadata.labels;
      const svc = one(objects, 'Service');
      t.ok(matches(svc['spec'].selector, podLabels), 'the Service selects the daemons');
      t.same(svc['spec'].ports, [{ name: 'http', port: DEFAULT_PORT, targetPort: 'http', protocol: 'TCP' }]);
      t.equal(svc['spec'].clusterIP, 'None', 'headless: each daemon answers for its own node');
      t.equal(svc['spec'].publishNotReadyAddresses, true, 'a daemon with a failing source is still scraped');
      t.same(svc['metadata'].annotations, { 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(DEFAULT_PORT), 'prometheus.io/path': '/metrics' });
      t.equal(ds['spec'].template.metadata.annotations?.['prometheus.io/scrape'], undefined, 'pods are not annotated too (no double scrape)');

      const np = one(objects, 'NetworkPolicy');
      t.ok(matches(np['spec'].podSelector.matchLabels, podLabels), 'the policy covers the daemons');
      t.same(np['spec'].policyTypes, ['Ingress']);
      for (const rule of np['spec'].ingress) t.same(rule.ports, [{ protocol: 'TCP', port: DEFAULT_PORT }], 'only the daemon\'s port');
      t.match(readFileSync(join(KUBE, 'base', 'networkpolicy.yaml'), 'utf8'), /does not protect the base's daemons\. They run with hostNetwork/, 'the policy says it does not cover hostNetwork pods');
      t.same(np['spec'].ingress.map((r: KObject) => r['from']), [
        [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'monitoring' } }, podSelector: { matchLabels: { 'app.kubernetes.io/name': 'prometheus' } } }],
        [{ namespaceSelector: {}, podSelector: { matchLabels: { 'seccomp-auditor/api-client': 'true' } } }],
      ], 'Prometheus in the monitoring namespace, and labelled API clients');

      const monitors = objects.filter((o) => o['kind'] === 'ServiceMonitor');
      t.equal(monitors.length, build === 'base' ? 0 : 1, 'the ServiceMonitor comes with its component, not with the base (the CRD may be missing)');
      for (const sm of monitors) {
        t.ok(matches(sm['spec'].selector.matchLabels, svc['metadata'].labels), 'the ServiceMonitor selects the Service');
        t.same(sm['spec'].endpoints.map((e: KObject) => [e['port'], e['path']]), [['http', '/metrics']]);
      }
    });

    t.test('profiles ConfigMap', async (t) => {
      const maps = objects.filter((o) => o['kind'] === 'ConfigMap');
      if (build === 'base') {
        t.equal(maps.length, 0, 'the base mounts an optional ConfigMap that overlays make');
        return;
      }
      const cm = maps.find((m) => m['metadata'].name === 'seccomp-auditor-profiles');
      t.ok(cm, 'the overlay makes the ConfigMap the DaemonSet mounts');
      const tables = new Map<string, Set<string>>();
      for (const file of readdirSync(join(REPO_ROOT, 'syscall-tables')).filter((f) => f.endsWith('.json'))) {
        const table = JSON.parse(readFileSync(join(REPO_ROOT, 'syscall-tables', file), 'utf8')) as { abi: string; syscalls: Record<string, string> };
        tables.set(`SCMP_ARCH_${table.abi.toUpperCase()}`, new Set(Object.values(table.syscalls)));
      }
      for (const [key, text] of Object.entries(cm?.['data'] ?? {})) {
        t.match(key, /^[a-z0-9][a-z0-9._-]*\.json$/, `${key}: a file name the kubelet can be pointed at`);
        const p = JSON.parse(text as string);
        t.ok(['SCMP_ACT_ERRNO', 'SCMP_ACT_LOG'].includes(p.defaultAction), `${key}: defaultAction`);
        t.ok(p.architectures.length > 0, `${key}: architectures`);
        for (const rule of p.syscalls) {
          t.equal(rule.action, 'SCMP_ACT_ALLOW');
          t.same(rule.names, [...new Set(rule.names as string[])].sort(), `${key}: names sorted, once each`);
          for (const arch of p.architectures) {
            const known = tables.get(arch);
            t.ok(known, `${key}: ${arch} has a syscall table`);
            t.same((rule.names as string[]).filter((n) => !known?.has(n)), [], `${key}: every name exists on ${arch}`);
          }
        }
      }
    });
  });
}

t.test('overlays/example changes what it says and nothing else of the daemon', async (t) => {
  const base = one(buildKustomization(join(KUBE, 'base')), 'DaemonSet');
  const example = one(buildKustomization(join(KUBE, 'overlays', 'example')), 'DaemonSet');
  const b = base['spec'].template.spec.containers[0];
  const e = example['spec'].template.spec.containers[0];
  t.same(e.args.slice(0, b.args.length), b.args, 'the base\'s arguments first');
  t.same(e.args.slice(b.args.length), ['--retention=14d']);
  t.equal(splitImage(e.image).name, 'registry.example.com/platform/seccomp-auditor');
  t.same({ ...e, args: b.args, image: b.image }, b, 'the rest of the container is the base\'s');
  const privilegedPod = one(buildKustomization(join(KUBE, 'overlays', 'example-kmsg-privileged')), 'DaemonSet')['spec'].template.spec;
  const privileged = privilegedPod.containers[0];
  t.same({ ...privileged.securityContext, privileged: false, allowPrivilegeEscalation: false }, e.securityContext, 'only privileged mode differs in the security context');
  t.same(privileged.args, e.args, 'the same arguments: the daemon reads /dev/kmsg only where it cannot join the audit group');
  const kmsgOut = (list: KObject[]): KObject[] => list.filter((x) => x['name'] !== 'kmsg');
  t.same(kmsgOut(privileged.volumeMounts), e.volumeMounts, 'the /dev/kmsg mount is the only mount added');
  t.same(kmsgOut(privilegedPod.volumes), example['spec'].template.spec.volumes, 'the /dev/kmsg volume is the only volume added');
  t.ok(existsSync(join(KUBE, 'components', 'kmsg-privileged', 'kustomization.yaml')));
});
