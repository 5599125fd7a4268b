/**
 * `npm run derive:baselines` (root, /dev/kmsg, runc and crun installed): runs each runtime
 * many times and writes what its init does after loading the filter to
 * syscall-tables/baselines/runtimes.json, the data behind the profiles' `baseline` option.
 * test/e2e/runtime-baselines.test.ts re-derives it on every test run and compares.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir, realKernelUnavailable, withStockPrintkRatelimit } from '../helpers/real-kernel.js';
import { REPO_ROOT } from '../helpers/paths.js';
import { KubeletNode } from './harness/kubelet-node.js';
import { OciRuntime, runtimeUnavailable, type RuntimeName } from './harness/oci-runtime.js';
import { deriveBaseline, type DerivedBaseline } from './harness/runtime-baseline.js';

const RUNS = Number(process.argv[2] ?? 120);
const missing = realKernelUnavailable() ?? runtimeUnavailable(['runc', 'crun']);
if (missing !== null) {
  process.stderr.write(`derive-baselines: cannot run here: ${missing}\n`);
  process.exit(1);
}
const out: Record<string, Omit<DerivedBaseline, 'runtime'>> = {};
await withStockPrintkRatelimit(async () => {
  for (const name of ['runc', 'crun'] as RuntimeName[]) {
    const runtime = new OciRuntime(name);
    const node = new KubeletNode(makeTempDir('sa-derive-logs-'));
    try {
      const { runtime: _, ...derived } = await deriveBaseline(runtime, node, RUNS);
      out[name] = derived;
      process.stderr.write(`${name}: ${derived.runs} runs, ${Object.keys(derived.syscalls).length} syscalls\n`);
    } finally {
      runtime.cleanup();
      node.cleanup();
    }
  }
});
const file = join(REPO_ROOT, 'syscall-tables', 'baselines', 'runtimes.json');
writeFileSync(file, `${JSON.stringify({
  about: 'Syscalls each OCI runtime\'s init process makes after it loaded the container\'s seccomp filter and before it execs the workload, '
    + 'with the number of runs (of `runs`) each was seen in. Derived from real runs by `npm run derive:baselines` (test/e2e/derive-baselines.ts); '
    + 'test/e2e/runtime-baselines.test.ts re-derives and compares. Used by the profiles\' `baseline` option.',
  runtimes: out,
}, null, 2)}\n`);
process.stderr.write(`wrote ${file}\n`);
