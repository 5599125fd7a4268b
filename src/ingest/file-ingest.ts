import { MessageChannel, type Worker } from 'node:worker_threads';
import { READER_YOUNG_GENERATION_MB, startThread, threadEntry } from '../runtime/start-thread.js';
import { packetSlots } from './packed-records.js';
import type { FileIngestMessage, FileIngestOptions, FileIngestSummary, FileParseMessage, FileStoreMessage } from './file-ingest-protocol.js';

export interface FileIngestEvents {
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
 * The store's thread keeps little between batches: a batch lives from its arrival to its commit.
 */
const STORE_YOUNG_GENERATION_MB = 8;
/**
 * Pieces (1 MiB each) the parse thread may be ahead of the attributing one: enough that neither
 * waits for the other's next step, few enough that memory stays flat when attributing is the
 * slower half.
 */
const SLOTS = 4;

/** A started ingest: its threads read and commit while the caller finishes its own checks. */
export interface FileIngest {
  /**
   * Hands the parse's events to `events`, those that came before this call first; resolves
   * with what was read once every batch is committed and the store closed. A store that cannot
   * be opened or refuses a batch ends the threads and rejects with its error (what was committed
   * before stays).
   */
  run(events: FileIngestEvents): Promise<FileIngestSummary>;
  /** Ends the threads, whatever they were doing (the caller could not go on). */
  cancel(): Promise<void>;
}

type ThreadName = 'parse' | 'attribute' | 'store';
type ThreadEvent =
  | { from: 'parse'; message: FileParseMessage }
  | { from: 'attribute'; message: FileIngestMessage }
  | { from: 'store'; message: FileStoreMessage }
  | { from: ThreadName; error: Error }
  | { from: ThreadName; exit: number };

/**
 * Starts reading `options.files` into the database at `dbPath` on three threads of their own in
 * a line (file-parse-worker.ts parses, file-ingest-worker.ts attributes and aggregates,
 * file-store-worker.ts commits); this thread only hears how it goes. Each start (~60 ms of Node
 * and module loading, the store's opening) overlaps the others'.
 */
export function startFileIngest(options: FileIngestOptions, dbPath: string, stdin: NodeJS.ReadableStream): FileIngest {
  const readsStdin = options.files.includes('-');
  const records = new MessageChannel();
  const batches = new MessageChannel();
  const slots = packetSlots(SLOTS);
  const parse = startThread(threadEntry(import.meta.url, './file-parse-worker'), {
    workerData: { options, port: records.port1, slots }, transferList: [records.port1], stdin: readsStdin, resourceLimits: { maxYoungGenerationSizeMb: PARSE_YOUNG_GENERATION_MB },
  });
  const attribute = startThread(threadEntry(import.meta.url, './file-ingest-worker'), {
    workerData: { options, port: records.port2, storePort: batches.port1, slots }, transferList: [records.port2, batches.port1],
    resourceLimits: { maxYoungGenerationSizeMb: READER_YOUNG_GENERATION_MB },
  });
  const store = startThread(threadEntry(import.meta.url, './file-store-worker'), {
    workerData: { path: dbPath, port: batches.port2 }, transferList: [batches.port2], resourceLimits: { maxYoungGenerationSizeMb: STORE_YOUNG_GENERATION_MB },
  });
  if (readsStdin) stdin.pipe(parse.stdin!);
  // what the threads say before run() is kept, in order, for run() to handle: a Worker drops
  // messages nobody listens to
  const early: ThreadEvent[] = [];
  let deliver = (e: ThreadEvent): void => { early.push(e); };
  const threads: [ThreadName, Worker][] = [['parse', parse], ['attribute', attribute], ['store', store]];
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
          let closed = false;
          const said = { parse: () => parsed !== null, attribute: () => done !== null, store: () => closed };
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
              } else if (e.from === 'attribute') done = e.message;
              else if (e.message.type === 'failed') return fail(new Error(e.message.message));
              else closed = true;
              if (parsed !== null && done !== null && closed) {
                resolve({ stats: parsed.stats, malformed: parsed.malformed, counts: done.counts, newKeys: done.newKeys, batches: done.batches, largestBatch: done.largestBatch });
              }
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

const THREAD_NAMES = { parse: 'the parsing thread', attribute: 'the attributing thread', store: "the store's thread" } as const;
