/**
 * Derives a runtime's baseline: the syscalls its init process makes after it loaded the
 * container's seccomp filter and before it exec'd the workload. A profile learned where those
 * records were not seen (another runtime, another node's logs) needs them, or the container
 * never starts. Derived from real runs: `/bin/true` under a log-everything profile, the kernel's
 * records of the init process (comm `runc:[2:INIT]` or `crun`) counted per name.
 */
import { spawnSync } from 'node:child_process';
import { syscallName } from '../../../src/syscalls/syscall-table.js';
import { kernelRecords, RUNTIME_INIT_COMMS } from './kernel-truth.js';
import { recordAudit } from '../../helpers/audit-recorder.js';
import type { KubeletNode } from './kubelet-node.js';
import type { OciRuntime, RuntimeName } from './oci-runtime.js';
import { LOG_ALL, newId } from './scenario.js';

const X86_64 = 0xc000003e;

export interface DerivedBaseline {
  runtime: RuntimeName;
  /** `runc --version`'s first line */
  version: string;
  arch: string;
  runs: number;
  /** name → in how many runs the init made it */
  syscalls: Record<string, number>;
}

export async function deriveBaseline(runtime: OciRuntime, node: KubeletNode, runs: number): Promise<DerivedBaseline> {
  const seen = new Map<string, number>();
  let clean = 0;
  for (let attempt = 0; clean < runs && attempt < runs * 2; attempt++) {
    const c = node.addContainer({ namespace: 'baseline', pod: `${runtime.name}-probe`, container: 'true', driver: 'cgroupfs' });
    const recorded = await recordAudit(async () => {
      const r = await runtime.run({ id: newId(`${runtime.name}-baseline`), cgroupsPath: c.cgroupsPath, args: ['/bin/true'], seccomp: LOG_ALL });
      if (r.code !== 0) throw new Error(`${runtime.name} could not run /bin/true: ${r.stderr}`);
    });
    // a run whose records the kernel dropped before they were read proves nothing
    if (recorded.lost > 0) continue;
    const records = kernelRecords(recorded.records);
    const workloadPids = new Set(records.filter((r) => r.exe === '/bin/busybox').map((r) => r.pid));
    const names = new Set<string>();
    for (const r of records) {
      if (RUNTIME_INIT_COMMS.has(r.comm) && workloadPids.has(r.pid)) names.add(syscallName(X86_64, r.syscallNr) ?? String(r.syscallNr));
    }
    if (names.size === 0) continue;
    for (const n of names) seen.set(n, (seen.get(n) ?? 0) + 1);
    clean++;
  }
  const version = spawnSync(runtime.bin, ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0]!.trim();
  return {
    runtime: runtime.name, version, arch: 'x86_64', runs: clean,
    syscalls: Object.fromEntries([...seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
  };
}
