import { syscallNumber } from '../syscalls/syscall-table.js';

/**
 * The canary: the one syscall a daemon thread logs on purpose to prove the audit channel (see
 * the addon's canary()). getppid: harmless, and no other thread of the daemon calls it. Null on
 * an architecture the addon's filter does not know.
 */
export function canarySyscallNr(): number | null {
  const arch = process.arch === 'arm64' ? 'aarch64' : process.arch === 'x64' ? 'x86_64' : null;
  return arch === null ? null : syscallNumber(arch, 'getppid');
}

/** ` pid=<ours> comm="sa-canary"`: this process's canary record, told apart from everyone else's (other daemons' too). */
export function canaryNeedle(): Buffer {
  return Buffer.from(` pid=${process.pid} comm="sa-canary"`);
}
