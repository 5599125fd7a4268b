import type { SeccompRecordView } from '../types/seccomp-record.js';
import type { Workload } from './workload.js';

/** A fork-like record whose child has not been seen yet. */
interface WaitingFork {
  workload: Workload;
  parentPid: number;
  /** where the parent made the call; its child runs in the same (ASLR-randomized) mapping until it execs */
  ip: number;
  comm: string | null;
  exe: string | null;
  at: number;
}

const MAX_WAITING = 4096;
/** Two addresses this close lie in one library mapping (libc's text is a few MiB). */
const SAME_MAPPING = 1 << 24;

/**
 * The lineage the record stream itself carries. Every fork-like record waits for one child;
 * every child found (in its parent's children list, or through /proc) settles one wait of its
 * parent. What stays waiting is exactly the forks whose children have not been seen: the only
 * candidates for a child that is gone before anything could be read about it.
 */
export class WaitingForks {
  readonly #windowMs: number;
  #waiting: WaitingFork[] = [];

  constructor(options: { windowMs: number }) {
    this.#windowMs = options.windowMs;
  }

  get size(): number {
    return this.#waiting.length;
  }

  /** Calls `fn` with the workload of every waiting fork (the attributor keeps those workloads). */
  forEachWorkload(fn: (workload: Workload) => void): void {
    for (const w of this.#waiting) fn(w.workload);
  }

  /** The parents with a fork waiting, oldest first, at most `max`. */
  parents(max: number): { parentPid: number; workload: Workload }[] {
    const seen = new Map<number, Workload>();
    for (let i = 0; i < this.#waiting.length && seen.size < max; i++) {
      const w = this.#waiting[i]!;
      if (!seen.has(w.parentPid)) seen.set(w.parentPid, w.workload);
    }
    return [...seen].map(([parentPid, workload]) => ({ parentPid, workload }));
  }

  /** `now`: the record's time (ms), the clock the window is kept in */
  add(rec: SeccompRecordView, workload: Workload, now: number): void {
    // full (a flood of forks whose children never showed): drop the older half at once, not one
    // entry per fork, which would make each fork cost the whole list
    if (this.#waiting.length >= MAX_WAITING) this.#waiting.splice(0, MAX_WAITING / 2);
    this.#waiting.push({ workload, parentPid: rec.pid, ip: ipOf(rec), comm: rec.comm(), exe: rec.exe(), at: now });
  }

  /**
   * A child that renamed itself without exec (busybox runs many applets in the forked child and
   * sets their name with prctl) shows its parent's exe under another comm. When every waiting
   * fork of that image belongs to one workload, that is its parent's; when several workloads run
   * the image, it stays unattributed rather than guessed. Returns an index into the waiting list.
   */
  #onlyWorkloadOfImage(pid: number, exe: string | null, ip: number): number {
    if (exe === null) return -1;
    let found = -1;
    for (let i = this.#waiting.length - 1; i >= 0; i--) {
      const w = this.#waiting[i]!;
      if (w.parentPid === pid || w.exe !== exe) continue;
      // a fork made far from the child's address ran in another process's address space
      if (ip >= 0 && w.ip >= 0 && Math.abs(w.ip - ip) >= SAME_MAPPING) continue;
      if (found < 0) found = i;
      else if (w.workload.key !== this.#waiting[found]!.workload.key) return -1;
    }
    return found;
  }

  /** One child of `parentPid` has been seen: its parent's oldest wait is over. */
  settle(parentPid: number): void {
    const waiting = this.#waiting;
    for (let i = 0; i < waiting.length; i++) {
      if (waiting[i]!.parentPid === parentPid) {
        waiting.splice(i, 1);
        return;
      }
    }
  }

  /**
   * The workload of the waiting fork that made `rec`'s process, a child that is already gone.
   * Until it execs, a child runs its parent's image in its parent's address space: same comm and
   * exe, and syscalls from the same libc mapping, whose place ASLR draws anew for every exec'd
   * process. So a waiting fork whose call came from near the child's first `ip=` is its parent
   * even when other containers run the same image; among such (or, without ASLR or an ip, among
   * all of the same image) the latest wins, since a child's first records follow its parent's
   * fork. Forks older than the window are dropped on the way (failed forks, lost records).
   */
  parentOf(rec: SeccompRecordView, now: number): Workload | null {
    const waiting = this.#waiting;
    if (waiting.length === 0) return null;
    const horizon = now - this.#windowMs;
    let expired = 0;
    while (expired < waiting.length && waiting[expired]!.at < horizon) expired++;
    if (expired > 0) waiting.splice(0, expired);
    const comm = rec.comm();
    const exe = rec.exe();
    const ip = ipOf(rec);
    let near = -1, any = -1;
    for (let i = waiting.length - 1; i >= 0; i--) {
      const w = waiting[i]!;
      if (w.parentPid === rec.pid || w.comm !== comm || w.exe !== exe) continue;
      if (any < 0) any = i;
      if (ip >= 0 && w.ip >= 0 && Math.abs(w.ip - ip) < SAME_MAPPING) { near = i; break; }
    }
    // with both addresses known and far apart, the candidates run in other address spaces
    let chosen = near >= 0 ? near : ip < 0 || waiting[any]?.ip === -1 ? any : -1;
    if (chosen < 0 && any < 0) chosen = this.#onlyWorkloadOfImage(rec.pid, exe, ip);
    if (chosen < 0) return null;
    const { workload, parentPid } = waiting[chosen]!;
    // a parent's forks and its children's first records come in the same order
    this.settle(parentPid);
    return workload;
  }
}

/** The record's instruction pointer, or -1. Numbers hold user-space addresses (< 2^47) exactly. */
function ipOf(rec: SeccompRecordView): number {
  const ip = rec.ip();
  return ip === null ? -1 : Number.parseInt(ip, 16);
}
