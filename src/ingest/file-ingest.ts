import { READER_YOUNG_GENERATION_MB, startThread, threadEntry } from '../runtime/start-thread.js';
import type { FlushBatch } from '../types/flush-batch.js';
import type { FileIngestMessage, FileIngestOptions, FileIngestReply, FileIngestSummary } from './file-ingest-protocol.js';

export interface FileIngestEvents {
  /** a batch to commit (its syscall rows in columns); it is acknowledged (reading goes on) when this returns */
  onBatch(batch: FlushBatch): void;
  onMalformed(file: string, lineNo: number, reason: string, excerpt: string): void;
  onProgress(file: string, bytes: number): void;
  onInputError(file: string, message: string): void;
}

/**
 * Reads `options.files` on a thread of its own (file-ingest-worker.ts) and hands each batch to
 * `events.onBatch` on this one, in order; resolves with what was read. A throw from onBatch
 * (the store refused) ends the reading thread and rejects.
 */
export async function ingestFiles(options: FileIngestOptions, stdin: NodeJS.ReadableStream, events: FileIngestEvents): Promise<FileIngestSummary> {
  const readsStdin = options.files.includes('-');
  const worker = startThread(threadEntry(import.meta.url, './file-ingest-worker'), { workerData: options, stdin: readsStdin, resourceLimits: { maxYoungGenerationSizeMb: READER_YOUNG_GENERATION_MB } });
  if (readsStdin) stdin.pipe(worker.stdin!);
  try {
    return await new Promise<FileIngestSummary>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new Error(`the reading thread ended before the input did (exit code ${code})`)));
      // after a failed commit nothing more is committed: the batches after it would leave a gap
      let failed = false;
      worker.on('message', (m: FileIngestMessage) => {
        if (failed) return;
        try {
          switch (m.type) {
            case 'batch':
              events.onBatch(m.batch);
              worker.postMessage({ type: 'committed' } satisfies FileIngestReply);
              break;
            case 'malformed': events.onMalformed(m.file, m.lineNo, m.reason, m.excerpt); break;
            case 'progress': events.onProgress(m.file, m.bytes); break;
            case 'input-error': events.onInputError(m.file, m.message); break;
            case 'done': resolve(m.summary); break;
          }
        } catch (err) {
          failed = true;
          reject(err as Error);
        }
      });
    });
  } finally {
    if (readsStdin) stdin.unpipe(worker.stdin!);
    await worker.terminate();
  }
}
