/**
 * Ground truth from the kernel's own records, read by the test beside the daemon: which records
 * each pod's processes made, told apart by the image's busybox path (exe=, see workloads.ts).
 * The runtime's init process (`runc:[2:INIT]`, crun's `crun`, exe "/") becomes the container's
 * main process by exec, so its records belong to the pod whose image that pid later runs.
 */
import type { Workload } from './workloads.js';

export interface KernelRecord {
  pid: number;
  comm: string;
  exe: string;
  syscallNr: number;
  action: string;
}

// test-side reading of the fixed kernel format; the product's parser is what is under test
const RECORD = /type=(?:1326|SECCOMP) .* pid=(\d+) comm="([^"]*)" exe="([^"]*)" .* syscall=(\d+) .* code=(0x[0-9a-f]+)/;

export function kernelRecords(raw: readonly string[]): KernelRecord[] {
  const out: KernelRecord[] = [];
  for (const r of raw) {
    const m = RECORD.exec(r);
    if (m === null) continue;
    out.push({ pid: Number(m[1]), comm: m[2]!, exe: m[3]!, syscallNr: Number(m[4]), action: m[5]! });
  }
  return out;
}

export interface PodTruth {
  /** records of the container's first process (the runtime's init, then the workload's main) */
  main: number;
  /** records of every other process: the children */
  children: number;
  /** records of the runtime's init after the filter was loaded, before it exec'd the workload */
  runtimeInit: number;
  total: number;
  /** syscall numbers seen, whatever process made them */
  syscalls: Set<number>;
  /** records per syscall number */
  counts: Map<number, number>;
}

export const RUNTIME_INIT_COMMS: ReadonlySet<string> = new Set(['runc:[2:INIT]', 'crun']);

export function podTruth(records: readonly KernelRecord[], w: Workload): PodTruth {
  const podPids = new Set(records.filter((r) => r.exe === w.busybox).map((r) => r.pid));
  const mainPids = new Set(records.filter((r) => RUNTIME_INIT_COMMS.has(r.comm) && podPids.has(r.pid)).map((r) => r.pid));
  const t: PodTruth = { main: 0, children: 0, runtimeInit: 0, total: 0, syscalls: new Set(), counts: new Map() };
  for (const r of records) {
    if (!podPids.has(r.pid)) continue;
    if (RUNTIME_INIT_COMMS.has(r.comm)) t.runtimeInit++;
    else if (mainPids.has(r.pid)) t.main++;
    else if (r.exe === w.busybox) t.children++;
    else continue;
    t.total++;
    t.syscalls.add(r.syscallNr);
    t.counts.set(r.syscallNr, (t.counts.get(r.syscallNr) ?? 0) + 1);
  }
  return t;
}
