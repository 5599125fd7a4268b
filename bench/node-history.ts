/**
 * The containers a node ran over a span of time, as a benchmark's log generator needs them: who
 * (namespace, pod, uid, container, id), when (first and last time slice), which processes, and
 * which syscalls. Two scenarios: a busy node's 30 days of churn (rolling Deployments, CronJobs,
 * recreated StatefulSet pods, DaemonSets) and a small steady node of ~40 containers.
 *
 * Shapes follow the kubelet and the controllers: a Deployment pod is `<name>-<replicaset hash>-
 * <5 chars>` with a new hash per rollout; a StatefulSet pod keeps `<name>-<ordinal>` and gets a new
 * uid when recreated; a CronJob pod is `<name>-<scheduled minute>-<5 chars>`. Deterministic for a
 * given seed.
 */

export const X86_64 = 'c000003e';
export const I386 = '40000003';

export interface Process {
  pid: number;
  comm: string;
  exe: string;
  /** `ip=` of its calls: inside its own (ASLR-placed) libc mapping */
  ip: string;
}

export interface ContainerLife {
  namespace: string;
  pod: string;
  podUid: string;
  container: string;
  /** 64 hex digits */
  id: string;
  restart: number;
  qos: 'guaranteed' | 'burstable' | 'besteffort';
  /** first and last time slice it ran in */
  start: number;
  end: number;
  arch: string;
  /** the distinct syscalls it makes under the logging profile, the busiest first */
  syscalls: number[];
  /** syscalls an enforcing profile refused it (each a key with action errno) */
  blocked: number[];
  processes: Process[];
  /** relative records per slice in steady state */
  rate: number;
  /** children forked per slice, on average (shell scripts, exec'ing servers) */
  forks: number;
}

export interface NodeHistory {
  slices: number;
  sliceMs: number;
  startMs: number;
  containers: ContainerLife[];
}

