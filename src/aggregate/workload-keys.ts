import { IS_NEW_FALSE, IS_NEW_TRUE, type SyscallColumnsBuilder } from '../types/syscall-columns.js';
import { grown } from '../types/typed-arrays.js';

/** per slot in the arena's nums: its count since the last batch (> 0: listed in the arena's dirty), first and last time */
const NUMS = 3;
/** per slot in the arena's cold: its key (folded), audit arch, number, flags (action, FLUSHED, sample) */
const COLD = 4;
/** the key's first row went to the store: its sample comm and exe are not sent again */
const FLUSHED = 16;
const ACTION_MASK = 15;
/** flags >> SAMPLE_SHIFT: a new key's sample in #samples, until its first row is taken */
const SAMPLE_SHIFT = 5;
/**
 * Slots a workload starts with: a container makes 50 to 150 keys, and each doubling from fewer
 * allocates and copies its arrays again (a third of the aggregate's time in a 30-day ingest
 * where 10 000 containers came and went).
 */
const INITIAL_SLOTS = 64;
/** Syscall numbers below this fold into a small-integer key: every table's, ARM's private 0x0f0000 range too. */
const SMALL_NR = 1 << 20;
const HI_LIMIT = 1 << 10;
/** Numbers of every 64- and 32-bit table of the common arches (x86_64, i386, arm64, arm, riscv) stay below this. */
const DIRECT_NR = 1024;
/** (arch index, action index) pairs with a direct table: the first four arches a node's records show */
const DIRECT_HI = 64;

/**
 * The hot half of an aggregate's workloads' keys, in two arrays for them all: the direct tables
 * (a page of DIRECT_NR per (arch, action) a workload uses) and the counters (NUMS per slot, in
 * blocks of a power of two slots). Arrays of each workload's own cost two cache misses a lookup,
 * the array's header and then its element, and records of a node's processes interleave, so the
 * last workload's lines are seldom at hand; these two arrays' headers stay at hand. Pages and
 * blocks an evicted workload gives up are used again; the arrays grow by doubling and do not
 * shrink (they hold what the busiest stretch's active workloads needed). A block's slots also
 * have their cold half (`cold`: what only a new key and a batch read) and their list of counted
 * slots (`dirty`) at the same slot offset in arrays of their own: as arrays of each workload's,
 * tens of thousands of small buffers of workloads long evicted waited in malloc for V8's next full
 * collection (40 MB of the 30-day ingest's attributing thread, growing with the run).
 */
export class KeyArena {
  /** slot + 1 (0: none) by syscall number, DIRECT_NR a page */
  tables = new Int32Array(64 * DIRECT_NR);
  /** NUMS per slot, at (block's first slot + slot) * NUMS */
  nums = new Float64Array(64 * INITIAL_SLOTS * NUMS);
  /** COLD per slot, at (block's first slot + slot) * COLD */
  cold = new Float64Array(64 * INITIAL_SLOTS * COLD);
  /** one per slot, at block's first slot + i */
  dirty = new Int32Array(64 * INITIAL_SLOTS);
  #pagesUsed = 0;
  readonly #freePages: number[] = [];
  /** slots handed out from the start of the arrays */
  #slotsUsed = 0;
  /** free blocks (their first slots) by size class: INITIAL_SLOTS << class slots */
  readonly #freeBlocks: number[][] = [];
  #blocks = 0;

