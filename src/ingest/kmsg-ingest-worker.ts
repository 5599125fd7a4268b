/**
 * The kmsg reader's own thread. The kernel's ring buffer holds only a few hundred records, so
 * the reader must never wait behind the HTTP server, a GC pause of the main heap or a store
 * commit; and it raises its own priority when allowed (Linux applies nice values per thread),
 * since on a busy node the forking workloads it watches compete with it for the CPU.
 */
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { KmsgSource } from '../sources/kmsg-source.js';
import { RecordPipeline } from './record-pipeline.js';
import type { KmsgIngestMessage, KmsgIngestOptions } from './kmsg-ingest-protocol.js';

const options = workerData as KmsgIngestOptions;
const post = (m: KmsgIngestMessage): void => parentPort!.postMessage(m);

let niced = false;
try {
  setPriority(0, options.nice);
  niced = true;
} catch {
  // not permitted (no CAP_SYS_NICE): read at normal priority
}
const pipeline = new RecordPipeline({
  procRoot: options.procRoot,
  logDir: options.logDir,
  events: {
    onNewKey: (key, owner) => post({ type: 'new-key', key, owner }),
    onLostSignal: (kind, count) => post({ type: 'lost-signal', kind, count }),
    onMalformed: (lineNo, reason, excerpt) => post({ type: 'malformed', lineNo, reason, excerpt }),
  },
});
const source = new KmsgSource({ pollMs: options.pollMs, sink: pipeline, ...(options.path ? { path: options.path } : {}) });
try {
  pipeline.start();
  source.start();
  post({ type: 'started', niced });
} catch (err) {
  post({ type: 'failed', error: (err as Error).message });
}
const stats = setInterval(() => {
  post({ type: 'stats', records: source.records, lostRecords: source.lostRecords, error: source.lastError, counts: { ...pipeline.attributor.counts } });
}, 1000);
stats.unref();
parentPort!.on('message', (msg: string) => {
  if (msg !== 'stop') return;
  clearInterval(stats);
  source.stop();
  pipeline.stop();
  post({ type: 'stopped', records: source.records, lostRecords: source.lostRecords });
  parentPort!.close();
});
