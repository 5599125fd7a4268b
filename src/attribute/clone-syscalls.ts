import { PROCESS_CREATION_SYSCALLS } from '../syscalls/process-creation.js';
import { ARCH_NAMES, auditArchOf, syscallNumber } from '../syscalls/syscall-table.js';

/**
 * Whether a record is a process-creating call (clone, clone3, fork, vfork) on its own arch.
 * Looked up by number per audit arch, built from the tables the first time an arch is seen (a
 * node's records name one or two of the sixteen), so the per-record check is a Map.get and a
 * Set.has with no string work.
 */
const BY_ARCH = new Map<number, Set<number>>();
const NONE: ReadonlySet<number> = new Set();
const KNOWN_AUDIT_ARCHES: ReadonlySet<number> = new Set(ARCH_NAMES.map(auditArchOf));

function numbersOf(auditArch: number): ReadonlySet<number> {
  // an arch= no table knows (any number a line may carry) is neither looked up nor kept
  if (!KNOWN_AUDIT_ARCHES.has(auditArch)) return NONE;
  let set = BY_ARCH.get(auditArch);
  if (set === undefined) {
    set = new Set<number>();
    // x86_64 and x32 share an audit arch, as do some mips ABIs: the set holds all of theirs
    for (const arch of ARCH_NAMES) {
      if (auditArchOf(arch) !== auditArch) continue;
      for (const name of PROCESS_CREATION_SYSCALLS) {
        const nr = syscallNumber(arch, name);
        if (nr !== null) set.add(nr);
      }
    }
    BY_ARCH.set(auditArch, set);
  }
  return set;
}

// Records of one node come in one or two arches: the last arch's set is kept at hand, so the
// per-record check is usually two comparisons and a Set lookup.
let lastArch = -1;
let lastSet: ReadonlySet<number> = NONE;

export function isProcessCreation(auditArch: number, nr: number): boolean {
  if (auditArch !== lastArch) {
    lastArch = auditArch;
    lastSet = numbersOf(auditArch);
  }
  return lastSet.has(nr);
}
