/**
 * The reader thread, for the sources that lose records unless read at once: the kernel's audit
 * multicast group (a socket buffer) and /dev/kmsg (a ring of a few hundred records). The reader
 * must never wait behind the HTTP server, a GC pause of the main heap or a store commit; and it
 * raises its own priority when allowed (Linux applies nice values per thread), since on a busy
 * node the forking workloads it watches compete with it for the CPU.
 *
 * Every `flushMs` it hands the main thread the deltas since the last batch together with the
 * position they reach (kmsg: the kernel's sequence number; audit: the record serial), which
 * the store commits in one transaction.
 */
import { readFileSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { KubeApiPods } from '../attribute/kube-api-pods.js';
import { AuditSource } from '../sources/audit-source.js';
import { KmsgSource } from '../sources/kmsg-source.js';
import { ABSENT } from '../types/seccomp-record.js';
import { RecordPipeline } from './record-pipeline.js';
import { columnBuffers } from '../types/syscall-columns.js';
import type { AuditChannelState, ReaderIngestMessage, ReaderIngestOptions } from './reader-ingest-protocol.js';

const options = workerData as ReaderIngestOptions;
const post = (m: ReaderIngestMessage, transfer?: ArrayBuffer[]): void => parentPort!.postMessage(m, transfer);

let niced = false;
try {
  setPriority(0, options.nice);
  niced = true;
} catch {
  // not permitted (no CAP_SYS_NICE): read at normal priority
}
// Sequence numbers and serials start again at every boot: a saved one counts only on the same boot.
const bootId = readBootId();
const saved = parsePosition(options.startPosition);
const resumeAfter = saved !== null && saved.bootId === bootId ? saved.seq : undefined;

// optional: labels and owners from the API server when a service account is mounted
const kubeApi = KubeApiPods.fromEnvironment(options.nodeName, process.env, {
  onError: (err) => post({ type: 'kube-api', connected: false, error: err.message }),
});
const pipeline = new RecordPipeline({
  source: options.kind,
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

/** What the thread needs of either source. */
interface Reader {
  readonly position: number;
  readonly lostRecords: number;
  readonly records: number;
  readonly lastError: string | null;
  start(): void;
  stop(): void;
}

let audit: AuditSource | null = null;
let source: Reader;
/** why records the source lost are lost: the kernel overwrote them, or dropped them for our socket */
let lostReason: string;
if (options.kind === 'audit') {
  // the group has no history: nothing to resume from; the committed serial only tells the gap
  audit = new AuditSource({
    sink: pipeline,
    ...(resumeAfter !== undefined ? { resumeAfterSerial: resumeAfter } : {}),
    ...(options.rcvbufBytes !== undefined ? { rcvbufBytes: options.rcvbufBytes } : {}),
    ...(options.ringBytes !== undefined ? { ringBytes: options.ringBytes } : {}),
    // readiness follows the canary at once, not at the next once-a-second report
    onCanary: () => postStats(),
  });
  source = audit;
  lostReason = 'socket_overrun';
} else {
  source = new KmsgSource({
    pollMs: options.pollMs,
    sink: pipeline,
    ...(options.path ? { path: options.path } : {}),
    // a first start (or a new boot) reads what the kernel still holds: learning may have begun
    // before the daemon did
    ...(resumeAfter !== undefined ? { resumeAfterSeq: resumeAfter } : { fromStart: true }),
  });
  lostReason = 'overwritten';
}
let lostReported = 0;
let committed = -1;
/** the kernel's audit_lost when first read, -1 when not (yet) readable */
let kernelLostBase = -1;
let kernelLost: number | null = null;
let kernelStatusError: string | null = null;
/** when audit_lost was last read: its growth since happened after (Date.now(), the records' clock) */
let kernelLostLookedAt = 0;
/**
 * The newest record read when the source's loss counter was last checked (null before the first
 * check: then since the newest record committed before the start, which the store knows). The
 * counter is read once a flush, so a loss it shows happened after that record: the records
 * before the gap (ENOBUFS on the socket, the ring overwritten) were read no earlier.
 */
let lossCheckedUpTo: number | null = null;

/**
 * The kernel's own count of audit records it dropped (backlog full, no memory), asked with
 * AUDIT_GET, which needs CAP_AUDIT_CONTROL: without it the error is reported once and the
 * question not asked again.
 */
function readKernelLost(): void {
  if (audit === null || kernelStatusError !== null) return;
  try {
    const total = audit.kernelStatus().lost;
    const now = Date.now();
    if (kernelLostBase < 0) kernelLostBase = total;
    // counted from this thread's start: what was lost before the daemon ran is not its to charge
    const delta = total - kernelLostBase - (kernelLost ?? 0);
    // lost since the previous look (once a second)
    if (delta > 0) pipeline.addLost('audit_lost', delta, { from: kernelLostLookedAt, to: now });
    kernelLostLookedAt = now;
    kernelLost = total - kernelLostBase;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    kernelStatusError = e.code === 'EPERM'
      ? 'the kernel\'s own count of dropped audit records (audit_lost) needs CAP_AUDIT_CONTROL, which the daemon does not hold; records the kernel drops before they reach the group are not counted'
      : `the kernel's audit status cannot be read: ${e.message}`;
  }
}

function auditState(): AuditChannelState | null {
  if (audit === null) return null;
  return { rcvbuf: audit.rcvbuf, rcvbufForced: audit.rcvbufForced, ring: audit.ring, canary: { ...audit.canary }, foreign: audit.foreign, kernelLost, kernelStatusError };
}

let gapReported = false;

function flush(): void {
  const now = Date.now();
  if (audit?.gap != null && !gapReported) {
    gapReported = true;
    // from the newest record the daemon committed before it stopped to the first read after
    const first = pipeline.firstRecordTime;
    pipeline.addLost('daemon_down', audit.gap.missedAtMost, { from: null, to: first === ABSENT ? now : first });
    post({ type: 'resumed', ...audit.gap });
  }
  pipeline.addLost(lostReason, source.lostRecords - lostReported, { from: lossCheckedUpTo, to: now });
  lostReported = source.lostRecords;
  if (pipeline.newestRecordTime !== ABSENT) lossCheckedUpTo = pipeline.newestRecordTime;
  const at = source.position;
  const position = at >= 0 && at !== committed ? [{ source: options.kind, position: `${bootId}:${at}` }] : [];
  // syscall rows in columns whose buffers move to the main thread: no clone of a row object on
  // either side, and no garbage of them on the main thread's heap, which serves the API
  const batch = pipeline.takeBatch(position);
  if (batch === null) return;
  committed = at;
  post({ type: 'batch', batch }, batch.columns === undefined ? [] : columnBuffers(batch.columns));
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
  readKernelLost();
  post({ type: 'started', niced, resumed: resumeAfter !== undefined && options.kind === 'kmsg', audit: auditState() });
} catch (err) {
  post({ type: 'failed', error: (err as Error).message });
}
const flusher = setInterval(flush, options.flushMs);
const stats = setInterval(() => {
  readKernelLost();
  postStats();
}, 1000);

/** the metrics' per-source counts cross the thread here, once a second, not per record */
function postStats(): void {
  post({ type: 'stats', records: source.records, lostRecords: source.lostRecords, error: source.lastError, counters: pipeline.counters(), audit: auditState() });
}
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