  /** Pages and blocks in use, for tests. */
  get used(): { pages: number; blocks: number } {
    return { pages: this.#pagesUsed - this.#freePages.length, blocks: this.#blocks };
  }

  /** The offset of a zeroed page in `tables`. */
  allocPage(): number {
    const reused = this.#freePages.pop();
    if (reused !== undefined) return reused;
    const base = this.#pagesUsed++ * DIRECT_NR;
    if (base + DIRECT_NR > this.tables.length) this.tables = grown(this.tables, this.tables.length * 2);
    return base;
  }

  freePage(base: number): void {
    this.tables.fill(0, base, base + DIRECT_NR);
    this.#freePages.push(base);
  }

  /** The first slot of a block of `slots` (INITIAL_SLOTS times a power of two); its content is not cleared. */
  allocBlock(slots: number): number {
    this.#blocks++;
    const reused = this.#freeBlocks[sizeClass(slots)]?.pop();
    if (reused !== undefined) return reused;
    const first = this.#slotsUsed;
    this.#slotsUsed += slots;
    if (this.#slotsUsed > this.dirty.length) {
      let length = this.dirty.length * 2;
      while (length < this.#slotsUsed) length *= 2;
      this.nums = grown(this.nums, length * NUMS);
      this.cold = grown(this.cold, length * COLD);
      this.dirty = grown(this.dirty, length);
    }
    return first;
  }

  freeBlock(first: number, slots: number): void {
    this.#blocks--;
    (this.#freeBlocks[sizeClass(slots)] ??= []).push(first);
  }
}

function sizeClass(slots: number): number {
  return Math.clz32(INITIAL_SLOTS) - Math.clz32(slots);
}

/**
 * One workload's (arch, syscall, action) keys and their counters since the last batch. A key is
 * folded into one number, a V8 small integer for every number the tables hold (so a lookup
 * neither allocates nor hashes a heap number), and owns a slot: counting a record is a load from
 * its direct table and three writes to one cache line of counters, both in the aggregate's
 * KeyArena, and a key costs ~80 bytes, not an object.
 */
export class WorkloadKeys {
  readonly #arena: KeyArena;
  /** slots of the keys outside the direct tables (the direct tables hold the rest) */
  readonly #slots = new Map<number, number>();
  /** slots in use */
  #n = 0;
  /**
   * The arena page of each (arch, action) the workload has used: slot + 1 (0: none) by syscall
   * number. Counting a record is an array load instead of hashing into a Map, which on a node's
   * thousands of containers was a cache miss or three per record (a quarter of a 30-day
   * ingest's parse-to-aggregate time). A container uses one arch and one or two actions: 4 KiB
   * a page, for the workloads active now (idle ones give their counters up).
   */
  readonly #direct: (number | undefined)[] = [];
  /** the page used last (-1: none): a workload's records are mostly of one arch and action */
  #tableHi = -1;
  #tableBase = 0;
  #cap = INITIAL_SLOTS;
  /**
   * The block's first slot in the arena: its counters from #first * NUMS (a record's three side
   * by side, one cache line), its cold half from #first * COLD, its dirty list from #first.
   */
  #first: number;
  /**
   * Sample comm and exe pairs of the new keys since the last batch (comm at 2i, exe at 2i + 1).
   * A process makes its new keys in a run, so a pair serves many keys: a slot names its pair in
   * its flags instead of holding two strings, which kept two arrays the length of every held
   * workload's keys alive, mostly nulls, for the promotions they cost.
   */
  #samples: (string | null)[] | null = null;
  /** slots counted since the last batch (in the arena's dirty): each is listed once, so they fit in #cap */
  #dirtyCount = 0;
  /** the key of the last slotOf(), for the add() that follows a miss */
  #key = 0;
  /** keys of an earlier life (before eviction), sorted: seen before, so not new */
  #known: Float64Array | null = null;

  get size(): number {
    return this.#n + (this.#known === null ? 0 : this.#known.length - this.#knownRevived);
  }

  #knownRevived = 0;

  constructor(arena: KeyArena) {
    this.#arena = arena;
    this.#first = arena.allocBlock(INITIAL_SLOTS);
  }

  /** keys counted since the last takeDeltas(): the rows the next batch carries */
  get pending(): number {
    return this.#dirtyCount;
  }

  /** Keys an evicted workload had: they come back as seen (no announcement, no sample). */
  restore(known: Float64Array): void {
    this.#known = known;
  }

  /** The slot of a key, or -1 (then add() or wasKnown() apply to it). */
  slotOf(archIndex: number, actionIndex: number, nr: number): number {
    const hi = archIndex * 16 + actionIndex;
    if (nr >= 0 && nr < DIRECT_NR && hi < DIRECT_HI) {
      let base = this.#tableBase;
      if (hi !== this.#tableHi) {
        const found = this.#direct[hi];
        if (found === undefined) {
          this.#key = hi * SMALL_NR + nr;
          return -1;
        }
        base = this.#tableBase = found;
        this.#tableHi = hi;
      }
      const slot = this.#arena.tables[base + nr]! - 1;
      if (slot < 0) this.#key = hi * SMALL_NR + nr;
      return slot;
    }
    const key = nr >= 0 && nr < SMALL_NR && hi < HI_LIMIT ? hi * SMALL_NR + nr
      // the rare rest (x32's bit 30, a missing number) as a negative double, apart from the above
      : -1 - (hi * 4294967296 + (nr >>> 0));
    this.#key = key;
    const slot = this.#slots.get(key);
    return slot === undefined ? -1 : slot;
  }

  /** Whether the key of the last missed slotOf() was made before this workload was evicted. */
  wasKnown(): boolean {
    const known = this.#known;
    if (known === null) return false;
    const key = this.#key;
    let lo = 0, hi = known.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      const v = known[mid]!;
      if (v === key) {
        this.#knownRevived++;
        return true;
      }
      if (v < key) lo = mid + 1;
      else hi = mid - 1;
    }
    return false;
  }

  /**
   * Counts a record of the key in `slot`; returns the offset of its counters in the arena's nums,
   * whose first and last times (at +1 and +2) the caller moves: the record's time is not passed
   * around, so that it stays a double in SyscallAggregate.add() (see there).
   */
  count(slot: number): number {
    const i = (this.#first + slot) * NUMS;
    if (this.#arena.nums[i]++ === 0) this.#markDirty(slot);
    return i;
  }

  /** A slot for the key of the last missed slotOf(), counting its first record. */
  add(auditArch: number, actionIndex: number, nr: number, time: number, comm: string | null, exe: string | null, seenBefore: boolean): void {
    const slot = this.#n++;
    if (slot === this.#cap) this.#grow();
    // where slotOf() looks for it
    const hi = this.#key >= 0 && nr < DIRECT_NR ? Math.floor(this.#key / SMALL_NR) : DIRECT_HI;
    if (hi < DIRECT_HI) {
      // the page first: making one may grow the arena's tables
      const page = this.#direct[hi] ??= this.#arena.allocPage();
      this.#arena.tables[page + nr] = slot + 1;
    }
    else this.#slots.set(this.#key, slot);
    const cold = this.#arena.cold;
    const c = (this.#first + slot) * COLD;
    cold[c] = this.#key;
    cold[c + 1] = auditArch;
    cold[c + 2] = nr;
    cold[c + 3] = seenBefore ? actionIndex | FLUSHED : actionIndex | (this.#sampleOf(comm, exe) << SAMPLE_SHIFT);
    const nums = this.#arena.nums;
    const i = (this.#first + slot) * NUMS;
    nums[i] = 0;
    nums[i + 1] = time;
    nums[i + 2] = time;
    this.count(slot);
  }

  /** Adds the pending deltas per action (indexed like SECCOMP_ACTIONS). */
  addActionCounts(counts: Float64Array): void {
    const { nums, cold, dirty } = this.#arena;
    for (let i = 0; i < this.#dirtyCount; i++) {
      const slot = dirty[this.#first + i]!;
      counts[cold[(this.#first + slot) * COLD + 3]! & ACTION_MASK] += nums[(this.#first + slot) * NUMS]!;
    }
  }

  /** One row per key counted since the last call; the deltas go to `actions` and start again. */
  takeDeltas(workload: string, rows: SyscallColumnsBuilder, actions: Float64Array): void {
    if (this.#dirtyCount === 0) return;
    rows.workload(workload);
    const { nums, cold, dirty } = this.#arena;
    for (let i = 0; i < this.#dirtyCount; i++) {
      const slot = dirty[this.#first + i]!;
      const c = (this.#first + slot) * COLD;
      const flags = cold[c + 3]!;
      const flushed = (flags & FLUSHED) !== 0;
      const action = flags & ACTION_MASK;
      const sample = (flags >> SAMPLE_SHIFT) * 2;
      const at = (this.#first + slot) * NUMS;
      const count = nums[at]!;
      rows.push(cold[c + 1]!, cold[c + 2]!, action, count, nums[at + 1]!, nums[at + 2]!,
        flushed ? null : this.#samples![sample]!, flushed ? null : this.#samples![sample + 1]!, flushed ? IS_NEW_FALSE : IS_NEW_TRUE);
      actions[action] += count;
      nums[at] = 0;
      cold[c + 3] = action | FLUSHED;
    }
    this.#dirtyCount = 0;
    this.#samples = null;
  }

  /** Every key ever seen, sorted: what an evicted workload keeps. Call with nothing pending. */
  knownKeys(): Float64Array {
    const n = this.#n;
    const known = this.#known;
    const out = new Float64Array(n + (known === null ? 0 : known.length));
    const cold = this.#arena.cold;
    for (let i = 0; i < n; i++) out[i] = cold[(this.#first + i) * COLD]!;
    let size = n;
    if (known !== null) {
      // revived keys are in both
      out.set(known, n);
      size = n + known.length;
    }
    const sorted = out.subarray(0, size).sort();
    let w = 0;
    for (let i = 0; i < size; i++) if (i === 0 || sorted[i] !== sorted[i - 1]) sorted[w++] = sorted[i]!;
    return sorted.slice(0, w);
  }

  /** Gives its pages and counters back to the arena (the workload is evicted or forgotten): not to be used after. */
  release(): void {
    for (const base of this.#direct) if (base !== undefined) this.#arena.freePage(base);
    this.#direct.length = 0;
    this.#tableHi = -1;
    this.#arena.freeBlock(this.#first, this.#cap);
    this.#first = -1;
  }

  /** The index of the pair (comm, exe) in #samples: the last one when it is the same strings. */
  #sampleOf(comm: string | null, exe: string | null): number {
    const samples = this.#samples ??= [];
    const n = samples.length;
    if (n > 0 && samples[n - 2] === comm && samples[n - 1] === exe) return n / 2 - 1;
    samples.push(comm, exe);
    return n / 2;
  }

  #markDirty(slot: number): void {
    this.#arena.dirty[this.#first + this.#dirtyCount++] = slot;
  }

  #grow(): void {
    const cap = this.#cap * 2;
    const arena = this.#arena;
    // after allocBlock: it may have replaced the arena's arrays
    const first = arena.allocBlock(cap);
    arena.nums.copyWithin(first * NUMS, this.#first * NUMS, (this.#first + this.#cap) * NUMS);
    arena.cold.copyWithin(first * COLD, this.#first * COLD, (this.#first + this.#cap) * COLD);
    arena.dirty.copyWithin(first, this.#first, this.#first + this.#dirtyCount);
    arena.freeBlock(this.#first, this.#cap);
    this.#first = first;
    this.#cap = cap;
  }
}
