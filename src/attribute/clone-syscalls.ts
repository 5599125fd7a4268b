import { PROCESS_CREATION_SYSCALLS } from '../syscalls/process-creation.js';
import { ARCH_NAMES, auditArchOf, syscallNumber } from '../syscalls/syscall-table.js';

/**
 * Whether a record is a process-creating call (clone, clone3, fork, vfork) on its own arch.
 * Looked up by number per audit arch, built once from the tables, so the per-record check is a
 * Map.get and a Set.has with no string work.
 */
const BY_ARCH = new Map<number, Set<number>>();
for (const arch of ARCH_NAMES) {
  const audit = auditArchOf(arch);
  const set = BY_ARCH.get(audit) ?? new Set<number>();
  for (const name of PROCESS_CREATION_SYSCALLS) {
    const nr = syscallNumber(arch, name);
    if (nr !== null) set.add(nr);
  }
  BY_ARCH.set(audit, set);
}

// Records of one node come in one or two arches: the last arch's set is kept at hand, so the
// per-record check is usually two comparisons and a Set lookup.
let lastArch = -1;
let lastSet: Set<number> | undefined;

export function isProcessCreation(auditArch: number, nr: number): boolean {
  if (auditArch !== lastArch) {
    lastArch = auditArch;
    lastSet = BY_ARCH.get(auditArch);
  }
  return lastSet !== undefined && lastSet.has(nr);
}
