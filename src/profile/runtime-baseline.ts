/**
 * What an OCI runtime's init process calls after it loaded the container's seccomp filter and
 * before it execs the workload. A profile learned where those records were seen (a pod run by
 * that runtime on a watched node) already holds them; one learned elsewhere (another runtime,
 * a log from another machine) needs them added, or the container never starts. The lists are
 * data derived from real runs (syscall-tables/baselines/runtimes.json, `npm run derive:baselines`).
 */
import { readFileSync } from 'node:fs';

export const BASELINES = ['none', 'runc', 'crun'] as const;
export type Baseline = (typeof BASELINES)[number];
/**
 * Pods' profiles get runc's baseline unless told otherwise: runc is what containerd runs by
 * default, and its init makes some calls (futex, rt_sigreturn) in some runs only, so a profile
 * learned from a few runs may lack them and then fails about one container start in forty.
 */
export const DEFAULT_BASELINE: Baseline = 'runc';

interface BaselineFile {
  runtimes: Record<string, { version: string; runs: number; syscalls: Record<string, number> }>;
}

const FILE = new URL('../../syscall-tables/baselines/runtimes.json', import.meta.url);
let loaded: BaselineFile | null = null;

/** The names a runtime's init needs (every name seen in any derivation run), sorted. */
export function baselineSyscalls(baseline: Baseline): readonly string[] {
  if (baseline === 'none') return [];
  loaded ??= JSON.parse(readFileSync(FILE, 'utf8')) as BaselineFile;
  const entry = loaded.runtimes[baseline];
  if (entry === undefined) throw new Error(`${FILE.pathname} has no baseline for ${baseline}`);
  return Object.keys(entry.syscalls).sort();
}
