/**
 * The thread that attributes and aggregates `ingest`'s records: the parse thread
 * (file-parse-worker.ts) sends them a chunk at a time as packed records, and batches go to the
 * store's thread (file-store-worker.ts), which commits them. Reading, attributing and committing are each
 * seconds of CPU on a month of a busy node's log: on threads of their own they overlap.
 */
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { columnBuffers } from '../types/syscall-columns.js';
import type { FileIngestMessage, FileIngestOptions, ParsedPacket, ParsedPacketAck, StoreAck, StorePacket } from './file-ingest-protocol.js';
import { PacketReader, type PacketSlot } from './packed-records.js';
import { RecordPipeline } from './record-pipeline.js';
import { mayBeLive } from '../sources/input-chunks.js';

const { options, port, storePort, slots } = workerData as { options: FileIngestOptions; port: MessagePort; storePort: MessagePort; slots: PacketSlot[] };
const ADVANCE_EVERY_MS = 1000;
const toStore = (m: StorePacket, transfer?: ArrayBuffer[]): void => storePort.postMessage(m, transfer);

let inFlight = 0;
let batches = 0;
let largestBatch = 0;
let wakeCommitted: (() => void) | null = null;
storePort.on('message', (_m: StoreAck) => {
  inFlight--;
  wakeCommitted?.();
  wakeCommitted = null;
});

// packets wait here while a batch waits for its commit: handled one at a time, in order
const packets: ParsedPacket[] = [];
let wakePacket: (() => void) | null = null;
port.on('message', (m: ParsedPacket) => {
  packets.push(m);
  wakePacket?.();
  wakePacket = null;
});

const pipeline = new RecordPipeline({
  source: 'ingest', procRoot: options.procRoot, logDir: options.logDir, nodeName: options.nodeName, trust: options.trust,
  // a file is the past: each pid is read from /proc once; stdin or a pipe may be a live stream
  // (`journalctl -kf | seccomp-auditor ingest -`), whose reused pids the checks catch
  reverifyPids: options.files.some(mayBeLive),
  // the parse thread reports malformed lines; nothing else is announced during an ingest
  events: { onLostSignal() {}, onMalformed() {} },
});

/**
 * Containers with records in the last ten minutes of the log's time stay out of a batch (unless
 * they hold half a batch's rows): still running, they would be counted again after it and
 * written twice. The last batch takes everything.
 */
const HOLD = { idleMs: 10 * 60_000, maxRows: options.maxPendingRows / 2 };

async function handOver(last: boolean): Promise<void> {
  const batch = pipeline.takeBatch([], last ? undefined : HOLD);
  if (batch === null) return;
  inFlight++;
  batches++;
  largestBatch = Math.max(largestBatch, batch.columns?.length ?? 0);
  toStore({ type: 'batch', batch }, batch.columns === undefined ? [] : columnBuffers(batch.columns));
  while (inFlight >= options.maxBatchesInFlight) await new Promise<void>((resolve) => { wakeCommitted = resolve; });
}

pipeline.start({ watch: false });
const reader = new PacketReader(slots);
let lastBatch = Date.now();
let lastAdvance = lastBatch;
for (;;) {
  while (packets.length === 0) await new Promise<void>((resolve) => { wakePacket = resolve; });
  const packet = packets.shift()!;
  if (packet.type === 'end') break;
  const now = Date.now();
  // the attributor's clock moves every second as the daemon's does (re-checking cached pids
  // against /proc, pruning, shedding past MAX_PIDS), however seldom a batch is handed over; before
  // the packet, whose first record then sets the clocks (RecordPipeline), so that a live input's
  // records after a pause meet the clock of their arrival
  if (now - lastAdvance >= ADVANCE_EVERY_MS) {
    pipeline.onBatchEnd();
    lastAdvance = now;
  }
  reader.replay(packet.header, pipeline.records);
  port.postMessage({ type: 'ack', slot: packet.header.slot } satisfies ParsedPacketAck);
  if (now - lastBatch >= options.batchEveryMs || pipeline.aggregate.pendingRows >= options.maxPendingRows) {
    await handOver(false);
    lastBatch = now;
  }
}
await handOver(true);
pipeline.stop();
port.close();
toStore({ type: 'end' });
parentPort!.postMessage({ type: 'done', counts: { ...pipeline.attributor.counts }, newKeys: pipeline.aggregate.newKeys, batches, largestBatch } satisfies FileIngestMessage);
