/**
 * Real cgroups that look like Kubernetes', for tests that run as root on a real kernel: directories made
 * under a unique top-level group (so parallel test processes never share one), processes moved in by
 * writing cgroup.procs, everything removed leaf first afterwards (rmdir fails while a process is
 * inside, so each is killed first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmdirSync, writeFileSync, accessSync, constants, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface CgroupMounts {
  /** the cgroup2 mount: /sys/fs/cgroup on a pure v2 host, /sys/fs/cgroup/unified on a hybrid one */
  v2: string | null;
  /** the v1 pids hierarchy, when the host has v1 */
  v1Pids: string | null;
}

export function cgroupMounts(): CgroupMounts {
  if (existsSync('/sys/fs/cgroup/cgroup.controllers')) return { v2: '/sys/fs/cgroup', v1Pids: null };
  return {
    v2: existsSync('/sys/fs/cgroup/unified/cgroup.procs') ? '/sys/fs/cgroup/unified' : null,
    v1Pids: existsSync('/sys/fs/cgroup/pids/cgroup.procs') ? '/sys/fs/cgroup/pids' : null,
  };
}

/** Why cgroups cannot be created here, or null. */
export function cgroupsUnavailable(): string | null {
  if (process.platform !== 'linux') return `not Linux (${process.platform})`;
  if (process.getuid?.() !== 0) return `not root (uid ${process.getuid?.()})`;
  const m = cgroupMounts();
  const root = m.v2 ?? m.v1Pids;
  if (root === null) return 'no cgroup2 mount and no v1 pids hierarchy under /sys/fs/cgroup';
  try {
    accessSync(root, constants.W_OK);
  } catch {
    return `${root} is not writable`;
  }
  return null;
}

interface TestLike {
  fail(message: string): unknown;
  plan(n: number, comment?: string): unknown;
  teardown(fn: () => unknown): void;
}

/** Same convention as requireRealKernel: skip with the reason, or fail when CI requires the kernel. */
export function requireCgroups(t: TestLike): boolean {
  const reason = cgroupsUnavailable();
  if (reason === null) return true;
  if (process.env['SECCOMP_AUDITOR_REQUIRE_KERNEL'] === '1') t.fail(`cgroup test cannot run, but SECCOMP_AUDITOR_REQUIRE_KERNEL=1: ${reason}`);
  else t.plan(0, `needs writable cgroups: ${reason}`);
  return false;
}

export function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

export function randomPodUid(): string {
  const h = randomHex(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Cgroups and processes of one test, removed in its teardown. */
export class CgroupSandbox {
  /** the unique top-level group, e.g. `sa-test-1a2b3c4d` */
  readonly top = `sa-test-${randomHex(4)}`;
  readonly #dirs: string[] = [];
  readonly #children = new Set<ChildProcess>();
  /** grandchildren, which killing a child does not reach */
  readonly #extraPids = new Set<number>();

  constructor(t: TestLike) {
    t.teardown(() => this.cleanup());
  }

  /** mkdir -p `<mount>/<top>/<rel>`; returns the cgroup path as /proc shows it (`/<top>/<rel>`). */
  make(mount: string, rel: string): { dir: string; path: string } {
    const parts = [this.top, ...rel.split('/').filter((p) => p !== '')];
    let dir = mount;
    for (const p of parts) {
      dir = join(dir, p);
      if (!existsSync(dir)) {
        mkdirSync(dir);
        this.#dirs.push(dir);
      }
    }
    return { dir, path: `/${parts.join('/')}` };
  }

  /** Moves pid into the cgroup directory (only that process: never the test runner). */
  move(dir: string, pid: number): void {
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
  }

  /** A long sleep, killed at cleanup. */
  sleeper(): ChildProcess & { pid: number } {
    const child = spawn('sleep', ['1000'], { stdio: 'ignore' });
    if (child.pid === undefined) throw new Error('could not start sleep');
    this.#children.add(child);
    return child as ChildProcess & { pid: number };
  }

  /** A process whose parent does not reap it: a zombie once killed. Returns both pids. */
  async unreapedChild(): Promise<{ parent: ChildProcess; childPid: number }> {
    const parent = spawn('sh', ['-c', 'sleep 1000 & echo $!; exec sleep 1000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.#children.add(parent);
    const childPid = await new Promise<number>((resolve, reject) => {
      let out = '';
      parent.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('\n')) resolve(Number(out.trim()));
      });
      parent.once('error', reject);
    });
    this.#extraPids.add(childPid);
    return { parent, childPid };
  }

  /** Kills the processes, then removes the directories. */
  async cleanup(): Promise<void> {
    for (const pid of this.#extraPids) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    for (const child of this.#children) child.kill('SIGKILL');
    await this.removeDirs();
  }

  /** Removes the directories leaf first, waiting while they are busy (killed processes not yet reaped). */
  async removeDirs(): Promise<void> {
    const deadline = Date.now() + 5000;
    for (const dir of this.#dirs.splice(0).reverse()) {
      for (;;) {
        try {
          rmdirSync(dir);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === 'ENOENT') break;
          if (Date.now() > deadline) throw new Error(`cannot remove ${dir}: ${code}; procs: ${safeRead(join(dir, 'cgroup.procs'))}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      }
    }
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().replaceAll('\n', ' ');
  } catch {
    return '?';
  }
}
