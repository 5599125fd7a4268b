import type { Worker } from 'node:worker_threads';
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import { startThread, threadEntry } from '../runtime/start-thread.js';

/** V8's default young generation is 48 MB on a 64-bit heap */
const READ_YOUNG_GENERATION_MB = 8;
/**
 * The largest read (a 5 000-pod page, a profile over hundreds of pods, the per-container metric
 * families) needs a few tens of MB. Without a bound V8 lets a busy thread's heap grow far past
 * that before collecting: 8 clients looping over 5 000-item pages took the daemon to 284-299
 * MiB peak RSS; with this one, 223-231 (api-bench, 2026-12-03). A read that outgrows it ends its
 * thread: that read answers 500, the next starts a new thread, and the daemon (ingest, commits)
 * is not the one the kernel's OOM killer picks.
 */
export const READ_OLD_GENERATION_MB = 96;
import { fileIdentity, type FileIdentity } from '../store/file-identity.js';
import type { SyscallStore } from '../store/syscall-store.js';
import { ApiError, requireStore } from './api-errors.js';
import type { READ_QUERIES, ReadQueryTable } from './reads/read-queries.js';
import { ReadAbandoned } from './store-reader.js';
import { errorFromWire, type ReadReply, type ReadThreadData, type ToReadThread } from './store-reader-protocol.js';

/** One thread by default: the node's daemon shares a small CPU budget with what it watches. */
export const DEFAULT_READ_THREADS = 1;
/** Reads that may wait for a thread; a few seconds of the heaviest pages, beyond which a client is told to come back. */
export const DEFAULT_MAX_QUEUED_READS = 64;

export interface ThreadStoreReaderOptions {
  /** the database the daemon has open, or null while it has none (reads then answer 503 at once) */
  store: () => SyscallStore | null;
  /** read threads, each with its own read-only connection (default DEFAULT_READ_THREADS) */
  threads?: number;
  /** reads that may wait for a free thread; beyond, 503 SA_BUSY (default DEFAULT_MAX_QUEUED_READS) */
  maxQueued?: number;
  /** where the read metrics go (the daemon's /metrics) */
  registry?: Registry;
  /** told when a read thread ends unasked (its read answers 500; the next read starts another) */
  onThreadFailed?: (error: string) => void;
  /** the module whose READ_QUERIES the threads run (default reads/read-queries); tests add reads of their own */
  queries?: URL;
  /** how long a read waits for a lock before SA_DB_BUSY (default 5000) */
  busyTimeoutMs?: number;
  /** a read thread's old generation at most (default READ_OLD_GENERATION_MB); tests pass smaller ones */
  maxOldGenerationMb?: number;
}

interface Job {
  name: string;
  args: unknown;
  json: boolean;
  gone: AbortSignal | undefined;
  resolve: (value: unknown) => void;
  reject: (err: Error) => void;
  /** while queued: drops the job when its client goes away */
  onAbort?: () => void;
}

interface ReadThread {
  worker: Worker;
  /** the read it runs, null while idle, and the id its answer comes back with */
  job: Job | null;
  id: number;
}

const WORKER = threadEntry(import.meta.url, './store-reader-worker');
const QUERIES = threadEntry(import.meta.url, './reads/read-queries');

/**
 * Runs the API's reads on threads of their own, each with a read-only connection, so that the
 * main thread (health, readiness, ingest, commits, mutations) is never held by a page or a
 * profile. In front of the threads a bounded queue: a read whose client goes away while it waits
 * is dropped before it costs anything; one already running finishes (every list is paged in
 * SQL, so its work is bounded) and its answer is discarded; past the bound a read is refused at
 * once with 503 SA_BUSY and Retry-After, rather than left to wait until its client times out.
 */
export class ThreadStoreReader<T extends ReadQueryTable = typeof READ_QUERIES> {
  readonly #store: () => SyscallStore | null;
  readonly #threadCount: number;
  readonly #oldGenerationMb: number;
  readonly #maxQueued: number;
  readonly #data: ReadThreadData;
  readonly #onThreadFailed: (error: string) => void;
  readonly #threads: ReadThread[] = [];
  readonly #queue: Job[] = [];
  /** each database the daemon opens is a generation (a thread reopens when it changes), and a file */
  readonly #generations = new WeakMap<SyscallStore, { generation: number; file: FileIdentity | null }>();
  #nextGeneration = 1;
  #nextId = 1;
  #closed = false;
  readonly #abandoned: Counter<'stage'>;
  readonly #rejected: Counter;
  readonly #seconds: Histogram<'query'>;

