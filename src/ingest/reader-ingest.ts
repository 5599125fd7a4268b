import { once } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { PipelineCounters } from '../types/pipeline-counters.js';
import type { KmsgIngestMessage, KmsgIngestOptions } from './kmsg-ingest-protocol.js';

/**
 * The main thread's handle on the kmsg ingest thread: starts it, relays what it reports, stops
 * it (a stop drains what the kernel holds, then the thread exits).
 */
export class KmsgIngest {
  readonly name = 'kmsg';
  lastError: string | null = null;
  records = 0;
  lostRecords = 0;
  /** the reading thread's pipeline counts, as of its last report (once a second) */
  counters: PipelineCounters | null = null;
  readonly #options: KmsgIngestOptions;
  readonly #onMessage: (m: KmsgIngestMessage) => void;
  #worker: Worker | null = null;

  constructor(options: KmsgIngestOptions & { onMessage: (m: KmsgIngestMessage) => void }) {
    const { onMessage, ...rest } = options;
    this.#options = rest;
    this.#onMessage = onMessage;
  }

  /** Resolves once the thread reads, or rejects with its error (e.g. /dev/kmsg unreadable). */
  async start(): Promise<void> {
    const worker = new Worker(new URL('./kmsg-ingest-worker.js', import.meta.url), { workerData: this.#options });
    this.#worker = worker;
    worker.on('error', (err) => {
      this.lastError = `kmsg reader thread failed: ${err.message}`;
      this.#onMessage({ type: 'failed', error: this.lastError });
    });
    worker.on('message', (m: KmsgIngestMessage) => {
      if (m.type === 'stats' || m.type === 'stopped') {
        this.records = m.records;
        this.lostRecords = m.lostRecords;
        this.counters = m.counters;
        if (m.type === 'stats') this.lastError = m.error;
      }
      this.#onMessage(m);
    });
    const [first] = (await Promise.race([
      once(worker, 'message'),
      once(worker, 'error').then(([err]) => { throw err as Error; }),
    ])) as [KmsgIngestMessage];
    if (first.type === 'failed') {
      this.lastError = first.error;
      await worker.terminate();
      this.#worker = null;
      throw new Error(first.error);
    }
  }

  async stop(): Promise<void> {
    const worker = this.#worker;
    if (worker === null) return;
    this.#worker = null;
    const exited = once(worker, 'exit');
    worker.postMessage('stop');
    // a thread that does not finish its drain in time is ended: stopping must stay prompt
    const timer = setTimeout(() => void worker.terminate(), 500);
    await exited;
    clearTimeout(timer);
  }
}
