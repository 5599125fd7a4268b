import type { ObservedKey } from '../aggregate/observed-syscalls.js';
import type { LostSignalKind } from '../types/seccomp-record.js';
import type { KeyOwner } from './record-pipeline.js';

/** What the kmsg ingest thread is started with. */
export interface KmsgIngestOptions {
  path?: string;
  procRoot: string;
  logDir: string;
  pollMs: number;
  /** nice value for the reading thread (negative = more CPU when the node is busy) */
  nice: number;
}

/** What it reports to the main thread. */
export type KmsgIngestMessage =
  | { type: 'started'; niced: boolean }
  | { type: 'failed'; error: string }
  | { type: 'new-key'; key: ObservedKey; owner: KeyOwner | null }
  | { type: 'lost-signal'; kind: LostSignalKind; count: number }
  | { type: 'malformed'; lineNo: number; reason: string; excerpt: string }
  | { type: 'stats'; records: number; lostRecords: number; error: string | null; counts: Record<string, number> }
  | { type: 'stopped'; records: number; lostRecords: number };
