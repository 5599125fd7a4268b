import type { FlushBatch } from '../types/flush-batch.js';
import type { PipelineCounters } from '../types/pipeline-counters.js';
import type { LostSignalKind } from '../types/seccomp-record.js';
import type { NewSyscall } from './record-pipeline.js';

/** What the kmsg ingest thread is started with. */
export interface KmsgIngestOptions {
  path?: string;
  procRoot: string;
  logDir: string;
  nodeName: string;
  pollMs: number;
  /** how often (at most) a batch of deltas goes to the main thread for the store */
  flushMs: number;
  /** nice value for the reading thread (negative = more CPU when the node is busy) */
  nice: number;
  /** the committed position, `<boot_id>:<seq>`, or null on a first start */
  startPosition: string | null;
}

/** What it reports to the main thread. */
export type KmsgIngestMessage =
  | { type: 'started'; niced: boolean; resumed: boolean }
  | { type: 'failed'; error: string }
  | { type: 'new-syscall'; event: NewSyscall }
  | { type: 'lost-signal'; kind: LostSignalKind; count: number }
  | { type: 'malformed'; lineNo: number; reason: string; excerpt: string }
  | { type: 'batch'; batch: FlushBatch }
  | { type: 'kube-api'; connected: boolean; error: string | null }
  | { type: 'stats'; records: number; lostRecords: number; error: string | null; counters: PipelineCounters }
  | { type: 'stopped'; records: number; lostRecords: number; counters: PipelineCounters };