  constructor(options: ThreadStoreReaderOptions) {
    const threads = options.threads ?? DEFAULT_READ_THREADS;
    const maxQueued = options.maxQueued ?? DEFAULT_MAX_QUEUED_READS;
    if (!Number.isSafeInteger(threads) || threads < 1) throw new RangeError(`threads must be a whole number >= 1, got ${threads}`);
    if (!Number.isSafeInteger(maxQueued) || maxQueued < 0) throw new RangeError(`maxQueued must be a whole number >= 0, got ${maxQueued}`);
    this.#store = options.store;
    this.#threadCount = threads;
    this.#oldGenerationMb = options.maxOldGenerationMb ?? READ_OLD_GENERATION_MB;
    this.#maxQueued = maxQueued;
    this.#data = { queries: (options.queries ?? QUERIES).href, busyTimeoutMs: options.busyTimeoutMs ?? 5000 };
    this.#onThreadFailed = options.onThreadFailed ?? (() => {});
    const registers = options.registry !== undefined ? [options.registry] : [];
    this.#abandoned = new Counter({
      name: 'seccomp_auditor_read_requests_abandoned_total',
      help: 'API reads whose client went away before the answer: stage=queued were dropped before they ran; stage=running had started, finished, and their answer was discarded.',
      labelNames: ['stage'], registers,
    });
    for (const stage of ['queued', 'running']) this.#abandoned.inc({ stage }, 0);
    this.#rejected = new Counter({
      name: 'seccomp_auditor_read_queue_rejected_total',
      help: `API reads refused with 503 SA_BUSY because ${maxQueued} were already waiting for a read thread.`,
      registers,
    });
    const queue = this.#queue;
    new Gauge({
      name: 'seccomp_auditor_read_queue_length', help: 'API reads waiting for a free read thread.',
      registers, collect() { this.set(queue.length); },
    });
    this.#seconds = new Histogram({
      name: 'seccomp_auditor_read_seconds', help: 'Time one API read took on its read thread (not counting its wait in the queue), in seconds, per read.',
      labelNames: ['query'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5], registers,
    });
  }

  /** The answer of read `name`; an ApiError or StoreError it throws is thrown here as itself. */
  run<N extends keyof T & string>(name: N, args: Parameters<T[N]>[1], gone?: AbortSignal): Promise<ReturnType<T[N]>> {
    return this.#enqueue(name, args, gone, false) as Promise<ReturnType<T[N]>>;
  }

  /** The answer as JSON, serialized on the read thread (StoreReader.runJson says why). */
  async runJson<N extends keyof T & string>(name: N, args: Parameters<T[N]>[1], gone?: AbortSignal): Promise<Buffer> {
    // a transferred buffer arrives as a plain Uint8Array: a Buffer view of it, not a copy
    const bytes = await this.#enqueue(name, args, gone, true) as Uint8Array;
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  #enqueue(name: string, args: unknown, gone: AbortSignal | undefined, json: boolean): Promise<unknown> {
    if (this.#closed) return Promise.reject(new ApiError('SA_STORE_UNAVAILABLE', 'the daemon is stopping'));
    try {
      requireStore(this.#store);
    } catch (err) {
      return Promise.reject(err as Error);
    }
    if (gone?.aborted === true) {
      this.#abandoned.inc({ stage: 'queued' });
      return Promise.reject(new ReadAbandoned());
    }
    return new Promise<unknown>((resolve, reject) => {
      const job: Job = { name, args, json, gone, resolve, reject };
      const thread = this.#freeThread();
      if (thread !== null) return this.#dispatch(thread, job);
      if (this.#queue.length >= this.#maxQueued) {
        this.#rejected.inc();
        return reject(new ApiError('SA_BUSY', `the daemon is busy serving reads (${this.#queue.length} wait for ${this.#threadCount === 1 ? 'its read thread' : `its ${this.#threadCount} read threads`}): retry after a second; smaller pages (?limit=) finish sooner`));
      }
      this.#queue.push(job);
      if (gone !== undefined) {
        job.onAbort = () => {
          const at = this.#queue.indexOf(job);
          if (at < 0) return;
          this.#queue.splice(at, 1);
          this.#abandoned.inc({ stage: 'queued' });
          reject(new ReadAbandoned());
        };
        gone.addEventListener('abort', job.onAbort, { once: true });
      }
    });
  }

  /** The daemon closed its database (deleted or replaced): the threads close theirs now. */
  release(): void {
    for (const t of this.#threads) t.worker.postMessage({ type: 'release' } satisfies ToReadThread);
  }

  /** Refuses every waiting read (503) and ends the threads; before the daemon closes its store, whose close is then the last. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const job of this.#queue.splice(0)) this.#settle(job, new ApiError('SA_STORE_UNAVAILABLE', 'the daemon is stopping'));
    await Promise.all(this.#threads.splice(0).map(async (t) => {
      if (t.job !== null) this.#settle(t.job, new ApiError('SA_STORE_UNAVAILABLE', 'the daemon is stopping'));
      t.job = null;
      await t.worker.terminate();
    }));
  }

  #freeThread(): ReadThread | null {
    const idle = this.#threads.find((t) => t.job === null);
    if (idle !== undefined) return idle;
    if (this.#threads.length >= this.#threadCount) return null;
    const thread = this.#spawn();
    this.#threads.push(thread);
    return thread;
  }

  #dispatch(thread: ReadThread, job: Job): void {
    if (job.onAbort !== undefined) job.gone!.removeEventListener('abort', job.onAbort);
    // the daemon may have lost or replaced its database while the read waited
    const store = this.#store();
    if (store === null) return this.#settle(job, new ApiError('SA_STORE_UNAVAILABLE', 'the database is not available; see /readyz and the daemon\'s log'));
    let opened = this.#generations.get(store);
    if (opened === undefined) this.#generations.set(store, opened = { generation: this.#nextGeneration++, file: fileIdentity(store.path) });
    thread.job = job;
    thread.id = this.#nextId++;
    try {
      thread.worker.postMessage({ type: 'read', id: thread.id, name: job.name, args: job.args, json: job.json, path: store.path, ...opened } satisfies ToReadThread);
    } catch (err) {
      // arguments that cannot be cloned: a bug in the route
      thread.job = null;
      this.#settle(job, err as Error);
    }
  }

  #drain(): void {
    while (this.#queue.length > 0 && !this.#closed) {
      const thread = this.#freeThread();
      if (thread === null) return;
      this.#dispatch(thread, this.#queue.shift()!);
    }
  }

  #settle(job: Job, outcome: Error | { value: unknown }): void {
    if (outcome instanceof Error) job.reject(outcome);
    else job.resolve(outcome.value);
  }

  #spawn(): ReadThread {
    // a read's garbage is one page or one profile: a small young generation collects it often
    // and keeps it from growing the RSS under a burst of large pages
    const worker = startThread(WORKER, { workerData: this.#data, resourceLimits: { maxYoungGenerationSizeMb: READ_YOUNG_GENERATION_MB, maxOldGenerationSizeMb: this.#oldGenerationMb } });
    // an idle read thread must not keep a stopping process alive
    worker.unref();
    const thread: ReadThread = { worker, job: null, id: 0 };
    let failure = '';
    worker.on('message', (reply: ReadReply) => {
      const job = thread.job;
      if (job === null || reply.id !== thread.id) return;
      thread.job = null;
      this.#seconds.observe({ query: job.name }, reply.seconds);
      if (job.gone?.aborted === true) this.#abandoned.inc({ stage: 'running' });
      this.#settle(job, reply.ok ? { value: reply.value } : errorFromWire(reply.error));
      this.#drain();
    });
    worker.on('error', (err) => { failure = `: ${err.message}`; });
    worker.once('exit', (code) => {
      const at = this.#threads.indexOf(thread);
      if (at < 0) return; // closed
      this.#threads.splice(at, 1);
      const error = `a read thread ended (exit code ${code}${failure})`;
      this.#onThreadFailed(error);
      if (thread.job !== null) this.#settle(thread.job, new Error(error));
      thread.job = null;
      this.#drain();
    });
    return thread;
  }
}
