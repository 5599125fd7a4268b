import { realKernelUnavailable, type TestLike } from '../../helpers/real-kernel.js';
import { runtimeUnavailable, type RuntimeName } from './oci-runtime.js';

/**
 * Guards an end-to-end test: root, /dev/kmsg, seccomp's log action, no auditd (unless the test
 * runs its own), and the runtimes' Debian packages. Skips naming what is missing; with
 * SECCOMP_AUDITOR_REQUIRE_KERNEL=1 (CI) a missing piece fails the test instead.
 */
export function requireEndToEnd(t: TestLike, runtimes: RuntimeName[] = ['runc']): boolean {
  const reason = realKernelUnavailable({ seccomp: true }) ?? runtimeUnavailable(runtimes);
  if (reason === null) return true;
  if (process.env['SECCOMP_AUDITOR_REQUIRE_KERNEL'] === '1') {
    t.fail(`end-to-end test cannot run, but SECCOMP_AUDITOR_REQUIRE_KERNEL=1: ${reason}`);
  } else {
    t.plan(0, `needs a real kernel and an OCI runtime: ${reason}`);
  }
  return false;
}
