/**
 * The thread that reads `ingest`'s files: parse, attribute and aggregate here, the store's
 * commits on the thread that started it. On a month of a busy node's log each half is seconds
 * of CPU, so two cores finish in the time of the longer one rather than of both.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { inputChunks, InputError } from '../sources/input-chunks.js';
import { columnBuffers } from '../types/syscall-columns.js';
import type { FileIngestMessage, FileIngestOptions, FileIngestReply } from './file-ingest-protocol.js';
import { RecordPipeline } from './record-pipeline.js';

const options = workerData as FileIngestOptions;
const ADVANCE_EVERY_MS = 1000;
const post = (m: FileIngestMessage, transfer?: ArrayBuffer[]): void => parentPort!.postMessage(m, transfer);

let inFlight = 0;
let wake: (() => void) | null = null;
parentPort!.on('message', (m: FileIngestReply) => {
  if (m.type !== 'committed') return;
  inFlight--;
  wake?.();
  wake = null;
});

let current = '';
let malformed = 0;
const pipeline = new RecordPipeline({
  source: 'ingest', procRoot: options.procRoot, logDir: options.logDir, nodeName: options.nodeName, trust: options.trust,
  events: {
    onNewSyscall() {},
    onLostSignal() {},
    onMalformed(lineNo, reason, excerpt) {
      if (malformed++ < options.maxErrors) post({ type: 'malformed', file: current, lineNo, reason, excerpt });
    },
  },
});

async function handOver(): Promise<void> {
  const batch = pipeline.takeBatch([]);
  if (batch === null) return;
  inFlight++;
  post({ type: 'batch', batch }, batch.columns === undefined ? [] : columnBuffers(batch.columns));
  while (inFlight >= options.maxBatchesInFlight) await new Promise<void>((resolve) => { wake = resolve; });
}

pipeline.start({ watch: false });
let lastBatch = Date.now();
let lastAdvance = lastBatch;
for (const file of options.files) {
  current = file === '-' ? '<stdin>' : file;
  try {
    for await (const chunk of inputChunks(file, process.stdin)) {
      pipeline.push(chunk);
      post({ type: 'progress', file: current, bytes: chunk.length });
      const now = Date.now();
      // the attributor's clock moves every second as the daemon's does (re-checking cached pids
      // against /proc, pruning, shedding past MAX_PIDS), however seldom a batch is handed over
      if (now - lastAdvance >= ADVANCE_EVERY_MS) {
        pipeline.onBatchEnd();
        lastAdvance = now;
      }
      if (now - lastBatch >= options.batchEveryMs || pipeline.aggregate.pendingRows >= options.maxPendingRows) {
        await handOver();
        lastBatch = now;
      }
    }
    pipeline.end();
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    post({ type: 'input-error', file: current, message: err.message });
  }
}
await handOver();
pipeline.stop();
post({ type: 'done', summary: { stats: pipeline.stats, counts: { ...pipeline.attributor.counts }, newKeys: pipeline.aggregate.newKeys, malformed } });
