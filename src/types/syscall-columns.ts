import type { SyscallDelta } from './flush-batch.js';
import { SECCOMP_ACTIONS } from './seccomp-record.js';
import { grown } from './typed-arrays.js';

/**
 * A batch's syscall rows (one per changed key) in columns: what the aggregate hands over, what
 * crosses to the committing thread (the typed arrays' buffers are transferred, not copied), and
 * what the store's commit loop reads. A 30-day ingest carries a million and more rows; as
 * objects each cost an allocation, two boxed times and a structured clone on either side of the
 * thread boundary, which was a quarter of the reading thread's time and most of its garbage.
 */
export interface SyscallColumns {
  length: number;
  /** the distinct workload keys, in the order the rows first name them */
  workloadKeys: string[];
  /** per row: index into workloadKeys; rows come grouped by workload */
  workload: Int32Array;
  auditArch: Uint32Array;
  /** the number as logged (x32 keeps bit 0x40000000) */
  syscallNr: Int32Array;
  /** index into SECCOMP_ACTIONS */
  action: Uint8Array;
  /** 0: no hint, 1: seen before, 2: new to the aggregate (SyscallDelta.isNew) */
  isNew: Uint8Array;
  /** count, firstSeen, lastSeen per row, interleaved */
  numbers: Float64Array;
  /** the distinct sample comms and exes: a process's new keys share one pair */
  strings: string[];
  /** per row: index into strings, -1 for none (a key's later rows carry no sample) */
  comm: Int32Array;
  exe: Int32Array;
}

export const IS_NEW_UNSET = 0;
export const IS_NEW_FALSE = 1;
export const IS_NEW_TRUE = 2;

/** Fills SyscallColumns row by row, growing its arrays as it goes. */
export class SyscallColumnsBuilder {
  #cap: number;
  #n = 0;
  #workloadKeys: string[] = [];
  #current = -1;
  #workload: Int32Array;
  #auditArch: Uint32Array;
  #syscallNr: Int32Array;
  #action: Uint8Array;
  #isNew: Uint8Array;
  #numbers: Float64Array;
  #strings: string[] = [];
  readonly #stringIndex = new Map<string, number>();
  #comm: Int32Array;
  #exe: Int32Array;

  constructor(capacity = 1024) {
    this.#cap = Math.max(16, capacity);
    this.#workload = new Int32Array(this.#cap);
    this.#auditArch = new Uint32Array(this.#cap);
    this.#syscallNr = new Int32Array(this.#cap);
    this.#action = new Uint8Array(this.#cap);
    this.#isNew = new Uint8Array(this.#cap);
    this.#numbers = new Float64Array(this.#cap * 3);
    this.#comm = new Int32Array(this.#cap);
    this.#exe = new Int32Array(this.#cap);
  }

  get length(): number {
    return this.#n;
  }

  /** The rows pushed next belong to this workload. */
  workload(key: string): void {
    this.#current = this.#workloadKeys.push(key) - 1;
  }

