import type { RelayTrust } from '../parse/record-framing.js';
import type { ParseStats } from '../parse/record-handler.js';
import type { AttributionMethod, UnattributedReason } from '../attribute/workload.js';
import type { FlushBatch } from '../types/flush-batch.js';
import type { PacketHeader } from './packed-records.js';

/** What the threads of `ingest` are started with. */
export interface FileIngestOptions {
  files: string[];
  procRoot: string | null;
  logDir: string | null;
  nodeName: string;
  trust: RelayTrust;
  /** malformed lines reported one by one; the rest are only counted */
  maxErrors: number;
  /** a batch at least this often (ms) */
  batchEveryMs: number;
  /** ...and whenever this many syscall rows are pending: memory stays flat however fast the input comes */
  maxPendingRows: number;
  /** batches handed over and not yet committed before reading waits: memory stays bounded when the store is slower */
  maxBatchesInFlight: number;
}

export interface FileIngestSummary {
  stats: ParseStats;
  counts: Record<AttributionMethod | UnattributedReason, number>;
  newKeys: number;
  malformed: number;
}

/** From the parse thread to the thread that started it. */
export type FileParseMessage =
  | { type: 'malformed'; file: string; lineNo: number; reason: string; excerpt: string }
  | { type: 'progress'; file: string; bytes: number }
  | { type: 'input-error'; file: string; message: string }
  | { type: 'parsed'; stats: ParseStats; malformed: number };

/** From the parse thread to the attributing thread, over their own channel. */
export type ParsedPacket =
  /** a piece's records are in the slot the header names: the slot is the attributing thread's until it acknowledges it */
  | { type: 'records'; header: PacketHeader }
  /** the input is over */
  | { type: 'end' };

/** From the attributing thread back to the parse thread: the slot was read and may be filled again. */
export type ParsedPacketAck = { type: 'ack'; slot: number };

/** From the attributing thread to the thread that started it. */
export type FileIngestMessage =
  /** its syscall rows in `columns`, whose buffers are transferred */
  | { type: 'batch'; batch: FlushBatch }
  | { type: 'done'; counts: FileIngestSummary['counts']; newKeys: number };

/** From the committing thread: a batch is in the store (reading may go on). */
export type FileIngestReply = { type: 'committed' };
