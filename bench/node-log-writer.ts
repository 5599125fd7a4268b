import { closeSync, mkdirSync, openSync, symlinkSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { I386, Rng, type ContainerLife, type NodeHistory, type Process } from './node-history.js';

/**
 * Writes what `seccomp-auditor ingest` needs to replay a node's history: auditd's log of the
 * seccomp records its containers made (RAW form, time-ordered, processes' records interleaved in
 * bursts, other audit record types between them), and the node as ingest resolves pids on it: a
 * proc root with `cgroup` and `stat` of every container process, and the kubelet's log root
 * (`pods/<ns>_<pod>_<uid>/<container>/<n>.log`, `containers/` symlinks) naming every container.
 *
 * What is left out of the proc root on purpose, as on a real node:
 * - children a container forks (shell scripts, cron jobs) are gone before they are read: their
 *   parent's clone record precedes them, so ingest attributes them by lineage;
 * - exec probes (`runc exec`) are gone too and nothing in the stream names their parent: they are
 *   the unattributed share.
 */
export interface NodeLogSummary {
  records: number;
  lines: number;
  bytes: number;
  containers: number;
  podNames: number;
  podIncarnations: number;
  namespaces: number;
  /** distinct (container, arch, syscall, action) keys the records make */
  keys: number;
  violationKeys: number;
  /** processes in the proc root */
  processes: number;
  /** pids of the log in all (children and probes too) */
  pids: number;
  probeRecords: number;
  ms: number;
}

export interface WriteOptions {
  /** seccomp records to write, about */
  records: number;
  /** share of lines that are other audit record types */
  otherShare: number;
  /** exec probes per container and slice (their records are unattributable) */
  probeRate?: number;
  seed?: number;
}

const CODE_LOG = '0x7ffc0000';
const CODE_ERRNO = '0x50001';
const HEADER = 'type=SECCOMP msg=audit(';

/** x86_64 / i386 numbers of clone, execve, exit_group */
const CLONE = { x86: 56, i386: 120 };
const EXECVE = { x86: 59, i386: 11 };
const EXIT_GROUP = { x86: 231, i386: 252 };

export function writeNodeLog(dir: string, history: NodeHistory, options: WriteOptions): NodeLogSummary {
  const started = Date.now();
  const rng = new Rng(options.seed ?? 7);
  const { containers } = history;
  // a forking container's own clone, execve and exit_group are among its keys, so the key count
  // is known from the history alone
  for (const c of containers) {
    if (c.forks === 0) continue;
    const i386 = c.arch === I386;
    for (const nr of i386 ? [CLONE.i386, EXECVE.i386, EXIT_GROUP.i386] : [CLONE.x86, EXECVE.x86, EXIT_GROUP.x86]) if (!c.syscalls.includes(nr)) c.syscalls.push(nr);
  }
  const processes = writeNode(dir, history);

  let startupRecords = 0, weight = 0, forkRecords = 0;
  for (const c of containers) {
    startupRecords += c.syscalls.length + c.blocked.length + (c.processes.length - 1) * 6;
    weight += (c.end - c.start + 1) * c.rate;
    forkRecords += (c.end - c.start + 1) * c.forks * 20;
  }
  const probeRate = options.probeRate ?? 0.0002;
  const scale = Math.max(0, options.records - startupRecords - forkRecords) / weight;

  const fd = openSync(join(dir, 'audit.log'), 'w');
  const out: string[] = [];
  let bytes = 0, lines = 0, records = 0, serial = 1000, nextPid = 4_000_000, probeRecords = 0, pids = processes;
  const flush = (): void => {
    const chunk = out.join('');
    bytes += writeSync(fd, chunk);
    out.length = 0;
  };
  const order = [...containers].sort((a, b) => a.start - b.start);
  let next = 0;
  let live: ContainerLife[] = [];
  const prefixes = new Map<Process, string>();
  const prefixOf = (p: Process, arch: string): string => {
    let s = prefixes.get(p);
    if (s === undefined) {
      s = `auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${p.pid} comm="${p.comm}" exe="${p.exe}" sig=0 arch=${arch} syscall=`;
      prefixes.set(p, s);
    }
    return s;
  };
  const suffixOf = (p: Process, code: string): string => ` compat=0 ip=${p.ip} code=${code}\n`;
  const count = (x: number): number => Math.floor(x) + (rng.next() < x - Math.floor(x) ? 1 : 0);

  let lastT = 0;
  for (let slice = 0; slice < history.slices; slice++) {
    while (next < order.length && order[next]!.start <= slice) live.push(order[next++]!);
    live = live.filter((c) => c.end >= slice);
    // each run is one process's calls in order; runs are interleaved in bursts below
    const runs: string[][] = [];
    /** a clone and its short-lived child: milliseconds of a real kernel's log, written in one burst */
    const forkRuns = new Set<string[]>();
    for (const c of live) {
      const i386 = c.arch === I386;
      const main = c.processes[0]!;
      const log = suffixOf(main, CODE_LOG);
      if (c.start === slice) {
        const pre = prefixOf(main, c.arch);
        const run: string[] = [];
        for (const nr of c.syscalls) run.push(pre + nr + log);
        for (const nr of c.blocked) run.push(pre + nr + suffixOf(main, CODE_ERRNO));
        runs.push(run);
        for (let w = 1; w < c.processes.length; w++) {
          const p = c.processes[w]!;
          const wpre = prefixOf(p, c.arch), wlog = suffixOf(p, CODE_LOG);
          runs.push(c.syscalls.slice(0, 6).map((nr) => wpre + nr + wlog));
        }
      }
      const n = count(c.rate * scale);
      if (n > 0) {
        const perProcess: string[][] = c.processes.map(() => []);
        const hot = Math.min(18, c.syscalls.length);
        for (let i = 0; i < n; i++) {
          const k = rng.int(c.processes.length);
          const p = c.processes[k]!;
          const r = rng.next();
          if (c.blocked.length > 0 && r < 0.01) perProcess[k]!.push(prefixOf(p, c.arch) + c.blocked[rng.int(c.blocked.length)]! + suffixOf(p, CODE_ERRNO));
          else perProcess[k]!.push(prefixOf(p, c.arch) + c.syscalls[r < 0.9 ? rng.int(hot) : rng.int(c.syscalls.length)]! + suffixOf(p, CODE_LOG));
        }
        for (const run of perProcess) if (run.length > 0) runs.push(run);
      }
      for (let f = count(c.forks); f > 0; f--) {
        // clone in the parent; the child runs the parent's image (same comm, exe, mapping) until
        // it execs, then another program; it is gone before anyone could read /proc about it
        const run = [prefixOf(main, c.arch) + (i386 ? CLONE.i386 : CLONE.x86) + log];
        const child: Process = { pid: nextPid++, comm: main.comm, exe: main.exe, ip: main.ip };
        pids++;
        const pre = `auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${child.pid} comm="${child.comm}" exe="${child.exe}" sig=0 arch=${c.arch} syscall=`;
        const clog = suffixOf(child, CODE_LOG);
        run.push(pre + c.syscalls[rng.int(Math.min(8, c.syscalls.length))]! + clog, pre + (i386 ? EXECVE.i386 : EXECVE.x86) + clog);
        const [comm, exe] = rng.pick(CHILD_PROGRAMS);
        const epre = `auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${child.pid} comm="${comm}" exe="${exe}" sig=0 arch=${c.arch} syscall=`;
        const elog = ` compat=0 ip=0x7f${rng.hex(10)} code=${CODE_LOG}\n`;
        for (let i = 5 + rng.int(15); i > 0; i--) run.push(epre + c.syscalls[rng.int(c.syscalls.length)]! + elog);
        run.push(epre + (i386 ? EXIT_GROUP.i386 : EXIT_GROUP.x86) + elog);
        runs.push(run);
        forkRuns.add(run);
      }
      if (rng.next() < probeRate) {
        // `runc exec` of a probe: a child of the runtime, not of the container's processes
        const pid = nextPid++;
        pids++;
        const pre = `auid=4294967295 uid=0 gid=0 ses=4294967295 pid=${pid} comm="grpc_health_pro" exe="/bin/grpc_health_probe" sig=0 arch=${X86} syscall=`;
        const plog = ` compat=0 ip=0x7f${rng.hex(10)} code=${CODE_LOG}\n`;
        const run: string[] = [];
        for (let i = 10 + rng.int(20); i > 0; i--) run.push(pre + PROBE_CALLS[rng.int(PROBE_CALLS.length)]! + plog);
        probeRecords += run.length;
        runs.push(run);
      }
    }
    let total = 0;
    for (const r of runs) total += r.length;
    const sliceStart = history.startMs + slice * history.sliceMs;
    const step = history.sliceMs / Math.max(1, total);
    let emitted = 0;
    const pos = new Array<number>(runs.length).fill(0);
    let open = runs.length;
    while (open > 0) {
      const i = rng.int(runs.length);
      const run = runs[i]!;
      if (pos[i]! >= run.length) continue;
      // a burst is one process's calls in quick succession: a millisecond apart, not spread over
      // the slice (a child's first records follow its parent's clone within milliseconds)
      const burstStart = Math.max(lastT, sliceStart + Math.floor(emitted * step));
      let inBurst = 0;
      for (let burst = forkRuns.has(run) ? run.length : 1 + rng.int(8); burst > 0 && pos[i]! < run.length; burst--) {
        const t = burstStart + inBurst++;
        lastT = t;
        const stamp = `${Math.floor(t / 1000)}.${String(t % 1000).padStart(3, '0')}`;
        if (rng.next() < options.otherShare / (1 - options.otherShare) / OTHER_MEAN_LINES) {
          // another event of the same moment: auditd writes its records under one serial
          lines += otherEvent(out, stamp, ++serial, rng);
        }
        out.push(`${HEADER}${stamp}:${++serial}): ${run[pos[i]!++]!}`);
        emitted++;
        records++;
        lines++;
      }
      if (pos[i]! >= run.length) open--;
      if (out.length >= 8192) flush();
    }
  }
  flush();
  closeSync(fd);

  let keys = 0, violationKeys = 0;
  const podNames = new Set<string>(), pods = new Set<string>(), nss = new Set<string>();
  for (const c of containers) {
    keys += c.syscalls.length + c.blocked.length;
    violationKeys += c.blocked.length;
    podNames.add(`${c.namespace}/${c.pod}`);
    pods.add(c.podUid);
    nss.add(c.namespace);
  }
  return {
    records, lines, bytes, containers: containers.length, podNames: podNames.size, podIncarnations: pods.size, namespaces: nss.size,
    keys, violationKeys, processes, pids, probeRecords, ms: Date.now() - started,
  };
}

const X86 = 'c000003e';
const PROBE_CALLS = [59, 12, 9, 21, 257, 3, 5, 0, 41, 42, 44, 45, 232, 202, 231];
const CHILD_PROGRAMS: readonly [string, string][] = [
  ['curl', '/usr/bin/curl'], ['date', '/bin/date'], ['pg_dump', '/usr/lib/postgresql/16/bin/pg_dump'], ['gzip', '/bin/gzip'],
  ['aws', '/usr/local/bin/aws'], ['find', '/usr/bin/find'], ['tar', '/bin/tar'], ['sed', '/bin/sed'],
];

const OTHER_EVENTS: readonly ((stamp: string, serial: number) => string)[] = [
  (t, s) =>
    `type=SYSCALL msg=audit(${t}:${s}): arch=c000003e syscall=257 success=yes exit=3 a0=ffffff9c a1=7ffd5a4e2f10 a2=0 a3=0 items=1 ppid=1 pid=812 auid=4294967295 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=(none) ses=4294967295 comm="kubelet" exe="/usr/bin/kubelet" subj=unconfined key="k8s-pki"\n` +
    `type=CWD msg=audit(${t}:${s}): cwd="/"\n` +
    `type=PATH msg=audit(${t}:${s}): item=0 name="/etc/kubernetes/pki/ca.crt" inode=1311 dev=fd:00 mode=0100644 ouid=0 ogid=0 rdev=00:00 nametype=NORMAL cap_fp=0 cap_fi=0 cap_fe=0 cap_fver=0 cap_frootid=0\n` +
    `type=PROCTITLE msg=audit(${t}:${s}): proctitle=2F7573722F62696E2F6B7562656C6574002D2D636F6E6669673D2F7661722F6C69622F6B7562656C65742F636F6E6669672E79616D6C\n`,
  (t, s) => `type=NETFILTER_CFG msg=audit(${t}:${s}): table=nat:2 family=2 entries=412 op=xt_replace pid=2231 subj=unconfined comm="iptables-restor"\n`,
  (t, s) => `type=BPF msg=audit(${t}:${s}): prog-id=${s % 9000} op=LOAD\n`,
  (t, s) =>
    `type=USER_ACCT msg=audit(${t}:${s}): pid=30711 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='op=PAM:accounting grantors=pam_permit acct="root" exe="/usr/sbin/cron" hostname=? addr=? terminal=cron res=success'\x1dUID="root" AUID="unset"\n` +
    `type=CRED_ACQ msg=audit(${t}:${s}): pid=30711 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='op=PAM:setcred grantors=pam_permit acct="root" exe="/usr/sbin/cron" hostname=? addr=? terminal=cron res=success'\x1dUID="root" AUID="unset"\n`,
  (t, s) => `type=SERVICE_START msg=audit(${t}:${s}): pid=1 uid=0 auid=4294967295 ses=4294967295 subj=unconfined msg='unit=logrotate comm="systemd" exe="/usr/lib/systemd/systemd" hostname=? addr=? terminal=? res=success'\x1dUID="root" AUID="unset"\n`,
];
const OTHER_LINES = [4, 1, 1, 2, 1];
const OTHER_MEAN_LINES = OTHER_LINES.reduce((a, b) => a + b) / OTHER_LINES.length;
const SHIM_PID = 3999;

function otherEvent(out: string[], stamp: string, serial: number, rng: Rng): number {
  const i = rng.int(OTHER_EVENTS.length);
  out.push(OTHER_EVENTS[i]!(stamp, serial));
  return OTHER_LINES[i]!;
}

/** The proc root and the kubelet's log root; returns the number of processes written. */
function writeNode(dir: string, history: NodeHistory): number {
  const proc = join(dir, 'proc');
  const containersDir = join(dir, 'log', 'containers');
  const podsDir = join(dir, 'log', 'pods');
  mkdirSync(proc, { recursive: true });
  mkdirSync(containersDir, { recursive: true });
  mkdirSync(podsDir, { recursive: true });
  const podDirs = new Set<string>();
  let processes = 0;
  for (const c of history.containers) {
    const podDir = join(podsDir, `${c.namespace}_${c.pod}_${c.podUid}`);
    if (!podDirs.has(podDir)) {
      podDirs.add(podDir);
      mkdirSync(podDir);
    }
    const containerDir = join(podDir, c.container);
    mkdirSync(containerDir, { recursive: true });
    const logFile = join(containerDir, `${c.restart}.log`);
    writeFileSync(logFile, '');
    symlinkSync(logFile, join(containersDir, `${c.pod}_${c.namespace}_${c.container}-${c.id}.log`));
    const uid = c.podUid.replaceAll('-', '_');
    const cgroup = c.qos === 'guaranteed'
      ? `0::/kubepods.slice/kubepods-pod${uid}.slice/cri-containerd-${c.id}.scope\n`
      : `0::/kubepods.slice/kubepods-${c.qos}.slice/kubepods-${c.qos}-pod${uid}.slice/cri-containerd-${c.id}.scope\n`;
    // start time in clock ticks (100 Hz) since a boot at the history's start
    const ticks = Math.floor((c.start * history.sliceMs) / 10);
    const main = c.processes[0]!;
    for (const p of c.processes) {
      const d = join(proc, String(p.pid));
      mkdirSync(d);
      writeFileSync(join(d, 'cgroup'), cgroup);
      // the main process's parent is the runtime's shim, a host process outside the proc root
      const ppid = p === main ? SHIM_PID : main.pid;
      writeFileSync(join(d, 'stat'), `${p.pid} (${p.comm.slice(0, 15)}) S ${ppid} ${'0 '.repeat(17)}${ticks} 0 0\n`);
      processes++;
    }
  }
  return processes;
}
