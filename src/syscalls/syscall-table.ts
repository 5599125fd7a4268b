/**
 * Syscall number <-> name, per ABI, from the committed syscall-tables/*.json (generated from the
 * kernel's own .tbl files by syscall-tables/generate.ts). Numbers are those the kernel logs in
 * syscall=, so x32 numbers include 0x40000000 and mips numbers 4000/5000/6000.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ARCH_NAMES, archName, auditArchOf, type ArchName } from './audit-arch.js';

export * from './audit-arch.js';

/**
 * src/syscalls/syscall-table.ts and dist/syscalls/syscall-table.js are both two levels below the
 * package root, so one relative URL serves tsx, tests and the built daemon alike.
 */
const TABLE_DIR = new URL('../../syscall-tables/', import.meta.url);

/**
 * Numbers further apart than this start a new dense segment. Real tables have holes of at most
 * a few dozen numbers; only ARM's private calls (0x0f0001..) sit far away, and a single array
 * reaching them would hold a million empty slots.
 */
const MAX_GAP = 1024;

interface Segment {
  readonly base: number;
  readonly names: ReadonlyArray<string | null>;
}

/** One ABI's table, shaped for lookups by number on the per-record path. */
export interface SyscallTable {
  readonly arch: ArchName;
  readonly auditArch: number;
  readonly kernel: string;
  readonly source: string;
  readonly size: number;
  /** Segment 0 is split out so the common case is one range check and one array index. */
  readonly base: number;
  readonly names: ReadonlyArray<string | null>;
  readonly more: readonly Segment[];
  readonly numbers: ReadonlyMap<string, number>;
}

class TableFileError extends Error {
  constructor(file: string, problem: string) {
    super(
      `syscall table ${file}: ${problem}. The files in syscall-tables/ are generated and committed; ` +
        'regenerate them with `npm run gen:syscalls`.',
    );
    this.name = 'TableFileError';
  }
}

const NAME_RE = /^[A-Za-z0-9_]+$/;
const NUMBER_RE = /^(0|[1-9][0-9]{0,9})$/;

/**
 * Reads and checks one table file. Exported for tests and tools; the module loads each table on
 * its first use, and commands call checkSyscallTables() at start so that a broken install fails
 * there, not on the first odd record.
 */
export function readSyscallTable(file: string | URL, arch: ArchName): SyscallTable {
  const path = typeof file === 'string' ? file : fileURLToPath(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new TableFileError(path, e.code === 'ENOENT' ? 'file is missing' : `cannot be read (${e.message})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new TableFileError(path, `not valid JSON (${(err as Error).message})`);
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new TableFileError(path, 'expected a JSON object');
  }
  const d = data as Record<string, unknown>;
  if (d.abi !== arch) throw new TableFileError(path, `"abi" is ${JSON.stringify(d.abi)}, expected "${arch}"`);
  const auditArch = auditArchOf(arch);
  const auditHex = auditArch.toString(16).padStart(8, '0');
  if (d.auditArch !== auditHex) {
    throw new TableFileError(path, `"auditArch" is ${JSON.stringify(d.auditArch)}, expected "${auditHex}"`);
  }
  if (typeof d.kernel !== 'string' || typeof d.source !== 'string') {
    throw new TableFileError(path, '"kernel" and "source" must be strings');
  }
  const syscalls = d.syscalls;
  if (typeof syscalls !== 'object' || syscalls === null || Array.isArray(syscalls)) {
    throw new TableFileError(path, '"syscalls" must be an object of number -> name');
  }

  const entries: Array<[number, string]> = [];
  const numbers = new Map<string, number>();
  for (const [key, name] of Object.entries(syscalls as Record<string, unknown>)) {
    if (!NUMBER_RE.test(key) || Number(key) > 0xffffffff) {
      throw new TableFileError(path, `key ${JSON.stringify(key)} is not a syscall number`);
    }
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      throw new TableFileError(path, `name for ${key} is ${JSON.stringify(name)}`);
    }
    const nr = Number(key);
    const prev = numbers.get(name);
    if (prev !== undefined) throw new TableFileError(path, `"${name}" is listed twice (${prev} and ${nr})`);
    numbers.set(name, nr);
    entries.push([nr, name]);
  }
  if (entries.length === 0) throw new TableFileError(path, '"syscalls" is empty');
  entries.sort((a, b) => a[0] - b[0]);

  const segments: Segment[] = [];
  let start = 0;
  for (let i = 1; i <= entries.length; i++) {
    if (i < entries.length && entries[i]![0] - entries[i - 1]![0] <= MAX_GAP) continue;
    const base = entries[start]![0];
    const names: Array<string | null> = new Array<string | null>(entries[i - 1]![0] - base + 1).fill(null);
    for (let j = start; j < i; j++) names[entries[j]![0] - base] = entries[j]![1];
    segments.push({ base, names });
    start = i;
  }
  const [first, ...more] = segments as [Segment, ...Segment[]];

  return {
    arch,
    auditArch,
    kernel: d.kernel,
    source: d.source,
    size: entries.length,
    base: first.base,
    names: first.names,
    more,
    numbers,
  };
}

function load(arch: ArchName): SyscallTable {
  return readSyscallTable(new URL(`${arch}.json`, TABLE_DIR), arch);
}

/**
 * Tables are read on first use: each thread that imports this module would otherwise read all
 * sixteen (~10 ms, on the path of every `ingest` start), where a node's records name one or two.
 */
const LOADED = new Map<ArchName, SyscallTable>();
const KNOWN: ReadonlySet<string> = new Set(ARCH_NAMES);

function tableOf(arch: ArchName): SyscallTable {
  let t = LOADED.get(arch);
  if (t === undefined) {
    t = load(arch);
    LOADED.set(arch, t);
  }
  return t;
}

/** Reads every table now: a command calls it at start, so a broken install fails there. */
export function checkSyscallTables(): void {
  for (const arch of ARCH_NAMES) tableOf(arch);
}

function nameIn(t: SyscallTable, nr: number): string | null {
  const i = nr - t.base;
  if (i >= 0 && i < t.names.length) return t.names[i] ?? null;
  for (let s = 0; s < t.more.length; s++) {
    const seg = t.more[s]!;
    const j = nr - seg.base;
    if (j >= 0 && j < seg.names.length) return seg.names[j] ?? null;
  }
  return null;
}

/** The syscall's name, or null when the audit arch or the number is unknown. Allocation-free. */
export function syscallName(auditArch: number, nr: number): string | null {
  const arch = archName(auditArch, nr);
  return arch === null ? null : nameIn(tableOf(arch), nr);
}

/**
 * The number the kernel would log for this name on this ABI (x32 and mips numbers included
 * as logged), or null when the ABI has no such syscall.
 */
export function syscallNumber(arch: ArchName, name: string): number | null {
  // arch may come from input: a Set, not an object, so "__proto__" is not an ABI
  return KNOWN.has(arch) ? tableOf(arch).numbers.get(name) ?? null : null;
}

/** The loaded table of an ABI, for callers that need to enumerate it (profiles, reports). */
export function syscallTable(arch: ArchName): SyscallTable {
  return tableOf(arch);
}
