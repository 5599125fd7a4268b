import type { Test } from 'tap';
import { makeTempDir } from '../../helpers/real-kernel.js';
import { KubeletNode } from './kubelet-node.js';
import { OciRuntime } from './oci-runtime.js';

/** Both runtimes and a kubelet-style node, each cleaned up with the test: the scenarios that compare them. */
export function crunAndRunc(t: Test): { crun: OciRuntime; runc: OciRuntime; node: KubeletNode } {
  const crun = new OciRuntime('crun');
  t.teardown(() => crun.cleanup());
  const runc = new OciRuntime('runc');
  t.teardown(() => runc.cleanup());
  const node = new KubeletNode(makeTempDir('sa-e2e-logs-'));
  t.teardown(() => node.cleanup());
  return { crun, runc, node };
}
