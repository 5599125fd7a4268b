import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';
import { READER_YOUNG_GENERATION_MB, startThread, threadEntry } from '../runtime/start-thread.js';
import type { PipelineCounters } from '../types/pipeline-counters.js';
import type { AuditChannelState, ReaderIngestMessage, ReaderIngestOptions } from './reader-ingest-protocol.js';

/**
 * The main thread's handle on the reader thread (audit multicast or kmsg): starts it, relays
 * what it reports, stops it (a stop drains what the kernel holds, then the thread exits).
 */
export class ReaderIngest {
  readonly name: string;
  lastError: string | null = null;
  records = 0;
  lostRecords = 0;
  /** the reading thread's pipeline counts, as of its last report (once a second) */
  counters: PipelineCounters | null = null;
  /** the audit channel's state (receive buffer, canary, kernel counters); null for kmsg */
  audit: AuditChannelState | null = null;
  readonly #options: ReaderIngestOptions;
  readonly #onMessage: (m: ReaderIngestMessage) => void;
  #worker: Worker | null = null;
  /** resolves when the thread has ended, for whatever reason */
  #ended: Promise<void> = Promise.resolve();
  #stopping = false;

  constructor(options: ReaderIngestOptions & { onMessage: (m: ReaderIngestMessage) => void }) {
    const { onMessage, ...rest } = options;
    this.#options = rest;
    this.#onMessage = onMessage;
    this.name = rest.kind;
  }

  /** Resolves once the thread reads, or rejects with its error (e.g. /dev/kmsg unreadable). */
  async start(): Promise<void> {
    const worker = startThread(threadEntry(import.meta.url, './reader-ingest-worker'), { workerData: this.#options, resourceLimits: { maxYoungGenerationSizeMb: READER_YOUNG_GENERATION_MB } });
    this.#worker = worker;
    this.#ended = new Promise<void>((resolve) => worker.once('exit', (code) => {
      resolve();
      // an end nobody asked for leaves the source silent: say so where readiness looks
      if (!this.#stopping && this.lastError === null) {
        this.lastError = `the ${this.name} reader thread ended (exit code ${code})`;
        this.#onMessage({ type: 'failed', error: this.lastError });
      }
    }));
    worker.on('error', (err) => {
      this.lastError = `${this.name} reader thread failed: ${err.message}`;
      this.#onMessage({ type: 'failed', error: this.lastError });
    });
    worker.on('message', (m: ReaderIngestMessage) => {
      if (m.type === 'stats' || m.type === 'stopped') {
        this.records = m.records;
        this.lostRecords = m.lostRecords;
        this.counters = m.counters;
        if (m.type === 'stats') {
          this.audit = m.audit;
          this.lastError = m.error ?? canaryPending(m.audit);
        }
      }
      if (m.type === 'started') {
        this.audit = m.audit;
        this.lastError = canaryPending(m.audit);
      }
      this.#onMessage(m);
    });
    const [first] = (await Promise.race([
      once(worker, 'message'),
      once(worker, 'error').then(([err]) => { throw err as Error; }),
    ])) as [ReaderIngestMessage];
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
    this.#stopping = true;
    // (a thread that already ended has resolved #ended: nothing to wait for)
    worker.postMessage('stop');
    // a thread that does not finish its drain in time is ended: stopping must stay prompt
    const timer = setTimeout(() => void worker.terminate(), 500);
    await this.#ended;
    clearTimeout(timer);
  }
}

/** Not ready until the canary proved the channel (about a second after start). */
function canaryPending(audit: AuditChannelState | null): string | null {
  return audit !== null && audit.canary.state === 'pending' ? 'waiting for the canary record that proves the audit channel' : null;
}