export class Rng {
  #x: number;
  constructor(seed: number) {
    this.#x = seed >>> 0 || 1;
  }
  /** xorshift32: fast, deterministic, plenty for shapes */
  next(): number {
    let x = this.#x;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#x = x >>> 0;
    return this.#x / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  hex(digits: number): string {
    let s = '';
    while (s.length < digits) s += this.int(0x10000).toString(16).padStart(4, '0');
    return s.slice(0, digits);
  }
  /** the alphabet the apiserver draws generated name suffixes and ReplicaSet hashes from */
  suffix(n: number): string {
    const alphabet = 'bcdfghjklmnpqrstvwxz2456789';
    let s = '';
    for (let i = 0; i < n; i++) s += alphabet[this.int(alphabet.length)];
    return s;
  }
  uuid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-a${this.hex(3)}-${this.hex(12)}`;
  }
}

/*
 * x86_64 numbers. What nearly every process makes between exec and its main loop (the dynamic
 * loader, libc and the runtime's init), busiest in steady state first.
 */
const HOT_X86 = [0, 1, 202, 232, 281, 7, 23, 44, 45, 46, 47, 20, 19, 228, 35, 230, 13, 14];
const STARTUP_X86 = [59, 12, 9, 10, 11, 21, 257, 262, 3, 17, 158, 218, 273, 334, 302, 318, 8, 72, 16, 89, 39, 110, 102, 104, 107, 108, 131, 56, 435, 60, 231, 4, 5, 6, 24, 28, 41, 42, 49, 50, 51, 54, 55, 288, 233, 291, 290, 293, 217, 79, 63, 97, 137, 138, 157, 186, 201, 204, 204];
/** the rest of the table, drawn per image */
const OTHER_X86: number[] = [];
for (let nr = 0; nr <= 334; nr++) if (!HOT_X86.includes(nr) && !STARTUP_X86.includes(nr)) OTHER_X86.push(nr);
for (let nr = 424; nr <= 462; nr++) OTHER_X86.push(nr);
/** i386 numbers (a 32-bit legacy image) */
const I386_ALL: number[] = Array.from({ length: 440 }, (_, i) => i + 1);

interface Image {
  name: string;
  comm: string;
  exe: string;
  arch: string;
  syscalls: number[];
  workers: number;
  forks: number;
}

function makeImage(rng: Rng, name: string, comm: string, exe: string, options: { extra?: number; workers?: number; forks?: number } = {}): Image {
  const i386 = rng.next() < 0.01;
  let syscalls: number[];
  if (i386) {
    const set = new Set<number>();
    const n = 60 + rng.int(80);
    while (set.size < n) set.add(rng.pick(I386_ALL));
    syscalls = [...set];
  } else {
    const extra = options.extra ?? 15 + rng.int(75);
    const set = new Set<number>([...HOT_X86, ...STARTUP_X86.filter(() => rng.next() < 0.85)]);
    for (let guard = 0; set.size < HOT_X86.length + STARTUP_X86.length * 0.85 + extra && guard < 10_000; guard++) set.add(rng.pick(OTHER_X86));
    syscalls = [...set];
  }
  return { name, comm, exe, arch: i386 ? I386 : X86_64, syscalls, workers: options.workers ?? pickWorkers(rng), forks: options.forks ?? (rng.next() < 0.1 ? 0.02 : 0) };
}

function pickWorkers(rng: Rng): number {
  const r = rng.next();
  return r < 0.5 ? 0 : r < 0.9 ? 1 + rng.int(4) : 8;
}

const APP_NAMES = ['api', 'web', 'worker', 'frontend', 'backend', 'gateway', 'auth', 'search', 'cart', 'checkout', 'payments',
  'orders', 'inventory', 'notifier', 'scheduler', 'ingest', 'exporter', 'renderer', 'thumbnailer', 'indexer', 'billing',
  'reports', 'graphql', 'session', 'cache-warmer', 'mailer', 'webhooks', 'ledger', 'pricing', 'catalog'];
const SIDECARS: readonly [string, string, string][] = [['istio-proxy', 'envoy', '/usr/local/bin/envoy'], ['log-shipper', 'fluent-bit', '/fluent-bit/bin/fluent-bit'], ['oauth2-proxy', 'oauth2-proxy', '/bin/oauth2-proxy']];
const RUNTIMES: readonly [string, string][] = [['node', '/usr/local/bin/node'], ['java', '/opt/java/openjdk/bin/java'], ['python3', '/usr/local/bin/python3.12'],
  ['app', '/app/server'], ['nginx', '/usr/sbin/nginx'], ['gunicorn', '/usr/local/bin/python3.11'], ['ruby', '/usr/local/bin/ruby'], ['dotnet', '/usr/share/dotnet/dotnet']];

function namespaces(rng: Rng, count: number): string[] {
  const fixed = ['kube-system', 'monitoring', 'logging', 'ingress-nginx', 'cert-manager', 'istio-system', 'argocd', 'velero'];
  const teams = ['shop', 'data', 'search', 'payments', 'identity', 'growth', 'platform', 'media', 'ml', 'ops', 'mobile', 'support', 'ads', 'infra', 'risk'];
  const envs = ['prod', 'staging', 'dev', 'qa', 'canary', 'perf', 'sandbox', 'preview'];
  const out = fixed.slice(0, Math.min(count, fixed.length));
  for (let i = 0; out.length < count; i++) out.push(`${teams[i % teams.length]}-${envs[Math.floor(i / teams.length) % envs.length]}${i >= teams.length * envs.length ? `-${i}` : ''}`);
  void rng;
  return out;
}

interface Builder {
  rng: Rng;
  slices: number;
  nextPid: number;
  containers: ContainerLife[];
  enforcing: Set<string>;
}

function processesOf(b: Builder, image: { comm: string; exe: string; workers: number }): Process[] {
  const out: Process[] = [];
  for (let i = 0; i <= image.workers; i++) {
    b.nextPid += 1 + b.rng.int(6);
    out.push({ pid: b.nextPid, comm: image.comm, exe: image.exe, ip: `0x7f${b.rng.hex(7)}${b.rng.hex(3)}` });
  }
  return out;
}

function addContainer(b: Builder, pod: { namespace: string; pod: string; podUid: string; qos: ContainerLife['qos'] }, container: string, image: Image, start: number, end: number, rate: number, restart = 0): void {
  const rng = b.rng;
  // not every run takes every path: a container makes most, not all, of its image's calls
  const syscalls = image.syscalls.filter((_, i) => i < HOT_X86.length || rng.next() < 0.95);
  const blocked: number[] = [];
  if (b.enforcing.has(pod.namespace) && rng.next() < 0.6) {
    const n = 1 + rng.int(8);
    for (let i = 0; i < n; i++) {
      const nr = rng.pick(image.arch === I386 ? I386_ALL : OTHER_X86);
      if (!syscalls.includes(nr) && !blocked.includes(nr)) blocked.push(nr);
    }
  }
  b.containers.push({
    ...pod, container, id: rng.hex(64), restart, start, end: Math.min(end, b.slices - 1), arch: image.arch, syscalls, blocked,
    processes: processesOf(b, image), rate, forks: image.forks,
  });
}

function qosOf(rng: Rng): ContainerLife['qos'] {
  const r = rng.next();
  return r < 0.2 ? 'guaranteed' : r < 0.9 ? 'burstable' : 'besteffort';
}

/** A pod's containers over [start, end]; a crash-looping one restarts with a new id. */
function addPod(b: Builder, namespace: string, pod: string, images: Image[], start: number, end: number, rate: number): void {
  const rng = b.rng;
  const p = { namespace, pod, podUid: rng.uuid(), qos: qosOf(rng) };
  for (const image of images) {
    let from = start;
    let restart = 0;
    // a few containers crash and are restarted in place: same pod, new container id
    while (rng.next() < 0.03 && end - from > 4 && restart < 3) {
      const until = from + 1 + rng.int(Math.min(end - from - 1, 200));
      addContainer(b, p, image.name, image, from, until, rate, restart++);
      from = until + 1;
    }
    addContainer(b, p, image.name, image, from, end, rate, restart);
  }
}

function appImage(b: Builder, name: string): Image[] {
  const rng = b.rng;
  const [comm, exe] = rng.pick(RUNTIMES);
  const images = [makeImage(rng, name, comm, exe)];
  const r = rng.next();
  if (r < 0.4) {
    const [c, cc, ce] = rng.pick(SIDECARS);
    images.push(makeImage(rng, c, cc, ce, { workers: 1 }));
  }
  if (r > 0.95) images.push(makeImage(rng, 'metrics', 'exporter', '/bin/exporter', { workers: 0 }));
  return images;
}

export interface ChurnOptions {
  days?: number;
  sliceMinutes?: number;
  namespaces?: number;
  deployments?: number;
  statefulSets?: number;
  daemonSets?: number;
  /** [count, every N minutes] */
  cronJobs?: readonly (readonly [number, number])[];
  seed?: number;
}

/** A busy node over `days`: ~250 pods at a time, ~10 000 containers over 30 days. */
export function churnHistory(options: ChurnOptions = {}): NodeHistory {
  const days = options.days ?? 30;
  const sliceMinutes = options.sliceMinutes ?? 5;
  const slices = Math.round((days * 24 * 60) / sliceMinutes);
  const rng = new Rng(options.seed ?? 14);
  const ns = namespaces(rng, options.namespaces ?? 114);
  const b: Builder = { rng, slices, nextPid: 4000, containers: [], enforcing: new Set(ns.filter((_, i) => i % 6 === 3)) };
  const perDay = (24 * 60) / sliceMinutes;
  const appNs = ns.slice(1);

  for (let d = 0; d < (options.deployments ?? 230); d++) {
    const namespace = appNs[d % appNs.length]!;
    const name = `${APP_NAMES[d % APP_NAMES.length]}${d >= APP_NAMES.length ? `-${Math.floor(d / APP_NAMES.length)}` : ''}`;
    const r = rng.next();
    const replicas = r < 0.4 ? 1 : r < 0.75 ? 2 : r < 0.95 ? 3 : 5;
    const rate = 0.5 + rng.next() * rng.next() * 30;
    let images = appImage(b, name);
    // rolled out every 1 to 7 days; each rollout is a new ReplicaSet (hash) and a new image
    for (let at = -rng.int(perDay * 3); at < slices; ) {
      const next = at + perDay + rng.int(perDay * 6);
      const hash = rng.suffix(10);
      // a ReplicaSet that was gone before the log begins left nothing in it
      for (let i = 0; i < replicas && next >= 0; i++) {
        // surge: the new pods start a little before the old ones end
        addPod(b, namespace, `${name}-${hash}-${rng.suffix(5)}`, images, Math.max(0, at), next + 1, rate);
      }
      at = next;
      images = images.map((im) => ({ ...im, syscalls: im.syscalls.filter(() => rng.next() < 0.98).concat(rng.pick(OTHER_X86)) }));
    }
  }
  for (let s = 0; s < (options.statefulSets ?? 25); s++) {
    const namespace = appNs[(s * 7) % appNs.length]!;
    const name = ['postgres', 'redis', 'kafka', 'zookeeper', 'elasticsearch', 'rabbitmq', 'etcd', 'mongo'][s % 8]! + (s >= 8 ? `-${Math.floor(s / 8)}` : '');
    const replicas = 1 + rng.int(3);
    const images = [makeImage(rng, name.replace(/-\d+$/, ''), name.split('-')[0]!, `/usr/local/bin/${name.split('-')[0]}`, { workers: 2 + rng.int(6), forks: 0.05 })];
    if (rng.next() < 0.5) images.push(makeImage(rng, 'metrics', 'exporter', '/bin/exporter', { workers: 0 }));
    const rate = 2 + rng.next() * 20;
    // recreated (same name, new uid) on rollouts and node maintenance every 2 to 5 days
    for (let at = 0; at < slices; ) {
      const next = at + perDay * 2 + rng.int(perDay * 3);
      for (let i = 0; i < replicas; i++) addPod(b, namespace, `${name}-${i}`, images, at, next, rate);
      at = next + 1;
    }
  }
  for (let d = 0; d < (options.daemonSets ?? 8); d++) {
    const name = ['node-exporter', 'fluent-bit', 'kube-proxy', 'calico-node', 'csi-node', 'seccomp-auditor', 'istio-cni', 'nvidia-dp'][d % 8]!;
    const images = appImage(b, name);
    for (let at = 0; at < slices; ) {
      const next = at + perDay * 7 + rng.int(perDay * 7);
      addPod(b, ns[0]!, `${name}-${rng.suffix(5)}`, images, at, next, 2 + rng.next() * 4);
      at = next + 1;
    }
  }
  let c = 0;
  for (const [count, everyMinutes] of options.cronJobs ?? [[4, 60], [5, 360], [12, 1440]]) {
    for (let j = 0; j < count; j++, c++) {
      const namespace = appNs[(c * 5) % appNs.length]!;
      const name = `${['backup', 'report', 'sync', 'cleanup', 'rotate', 'export', 'reindex', 'digest'][c % 8]}-${c}`;
      const images = [makeImage(rng, 'job', 'sh', '/bin/sh', { extra: 10 + rng.int(40), workers: 0, forks: 3 })];
      const every = Math.max(1, Math.round(everyMinutes / sliceMinutes));
      for (let at = rng.int(every); at < slices; at += every) {
        const minute = Math.floor((at * sliceMinutes) / 60) * 60 + 28_000_000;
        addPod(b, namespace, `${name}-${minute}-${rng.suffix(5)}`, images, at, at + rng.int(2), 1 + rng.next() * 4);
      }
    }
  }
  return { slices, sliceMs: sliceMinutes * 60_000, startMs: Date.UTC(2026, 9, 28), containers: b.containers };
}

/** A small steady node: ~40 containers that run for the whole log, 100+ processes. */
export function smallNodeHistory(options: { containers?: number; seed?: number } = {}): NodeHistory {
  const rng = new Rng(options.seed ?? 40);
  const slices = 288;
  const b: Builder = { rng, slices, nextPid: 2000, containers: [], enforcing: new Set(['payments-prod']) };
  const ns = ['kube-system', 'monitoring', 'shop-prod', 'payments-prod', 'data-prod'];
  for (let p = 0; b.containers.length < (options.containers ?? 40); p++) {
    const name = APP_NAMES[p % APP_NAMES.length]!;
    const images = appImage(b, name).map((im) => ({ ...im, workers: Math.max(im.workers, 1 + rng.int(3)) }));
    addPod(b, ns[p % ns.length]!, `${name}-${rng.suffix(10)}-${rng.suffix(5)}`, images, 0, slices - 1, 0.5 + rng.next() * rng.next() * 30);
  }
  return { slices, sliceMs: 5 * 60_000, startMs: Date.UTC(2026, 10, 27), containers: b.containers };
}
