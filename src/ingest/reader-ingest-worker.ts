/**
 * The kmsg reader's own thread. The kernel's ring buffer holds only a few hundred records, so
 * the reader must never wait behind the HTTP server, a GC pause of the main heap or a store
 * commit; and it raises its own priority when allowed (Linux applies nice values per thread),
 * since on a busy node the forking workloads it watches compete with it for the CPU.
 *
 * Every `flushMs` it hands the main thread the deltas since the last batch together with the
 * kernel sequence number they reach, which the store commits in one transaction.
 */
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { KubeApiPods } from '../attribute/kube-api-pods.js';
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
// Sequence numbers start again at every boot: a saved one counts only on the same boot.
const bootId = readBootId();
const saved = parsePosition(options.startPosition);
const resumeAfterSeq = saved !== null && saved.bootId === bootId ? saved.seq : undefined;

// optional: labels and owners from the API server when a service account is mounted
const kubeApi = KubeApiPods.fromEnvironment(options.nodeName, process.env, {
  onError: (err) => post({ type: 'kube-api', connected: false, error: err.message }),
});
const pipeline = new RecordPipeline({
  source: 'kmsg',
  kubeApi,
  procRoot: options.procRoot,
  logDir: options.logDir,
  nodeName: options.nodeName,
  events: {
    onNewSyscall: (event) => post({ type: 'new-syscall', event }),
    onLostSignal: (kind, count) => post({ type: 'lost-signal', kind, count }),
    onMalformed: (lineNo, reason, excerpt) => post({ type: 'malformed', lineNo, reason, excerpt }),
    onError: (message) => post({ type: 'failed', error: message }),
  },
});
const source = new KmsgSource({
  pollMs: options.pollMs,
  sink: pipeline,
  ...(options.path ? { path: options.path } : {}),
  // a first start (or a new boot) reads what the kernel still holds: learning may have begun
  // before the daemon did
  ...(resumeAfterSeq !== undefined ? { resumeAfterSeq } : { fromStart: true }),
});
let lostReported = 0;
let committedSeq = -1;

function flush(): void {
  pipeline.addLost('overwritten', source.lostRecords - lostReported);
  lostReported = source.lostRecords;
  const position = source.position >= 0 && source.position !== committedSeq ? [{ source: 'kmsg', position: `${bootId}:${source.position}` }] : [];
  const batch = pipeline.takeBatch(position);
  if (batch === null) return;
  committedSeq = source.position;
  post({ type: 'batch', batch });
}

if (kubeApi !== null) {
  kubeApi.start().then(
    () => post({ type: 'kube-api', connected: true, error: null }),
    (err: Error) => post({ type: 'kube-api', connected: false, error: err.message }),
  );
}
try {
  pipeline.start();
  source.start();
  post({ type: 'started', niced, resumed: resumeAfterSeq !== undefined });
} catch (err) {
  post({ type: 'failed', error: (err as Error).message });
}
const flusher = setInterval(flush, options.flushMs);
const stats = setInterval(() => {
  // the metrics' per-source counts cross the thread here, once a second, not per record
  post({ type: 'stats', records: source.records, lostRecords: source.lostRecords, error: source.lastError, counters: pipeline.counters() });
}, 1000);
flusher.unref();
stats.unref();
parentPort!.on('message', (msg: string) => {
  if (msg !== 'stop') return;
  clearInterval(flusher);
  clearInterval(stats);
  source.stop();
  flush();
  pipeline.stop();
  kubeApi?.stop();
  post({ type: 'stopped', records: source.records, lostRecords: source.lostRecords, counters: pipeline.counters() });
  parentPort!.close();
});

function readBootId(): string {
  try {
    return readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
  } catch {
    return 'unknown-boot';
  }
}

function parsePosition(position: string | null): { bootId: string; seq: number } | null {
  if (position === null) return null;
  const i = position.lastIndexOf(':');
  const seq = Number(position.slice(i + 1));
  return i > 0 && Number.isSafeInteger(seq) ? { bootId: position.slice(0, i), seq } : null;
}
