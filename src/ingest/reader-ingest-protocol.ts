import type { AuditChannelState } from '../types/audit-channel.js';
import type { FlushBatch } from '../types/flush-batch.js';
import type { PipelineCounters } from '../types/pipeline-counters.js';
import type { LostSignalKind } from '../types/seccomp-record.js';
import type { NewSyscall } from './record-pipeline.js';

/** The sources that run on the reader thread: both lose records when they are not read at once. */
export type ReaderKind = 'audit' | 'kmsg';

/** What the reader thread is started with. */
export interface ReaderIngestOptions {
  kind: ReaderKind;
  /** /dev/kmsg's path (kmsg only) */
  path?: string;
  /** the receive buffer asked for (audit only) */
  rcvbufBytes?: number;
  /** the addon's ring for records received but not yet parsed (audit only) */
  ringBytes?: number;
  procRoot: string;
  logDir: string;
  nodeName: string;
  pollMs: number;
  /** how often (at most) a batch of deltas goes to the main thread for the store */
  flushMs: number;
  /** nice value for the reading thread (negative = more CPU when the node is busy) */
  nice: number;
  /** the committed position, `<boot_id>:<seq or serial>`, or null on a first start */
  startPosition: string | null;
}

/** What it reports to the main thread. */
export type { AuditChannelState };

export type ReaderIngestMessage =
  | { type: 'started'; niced: boolean; resumed: boolean; audit: AuditChannelState | null }
  | { type: 'failed'; error: string }
  /** the audit source started again on the same boot and missed the serials between */
  | { type: 'resumed'; afterSerial: number; firstSerial: number; missedAtMost: number }
  | { type: 'new-syscall'; event: NewSyscall }
  | { type: 'lost-signal'; kind: LostSignalKind; count: number }
  | { type: 'malformed'; lineNo: number; reason: string; excerpt: string }
  | { type: 'batch'; batch: FlushBatch }
  | { type: 'kube-api'; connected: boolean; error: string | null }
  | { type: 'stats'; records: number; lostRecords: number; error: string | null; counters: PipelineCounters; audit: AuditChannelState | null }
  | { type: 'stopped'; records: number; lostRecords: number; counters: PipelineCounters };
