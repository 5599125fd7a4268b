/**
 * A real OCI runtime (runc or crun from Debian's packages) running busybox workloads the way a
 * kubelet's CRI runtime would: one bundle per container, `linux.cgroupsPath` set to a kubepods
 * path, a seccomp profile in the OCI format. Facts this relies on, measured with Debian's runc 1.1
 * and crun 1.8: a bundle from `runc spec` with a busybox rootfs runs; crun refuses while cgroup2
 * still holds the hugetlb controller; runc 1.1 rejects SECCOMP_FILTER_FLAG_LOG, crun accepts it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, symlinkSync, writeFileSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { OciProfile } from '../../../src/profile/oci-profile.js';

export type RuntimeName = 'runc' | 'crun';

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface ContainerSpec {
  /** unique per run; also the runtime's container id */
  id: string;
  cgroupsPath: string;
  args: string[];
  seccomp: OciProfile;
  env?: string[];
  /** where the image keeps busybox (its applets link to it); default /bin/busybox */
  busybox?: string;
}

const BUSYBOX = '/usr/bin/busybox';

/** Where a runtime's binary is, or null. */
export function findRuntime(name: RuntimeName): string | null {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin', '/usr/local/sbin', '/usr/local/bin']) {
    if (existsSync(join(dir, name))) return join(dir, name);
  }
  return null;
}

/** What the end-to-end tests need that this machine lacks, or null (on top of requireRealKernel). */
export function runtimeUnavailable(runtimes: RuntimeName[] = ['runc']): string | null {
  for (const r of runtimes) {
    if (findRuntime(r) === null) return `${r} is not installed (Debian package ${r})`;
  }
  if (!existsSync(BUSYBOX) || !isStatic(BUSYBOX)) return `${BUSYBOX} is missing or not static (Debian package busybox-static)`;
  if (!existsSync('/sys/fs/cgroup/memory')) return 'no cgroup v1 memory hierarchy at /sys/fs/cgroup/memory';
  return null;
}

/** A 64-bit ELF without a PT_INTERP program header needs no dynamic loader inside the rootfs. */
function isStatic(file: string): boolean {
  const elf = readFileSync(file);
  if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false;
  const phoff = Number(elf.readBigUInt64LE(0x20));
  const size = elf.readUInt16LE(0x36);
  const count = elf.readUInt16LE(0x38);
  for (let i = 0; i < count; i++) {
    if (elf.readUInt32LE(phoff + i * size) === 3) return false;
  }
  return true;
}

/**
 * Runs containers with one runtime and removes every bundle, container and cgroup it made,
 * also when a test fails (call cleanup() from a teardown).
 */
export class OciRuntime {
  readonly bin: string;
  readonly #root: string;
  /** one read-only rootfs per busybox location, shared by the containers of that image */
  readonly #rootfs = new Map<string, string>();
  readonly #ids = new Set<string>();
  readonly #running = new Set<ChildProcess>();
  readonly #hybridFix: HugetlbV1Mount | null;

  constructor(readonly name: RuntimeName) {
    const bin = findRuntime(name);
    if (bin === null) throw new Error(`${name} is not installed`);
    this.bin = bin;
    this.#root = mkdtempSync(join(tmpdir(), `sa-e2e-${name}-`));
    // crun refuses a hybrid hierarchy whose cgroup2 still holds a controller (hugetlb here)
    this.#hybridFix = name === 'crun' ? HugetlbV1Mount.ifNeeded() : null;
  }

  /** Runs a container to its end. */
  async run(spec: ContainerSpec, timeoutMs = 30_000): Promise<RunResult> {
    const child = this.start(spec);
    return this.wait(child, timeoutMs, spec.id);
  }

