import type { FlushBatch, SyscallDelta } from '../types/flush-batch.js';
import { SECCOMP_ACTIONS, type SeccompAction } from '../types/seccomp-record.js';

/**
 * A FlushBatch as it crosses from the thread that reads records to the thread that commits them.
 *
 * Its syscall rows (one per changed key: a million in a 30-day ingest) travel as columns in
 * typed arrays whose buffers are transferred, not copied: structured cloning them as objects
 * cost the sending thread ~1.3 us a row (2 s of a 30-day ingest) and the receiving one as
 * much again. The rest of a batch (workloads, executables, losses, positions) is a few rows per
 * container and is cloned as it is.
 */
export interface PackedBatch {
  rest: Omit<FlushBatch, 'syscalls'>;
  /** the distinct workload keys of the rows, in the order the rows first name them */
  workloadKeys: string[];
  /** per row: index into workloadKeys */
  workload: Int32Array;
  auditArch: Uint32Array;
  syscallNr: Int32Array;
  /** index into SECCOMP_ACTIONS */
  action: Uint8Array;
  /** bit 0: isNew present, bit 1: its value */
  isNew: Uint8Array;
  /** count, firstSeen, lastSeen per row, interleaved */
  numbers: Float64Array;
  /** the distinct sample comms and exes: a process's new keys share one pair */
  strings: string[];
  /** per row: index into strings, -1 for null (a key's later rows carry no sample) */
  comm: Int32Array;
  exe: Int32Array;
}

const ACTION_INDEX = new Map<SeccompAction, number>(SECCOMP_ACTIONS.map((a, i) => [a, i]));

/** The batch in columns, and the buffers to pass as postMessage's transfer list. */
export function packBatch(batch: FlushBatch): { packed: PackedBatch; transfer: ArrayBuffer[] } {
  const { syscalls, ...rest } = batch;
  const n = syscalls.length;
  const workloadKeys: string[] = [];
  const workload = new Int32Array(n);
  const auditArch = new Uint32Array(n);
  const syscallNr = new Int32Array(n);
  const action = new Uint8Array(n);
  const isNew = new Uint8Array(n);
  const numbers = new Float64Array(n * 3);
  const comm = new Int32Array(n);
  const exe = new Int32Array(n);
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const indexOf = (text: string | null): number => {
    if (text === null) return -1;
    let k = stringIndex.get(text);
    if (k === undefined) {
      k = strings.push(text) - 1;
      stringIndex.set(text, k);
    }
    return k;
  };
  // rows come grouped by workload: the last key at hand saves a Map lookup per row
  const keyIndex = new Map<string, number>();
  let lastKey: string | null = null;
  let lastIndex = -1;
  for (let i = 0; i < n; i++) {
    const s = syscalls[i]!;
    if (s.workload !== lastKey) {
      lastKey = s.workload;
      let k = keyIndex.get(lastKey);
      if (k === undefined) {
        k = workloadKeys.push(lastKey) - 1;
        keyIndex.set(lastKey, k);
      }
      lastIndex = k;
    }
    workload[i] = lastIndex;
    auditArch[i] = s.auditArch;
    syscallNr[i] = s.syscallNr;
    const a = ACTION_INDEX.get(s.action);
    if (a === undefined) throw new RangeError(`unknown seccomp action ${JSON.stringify(s.action)}`);
    action[i] = a;
    isNew[i] = s.isNew === undefined ? 0 : s.isNew ? 3 : 1;
    numbers[3 * i] = s.count;
    numbers[3 * i + 1] = s.firstSeen;
    numbers[3 * i + 2] = s.lastSeen;
    comm[i] = indexOf(s.comm);
    exe[i] = indexOf(s.exe);
  }
  const packed: PackedBatch = { rest, workloadKeys, workload, auditArch, syscallNr, action, isNew, numbers, strings, comm, exe };
  return { packed, transfer: [workload.buffer, auditArch.buffer, syscallNr.buffer, action.buffer, isNew.buffer, numbers.buffer, comm.buffer, exe.buffer] as ArrayBuffer[] };
}

/** The FlushBatch a packed one stands for, row for row. */
export function unpackBatch(p: PackedBatch): FlushBatch {
  const n = p.workload.length;
  const syscalls: SyscallDelta[] = new Array<SyscallDelta>(n);
  for (let i = 0; i < n; i++) {
    const flag = p.isNew[i]!;
    const row: SyscallDelta = {
      workload: p.workloadKeys[p.workload[i]!]!, auditArch: p.auditArch[i]!, syscallNr: p.syscallNr[i]!, action: SECCOMP_ACTIONS[p.action[i]!]!,
      count: p.numbers[3 * i]!, firstSeen: p.numbers[3 * i + 1]!, lastSeen: p.numbers[3 * i + 2]!, comm: p.comm[i]! < 0 ? null : p.strings[p.comm[i]!]!, exe: p.exe[i]! < 0 ? null : p.strings[p.exe[i]!]!,
    };
    if (flag !== 0) row.isNew = flag === 3;
    syscalls[i] = row;
  }
  return { ...p.rest, syscalls };
}
