import { MessageChannel, type Worker } from 'node:worker_threads';
import { READER_YOUNG_GENERATION_MB, startThread, threadEntry } from '../runtime/start-thread.js';
import type { FlushBatch } from '../types/flush-batch.js';
import { packetSlots } from './packed-records.js';
import type { FileIngestMessage, FileIngestOptions, FileIngestReply, FileIngestSummary, FileParseMessage } from './file-ingest-protocol.js';

export interface FileIngestEvents {
  /** a batch to commit (its syscall rows in columns); it is acknowledged (reading goes on) when this returns */
  onBatch(batch: FlushBatch): void;
  onMalformed(file: string, lineNo: number, reason: string, excerpt: string): void;
  onProgress(file: string, bytes: number): void;
  onInputError(file: string, message: string): void;
}

/**
 * The parse thread allocates little that lives: a chunk's packed records are moved away as soon
 * as they are made.
 */
const PARSE_YOUNG_GENERATION_MB = 8;
/**
 * Pieces (1 MiB each) the parse thread may be ahead of the attributing one: enough that neither
 * waits for the other's next step, few enough that memory stays flat when attributing is the
 * slower half.
 */
const SLOTS = 4;

/**
 * Reads `options.files` on two threads of their own (file-parse-worker.ts parses,
 * file-ingest-worker.ts attributes and aggregates) and hands each batch to `events.onBatch` on
 * this one, in order; resolves with what was read. A throw from onBatch (the store refused)
 * ends the reading threads and rejects.
 */
export async function ingestFiles(options: FileIngestOptions, stdin: NodeJS.ReadableStream, events: FileIngestEvents): Promise<FileIngestSummary> {
  const readsStdin = options.files.includes('-');
  const { port1, port2 } = new MessageChannel();
  const slots = packetSlots(SLOTS);
  const parse = startThread(threadEntry(import.meta.url, './file-parse-worker'), {
    workerData: { options, port: port1, slots }, transferList: [port1], stdin: readsStdin, resourceLimits: { maxYoungGenerationSizeMb: PARSE_YOUNG_GENERATION_MB },
  });
  const attribute = startThread(threadEntry(import.meta.url, './file-ingest-worker'), {
    workerData: { options, port: port2, slots }, transferList: [port2], resourceLimits: { maxYoungGenerationSizeMb: READER_YOUNG_GENERATION_MB },
  });
  if (readsStdin) stdin.pipe(parse.stdin!);
  try {
    return await new Promise<FileIngestSummary>((resolve, reject) => {
      let parsed: Extract<FileParseMessage, { type: 'parsed' }> | null = null;
      let done: Extract<FileIngestMessage, { type: 'done' }> | null = null;
      const finish = (): void => {
        if (parsed !== null && done !== null) resolve({ stats: parsed.stats, malformed: parsed.malformed, counts: done.counts, newKeys: done.newKeys });
      };
      // after a failed commit nothing more is committed: the batches after it would leave a gap
      let failed = false;
      const fail = (err: Error): void => {
        failed = true;
        reject(err);
      };
      watchExit(parse, 'the parsing thread', () => parsed !== null, fail);
      watchExit(attribute, 'the attributing thread', () => done !== null, fail);
      parse.on('message', (m: FileParseMessage) => {
        if (failed) return;
        try {
          switch (m.type) {
            case 'malformed': events.onMalformed(m.file, m.lineNo, m.reason, m.excerpt); break;
            case 'progress': events.onProgress(m.file, m.bytes); break;
            case 'input-error': events.onInputError(m.file, m.message); break;
            case 'parsed': parsed = m; finish(); break;
          }
        } catch (err) {
          fail(err as Error);
        }
      });
      attribute.on('message', (m: FileIngestMessage) => {
        if (failed) return;
        try {
          switch (m.type) {
            case 'batch':
              events.onBatch(m.batch);
              attribute.postMessage({ type: 'committed' } satisfies FileIngestReply);
              break;
            case 'done': done = m; finish(); break;
          }
        } catch (err) {
          fail(err as Error);
        }
      });
    });
  } finally {
    if (readsStdin) stdin.unpipe(parse.stdin!);
    await Promise.all([parse.terminate(), attribute.terminate()]);
  }
}

/** A thread that fails, or ends before it said it was done, fails the ingest. */
function watchExit(worker: Worker, name: string, said: () => boolean, fail: (err: Error) => void): void {
  worker.once('error', fail);
  worker.once('exit', (code) => {
    if (!said()) fail(new Error(`${name} ended before the input did (exit code ${code})`));
  });
}
