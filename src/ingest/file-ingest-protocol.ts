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
  /** batches committed, and the syscall rows of the largest (each is bounded by maxPendingRows, give or take a piece) */
  batches: number;
  largestBatch: number;
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
export type FileIngestMessage = {
  type: 'done';
  counts: FileIngestSummary['counts'];
  newKeys: number;
  /** batches handed to the store's thread, and the syscall rows of the largest */
  batches: number;
  largestBatch: number;
};

/** From the attributing thread to the store's thread, over their own channel. */
export type StorePacket =
  /** its syscall rows in `columns`, whose buffers are transferred */
  | { type: 'batch'; batch: FlushBatch }
  /** no batch follows: the store closes */
  | { type: 'end' };

/** From the store's thread back to the attributing thread: a batch is in the store (reading may go on). */
export type StoreAck = { type: 'committed' };

/** From the store's thread to the thread that started it. */
export type FileStoreMessage =
  /** the store could not be opened, or refused a batch (rolled back; nothing after it is committed) */
  | { type: 'failed'; message: string }
  /** every batch is committed and the store closed */
  | { type: 'closed' };