  push(auditArch: number, syscallNr: number, actionIndex: number, count: number, firstSeen: number, lastSeen: number, comm: string | null, exe: string | null, isNew: number): void {
    const i = this.#n;
    if (i === this.#cap) this.#grow();
    this.#workload[i] = this.#current;
    this.#auditArch[i] = auditArch;
    this.#syscallNr[i] = syscallNr;
    this.#action[i] = actionIndex;
    this.#isNew[i] = isNew;
    this.#numbers[3 * i] = count;
    this.#numbers[3 * i + 1] = firstSeen;
    this.#numbers[3 * i + 2] = lastSeen;
    this.#comm[i] = this.#indexOf(comm);
    this.#exe[i] = this.#indexOf(exe);
    this.#n = i + 1;
  }

  /**
   * The columns, in arrays of their own (their buffers may be transferred). Sized right (the
   * aggregate knows its row count) the builder's arrays are handed over as they are: copying a
   * 131 072-row batch's 6 MB only to free the originals left the malloc arenas of a 30-day
   * ingest tens of MB larger. The builder is done with then.
   */
  finish(): SyscallColumns {
    const n = this.#n;
    const fit = <T extends Int32Array | Uint32Array | Uint8Array | Float64Array>(a: T, length: number): T => (a.length === length ? a : a.slice(0, length) as T);
    return {
      length: n, workloadKeys: this.#workloadKeys, workload: fit(this.#workload, n), auditArch: fit(this.#auditArch, n),
      syscallNr: fit(this.#syscallNr, n), action: fit(this.#action, n), isNew: fit(this.#isNew, n),
      numbers: fit(this.#numbers, 3 * n), strings: this.#strings, comm: fit(this.#comm, n), exe: fit(this.#exe, n),
    };
  }

  #indexOf(text: string | null): number {
    if (text === null) return -1;
    let k = this.#stringIndex.get(text);
    if (k === undefined) {
      k = this.#strings.push(text) - 1;
      this.#stringIndex.set(text, k);
    }
    return k;
  }

  #grow(): void {
    const cap = this.#cap * 2;
    this.#workload = grown(this.#workload, cap);
    this.#auditArch = grown(this.#auditArch, cap);
    this.#syscallNr = grown(this.#syscallNr, cap);
    this.#action = grown(this.#action, cap);
    this.#isNew = grown(this.#isNew, cap);
    this.#numbers = grown(this.#numbers, cap * 3);
    this.#comm = grown(this.#comm, cap);
    this.#exe = grown(this.#exe, cap);
    this.#cap = cap;
  }
}

/** The buffers to pass in postMessage's transfer list. */
export function columnBuffers(c: SyscallColumns): ArrayBuffer[] {
  return [c.workload.buffer, c.auditArch.buffer, c.syscallNr.buffer, c.action.buffer, c.isNew.buffer, c.numbers.buffer, c.comm.buffer, c.exe.buffer] as ArrayBuffer[];
}

/** Records and the time they span, over every row. */
export function columnRecords(c: SyscallColumns): { count: number; from: number; to: number } {
  let count = 0, from = Infinity, to = -Infinity;
  for (let i = 0; i < c.length; i++) {
    count += c.numbers[3 * i]!;
    from = Math.min(from, c.numbers[3 * i + 1]!);
    to = Math.max(to, c.numbers[3 * i + 2]!);
  }
  return { count, from, to };
}

const ACTION_INDEX = new Map<string, number>(SECCOMP_ACTIONS.map((a, i) => [a, i]));

/** Rows as objects (SyscallDelta) in columns; they come grouped by workload. */
export function columnsOf(rows: readonly SyscallDelta[]): SyscallColumns {
  const b = new SyscallColumnsBuilder(rows.length);
  let last: string | null = null;
  for (const s of rows) {
    if (s.workload !== last) b.workload(last = s.workload);
    const action = ACTION_INDEX.get(s.action);
    if (action === undefined) throw new RangeError(`unknown seccomp action ${JSON.stringify(s.action)}`);
    b.push(s.auditArch, s.syscallNr, action, s.count, s.firstSeen, s.lastSeen, s.comm, s.exe, s.isNew === undefined ? IS_NEW_UNSET : s.isNew ? IS_NEW_TRUE : IS_NEW_FALSE);
  }
  return b.finish();
}

/** The rows of columns as objects, row for row. */
export function rowsOf(c: SyscallColumns): SyscallDelta[] {
  const rows = new Array<SyscallDelta>(c.length);
  for (let i = 0; i < c.length; i++) {
    const row: SyscallDelta = {
      workload: c.workloadKeys[c.workload[i]!]!, auditArch: c.auditArch[i]!, syscallNr: c.syscallNr[i]!, action: SECCOMP_ACTIONS[c.action[i]!]!,
      count: c.numbers[3 * i]!, firstSeen: c.numbers[3 * i + 1]!, lastSeen: c.numbers[3 * i + 2]!,
      comm: c.comm[i]! < 0 ? null : c.strings[c.comm[i]!]!, exe: c.exe[i]! < 0 ? null : c.strings[c.exe[i]!]!,
    };
    if (c.isNew[i] !== IS_NEW_UNSET) row.isNew = c.isNew[i] === IS_NEW_TRUE;
    rows[i] = row;
  }
  return rows;
}
