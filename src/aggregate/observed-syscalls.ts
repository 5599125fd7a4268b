import type { SeccompAction } from '../types/seccomp-record.js';

/**
 * Per-workload syscall sets kept in memory: (workload key, audit arch, syscall nr, action) →
 * count. A record whose key was seen before costs one Map lookup and an increment; only a new key
 * allocates, and is reported to `onNew` (the store will flush those in batches).
 */
export interface ObservedKey {
  workload: string;
  auditArch: number;
  syscallNr: number;
  action: SeccompAction;
  count: number;
  firstSeen: number;
  lastSeen: number;
}

export class ObservedSyscalls {
  readonly #byWorkload = new Map<string, Map<number, ObservedKey>>();
  readonly #onNew: (key: ObservedKey) => void;
  size = 0;

  constructor(options: { onNew?: (key: ObservedKey) => void } = {}) {
    this.#onNew = options.onNew ?? (() => {});
  }

  add(workload: string, auditArch: number, syscallNr: number, action: SeccompAction, time: number): void {
    let keys = this.#byWorkload.get(workload);
    if (keys === undefined) {
      keys = new Map();
      this.#byWorkload.set(workload, keys);
    }
    // one number per (arch, nr, action): archs and actions are few, so each becomes a small index
    const k = (archIndex(auditArch) * 16 + ACTIONS.indexOf(action)) * 0x100000000 + (syscallNr >>> 0);
    const found = keys.get(k);
    if (found !== undefined) {
      found.count++;
      if (time > found.lastSeen) found.lastSeen = time;
      return;
    }
    const key: ObservedKey = { workload, auditArch, syscallNr, action, count: 1, firstSeen: time, lastSeen: time };
    keys.set(k, key);
    this.size++;
    this.#onNew(key);
  }

  *entries(): IterableIterator<ObservedKey> {
    for (const keys of this.#byWorkload.values()) yield* keys.values();
  }
}

const ACTIONS: SeccompAction[] = ['log', 'errno', 'kill_process', 'kill_thread', 'trap', 'user_notif', 'trace', 'allow', 'unknown'];
const ARCHES: number[] = [];
function archIndex(auditArch: number): number {
  let i = ARCHES.indexOf(auditArch);
  if (i < 0) { ARCHES.push(auditArch); i = ARCHES.length - 1; }
  return i;
}