  /** Starts a container; its output is collected by wait(). */
  start(spec: ContainerSpec): ChildProcess {
    const bundle = join(this.#root, spec.id);
    mkdirSync(bundle);
    writeFileSync(join(bundle, 'config.json'), JSON.stringify(ociConfig(this.#image(spec.busybox ?? '/bin/busybox'), spec), null, 1));
    this.#ids.add(spec.id);
    const child = spawn(this.bin, ['run', '--bundle', bundle, spec.id], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.#running.add(child);
    return child;
  }

  async wait(child: ChildProcess, timeoutMs: number, id: string): Promise<RunResult> {
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => { stdout += s; });
    child.stderr!.setEncoding('utf8').on('data', (s: string) => { stderr += s; });
    try {
      return await new Promise<RunResult>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.kill(id);
          reject(new Error(`${this.name} container ${id} did not finish within ${timeoutMs} ms; stderr: ${stderr}`));
        }, timeoutMs);
        child.once('error', (err) => { clearTimeout(timer); reject(err); });
        child.once('close', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
      });
    } finally {
      this.#running.delete(child);
      this.#delete(id);
    }
  }

  #image(busybox: string): string {
    let rootfs = this.#rootfs.get(busybox);
    if (rootfs === undefined) {
      rootfs = join(this.#root, `rootfs-${this.#rootfs.size}`);
      makeBusyboxRootfs(rootfs, busybox);
      this.#rootfs.set(busybox, rootfs);
    }
    return rootfs;
  }

  /** Stops a running container (SIGKILL to all its processes). */
  kill(id: string): void {
    spawnSync(this.bin, ['kill', '--all', id, 'KILL'], { stdio: 'ignore' });
  }

  #delete(id: string): void {
    spawnSync(this.bin, ['delete', '--force', id], { stdio: 'ignore' });
    rmSync(join(this.#root, id), { recursive: true, force: true });
    this.#ids.delete(id);
  }

  cleanup(): void {
    for (const id of [...this.#ids]) {
      this.kill(id);
      this.#delete(id);
    }
    for (const child of this.#running) child.kill('SIGKILL');
    rmSync(this.#root, { recursive: true, force: true });
    this.#hybridFix?.restore();
  }
}

/**
 * A read-only root holding static busybox and its applets in /bin, as an image would. Where
 * busybox itself lives shows in every record's exe= (its shell runs some applets by exec'ing
 * /proc/self/exe, which makes their comm "exe"), so images with busybox in different places
 * tell their processes apart in the kernel's records.
 */
function makeBusyboxRootfs(rootfs: string, busybox: string): void {
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'etc', 'www']) mkdirSync(join(rootfs, d), { recursive: true });
  mkdirSync(join(rootfs, dirname(busybox)), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, busybox));
  const applets = spawnSync(BUSYBOX, ['--list'], { encoding: 'utf8' }).stdout.split('\n').filter((a) => a !== '' && a !== 'busybox');
  for (const a of applets) symlinkSync(busybox, join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  writeFileSync(join(rootfs, 'www', 'index.html'), 'hello from the server pod\n');
}

/** The OCI config a CRI runtime would hand runc: pid/mount/ipc/uts/network namespaces, read-only root. */
function ociConfig(rootfs: string, spec: ContainerSpec): object {
  const caps = ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_FOWNER', 'CAP_FSETID', 'CAP_KILL', 'CAP_SETGID', 'CAP_SETUID', 'CAP_NET_BIND_SERVICE'];
  return {
    ociVersion: '1.0.2',
    process: {
      terminal: false,
      user: { uid: 0, gid: 0 },
      args: spec.args,
      env: ['PATH=/bin', ...(spec.env ?? [])],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: rootfs, readonly: true },
    hostname: spec.id.slice(0, 63),
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'] },
      { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620'] },
      { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'] },
      { destination: '/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'mode=1777', 'size=16m'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
    ],
    linux: {
      cgroupsPath: spec.cgroupsPath,
      namespaces: [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }],
      seccomp: spec.seccomp,
      maskedPaths: ['/proc/kcore', '/proc/keys', '/proc/timer_list', '/proc/sched_debug', '/sys/firmware'],
      readonlyPaths: ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'],
    },
  };
}

/**
 * crun 1.8 refuses to start on a hybrid cgroup layout while the cgroup2 hierarchy holds any
 * controller; on these machines it holds hugetlb. Mounting a v1 hugetlb hierarchy moves the
 * controller there (allowed while cgroup2 does not use it); restore() removes what was made in
 * it and unmounts, which hands the controller back to cgroup2.
 */
class HugetlbV1Mount {
  static ifNeeded(): HugetlbV1Mount | null {
    if (!v2Holds('hugetlb')) return null;
    const dir = mkdtempSync(join(tmpdir(), 'sa-e2e-hugetlb-'));
    // the kernel moves the controller when the last v1 hierarchy holding it is destroyed, which
    // happens a moment after an unmount: a mount right after one may attach to the dying
    // hierarchy, so wait until cgroup2 has really let go, and mount again if it has not
    for (let attempt = 0; attempt < 5; attempt++) {
      const r = spawnSync('mount', ['-t', 'cgroup', '-o', 'hugetlb', 'none', dir], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`cannot mount a v1 hugetlb hierarchy for crun: ${r.stderr}`);
      if (waitFor(() => !v2Holds('hugetlb'), 3000)) return new HugetlbV1Mount(dir);
      spawnSync('umount', [dir], { stdio: 'ignore' });
      waitFor(() => v2Holds('hugetlb'), 3000);
    }
    throw new Error('cgroup2 keeps the hugetlb controller although a v1 hierarchy was mounted for it');
  }

  private constructor(readonly dir: string) {}

  restore(): void {
    removeCgroupTree(this.dir, false);
    spawnSync('umount', [this.dir], { stdio: 'ignore' });
    // leave the machine as it was found before returning: cgroup2 holding hugetlb again
    waitFor(() => v2Holds('hugetlb'), 5000);
    try { rmdirSync(this.dir); } catch { /* still mounted: left for the next boot */ }
  }
}

function v2Holds(controller: string): boolean {
  return readFileSync('/sys/fs/cgroup/unified/cgroup.controllers', 'utf8').trim().split(/\s+/).includes(controller);
}

/** Polls (synchronously: cleanup runs in teardowns and exit handlers) until cond holds. */
function waitFor(cond: () => boolean, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) return false;
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
  }
  return true;
}

/** Removes every cgroup below dir, deepest first (a cgroup cannot be removed while it has children). */
export function removeCgroupTree(dir: string, includeSelf: boolean): void {
  if (!existsSync(dir)) return;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    if (e.isDirectory()) removeCgroupTree(join(dir, e.name), true);
  }
  if (includeSelf) {
    try { rmdirSync(dir); } catch { /* a process is still inside; it is killed by its runtime's cleanup */ }
  }
}
