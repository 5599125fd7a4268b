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

/** A started ingest: its threads read while the caller gets ready to commit (opens its store). */
export interface FileIngest {
  /**
   * Hands each batch to `events.onBatch`, in order, those that came before this call first;
   * resolves with what was read. A throw from onBatch (the store refused) ends the reading
   * threads and rejects.
   */
  run(events: FileIngestEvents): Promise<FileIngestSummary>;
  /** Ends the threads without committing anything (the caller could not get ready). */
  cancel(): Promise<void>;
}

type ThreadName = 'parse' | 'attribute';
type ThreadEvent =
  | { from: 'parse'; message: FileParseMessage }
  | { from: 'attribute'; message: FileIngestMessage }
  | { from: ThreadName; error: Error }
  | { from: ThreadName; exit: number };

/**
 * Starts reading `options.files` on two threads of their own (file-parse-worker.ts parses,
 * file-ingest-worker.ts attributes and aggregates); batches come to this thread through run().
 * Started before the caller opens its store, the threads' start (~60 ms of Node and module
 * loading) overlaps the store's, a tenth of a small log's ingest.
 */
export function startFileIngest(options: FileIngestOptions, stdin: NodeJS.ReadableStream): FileIngest {
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
  // what the threads say before run() is kept, in order, for run() to handle: a Worker drops
  // messages nobody listens to
  const early: ThreadEvent[] = [];
  let deliver = (e: ThreadEvent): void => { early.push(e); };
  const threads: [ThreadName, Worker][] = [['parse', parse], ['attribute', attribute]];
  for (const [from, worker] of threads) {
    worker.on('message', (message: unknown) => deliver({ from, message } as ThreadEvent));
    worker.once('error', (error) => deliver({ from, error }));
    worker.once('exit', (exit) => deliver({ from, exit }));
  }
  let ended: Promise<void> | null = null;
  const end = (): Promise<void> => {
    ended ??= (async () => {
      if (readsStdin) stdin.unpipe(parse.stdin!);
      await Promise.all(threads.map(([, worker]) => worker.terminate()));
    })();
    return ended;
  };
  return {
    async run(events) {
      try {
        return await new Promise<FileIngestSummary>((resolve, reject) => {
          let parsed: Extract<FileParseMessage, { type: 'parsed' }> | null = null;
          let done: Extract<FileIngestMessage, { type: 'done' }> | null = null;
          const said = { parse: () => parsed !== null, attribute: () => done !== null };
          // after a failed commit nothing more is committed: the batches after it would leave a gap
          let failed = false;
          const fail = (err: Error): void => {
            failed = true;
            reject(err);
          };
          const handle = (e: ThreadEvent): void => {
            if ('error' in e) return fail(e.error);
            if ('exit' in e) {
              // a thread that ends before it said it was done fails the ingest
              if (!said[e.from]()) fail(new Error(`${THREAD_NAMES[e.from]} ended before the input did (exit code ${e.exit})`));
              return;
            }
            if (failed) return;
            try {
              if (e.from === 'parse') {
                const m = e.message;
                switch (m.type) {
                  case 'malformed': events.onMalformed(m.file, m.lineNo, m.reason, m.excerpt); break;
                  case 'progress': events.onProgress(m.file, m.bytes); break;
                  case 'input-error': events.onInputError(m.file, m.message); break;
                  case 'parsed': parsed = m; break;
                }
              } else {
                const m = e.message;
                switch (m.type) {
                  case 'batch':
                    events.onBatch(m.batch);
                    attribute.postMessage({ type: 'committed' } satisfies FileIngestReply);
                    break;
                  case 'done': done = m; break;
                }
              }
              if (parsed !== null && done !== null) resolve({ stats: parsed.stats, malformed: parsed.malformed, counts: done.counts, newKeys: done.newKeys });
            } catch (err) {
              fail(err as Error);
            }
          };
          deliver = handle;
          for (const e of early.splice(0)) handle(e);
        });
      } finally {
        await end();
      }
    },
    cancel: end,
  };
}

const THREAD_NAMES = { parse: 'the parsing thread', attribute: 'the attributing thread' } as const;
