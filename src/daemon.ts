import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { buildApp } from './http/app.js';
import type { YoungThresholds } from './profile/learning-window.js';
import { buildMetrics, type DaemonMetrics } from './metrics/daemon-metrics.js';
import { ReaderIngest } from './ingest/reader-ingest.js';
import type { ReaderIngestMessage, ReaderKind } from './ingest/reader-ingest-protocol.js';
import { RecordPipeline, type NewSyscall, type PipelineEvents } from './ingest/record-pipeline.js';
import { FileSource } from './sources/file-source.js';
import { JournalSource } from './sources/journal-source.js';
import { StdinSource } from './sources/stdin-source.js';
import { ProfileDelivery } from './deliver/profile-delivery.js';
import { SyscallStore } from './store/syscall-store.js';
import { archName, checkSyscallTables, syscallName } from './syscalls/syscall-table.js';
import type { FlushBatch } from './types/flush-batch.js';
import type { AuditChannelState } from './types/audit-channel.js';
import type { PipelineCounters } from './types/pipeline-counters.js';
import { KubeApiPods } from './attribute/kube-api-pods.js';
import { StoreError } from './store/store-error.js';
import type { KeyCaps } from './store/batch-commit.js';
import { parseSourceSpec } from './sources/source-spec.js';
import { PendingBatches } from './ingest/pending-batches.js';
import { databaseFileChange, fileIdentity, ownSidecars, removeIfStill, type FileIdentity } from './store/file-identity.js';
import { Counter, Gauge } from 'prom-client';
import { DEFAULT_READ_THREADS, ThreadStoreReader } from './http/thread-store-reader.js';

export interface DaemonConfig {
  /** `audit`, `kmsg`, `file:PATH`, `journal[:DIR]`, `-` (stdin) or `none`; several may run at once */
  sources: string[];
  host: string;
  port: number;
  procRoot: string;
  logDir: string;
  nodeName: string;
  logLevel: string;
  dbPath: string;
  /** data of workloads not seen for this long is pruned */
  retentionMs: number;
  /** bearer token for the API's mutating routes; null: they are off */
  token?: string | null;
  /** the read routes need the token too */
  protectReads?: boolean;
  /** the kubelet's seccomp root, where profiles are installed under seccomp-auditor/; null: off */
  kubeletSeccompDir?: string | null;
  /** a mounted ConfigMap of NAME.json profiles to install and keep in sync; null: off */
  syncProfilesFrom?: string | null;
  /** the most series each per-container syscall metric exports (default DEFAULT_MAX_SERIES) */
  metricsMaxSeries?: number;
  /** per-container series describe containers seen within this many ms (default DEFAULT_SERIES_WINDOW_MS) */
  metricsSeriesWindowMs?: number;
  /** the store's caps on distinct unattributed and executable keys (default DEFAULT_KEY_CAPS) */
  caps?: Partial<KeyCaps>;
  /** a followed file with no saved position is read from its start, not its end */
  readExisting?: boolean;
  /** the audit source's receive buffer request (default DEFAULT_RCVBUF_BYTES) */
  auditRcvbufBytes?: number;
  /** the audit source's ring for received records (default DEFAULT_RING_BYTES) */
  auditBufferBytes?: number;
  /** when a learned profile is marked young (default DEFAULT_YOUNG_THRESHOLDS) */
  young?: YoungThresholds;
  /** threads serving the API's reads (default DEFAULT_READ_THREADS); 0: on the main thread */
  readWorkers?: number;
}

/** What a same-thread source offers the daemon (FileSource, JournalSource, StdinSource). */
interface LineSourceHandle {
  /** where a restart resumes; absent for a source that cannot resume */
  readonly position?: string;
  /** what it is doing, for readiness (a followed file: `following` once appends will be read) */
  readonly state?: string;
  readonly lastError: string | null;
  start(): void;
  stop(): void | Promise<void>;
}

interface RunningSource {
  name: string;
  lastError: string | null;
  /** records read so far */
  readonly records?: number;
  /** its pipeline's counts, for the metrics */
  readonly counters?: PipelineCounters | null;
  readonly state?: string | undefined;
  readonly position?: string | undefined;
  /** the audit source's channel state */
  readonly audit?: AuditChannelState | null;
  stop(): void | Promise<void>;
}

/** nice value for the reader thread (audit or kmsg): enough to be scheduled promptly on a busy node */
const READER_NICE = -10;
/** the store sees one row update per changed key per batch, at least once a second */
const FLUSH_MS = 500;
/** batches kept while the store refuses them (disk full...), before the oldest are dropped */
const MAX_PENDING_BATCHES = 600;
const PRUNE_EVERY_MS = 3_600_000;
/** a store that failed to open is tried again after 1 s, then twice as long each time, up to this */
const MAX_OPEN_RETRY_MS = 60_000;

/**
 * Wires the stages and owns their start/stop order: store, then sources (each running parse →
 * attribute → aggregate on the thread that reads), then the HTTP server. /dev/kmsg runs on a
 * thread of its own (see kmsg-ingest-worker.ts); stdin runs here. Every batch of deltas is
 * committed with the source position it reaches, in one transaction. Stop order is the
 * reverse: sources drain and hand over their last batch, the store commits it, then closes.
 */
export class Daemon {
  readonly app: FastifyInstance;
  readonly log: FastifyBaseLogger;
  readonly dbPath: string;
  readonly #config: DaemonConfig;
  readonly #sources: RunningSource[] = [];
  readonly #events: PipelineEvents;
  #store: SyscallStore | null = null;
  #storeError: string | null = null;
  readonly #pending = new PendingBatches(MAX_PENDING_BATCHES);
  /** the device and inode the store was opened on: the path may be given another file */
  #storeIdentity: FileIdentity | null = null;
  #openRetry: NodeJS.Timeout | null = null;
  #openRetryMs = 0;
  #stopping = false;
  /** an outage's first dropped batch is logged, not every one after it */
  #dropLogged = false;
  /**
   * Damage a read or commit ran into (SA_DB_CORRUPT) after the open's quick_check passed: sticky
   * until the database is opened again, since a commit that happens to miss the bad pages proves
   * nothing. The fix in its message (move the file aside) makes the file check reopen.
   */
  #storeDamage: string | null = null;
  readonly #metrics: DaemonMetrics;
  #timers: NodeJS.Timeout[] = [];
  /** undefined until a same-thread source asks; null outside a cluster */
  #kubeApiPods: KubeApiPods | null | undefined = undefined;
  #profiles: ProfileDelivery | null = null;
  /** the API's reads, off the main thread; null with --read-workers 0 */
  readonly #reader: ThreadStoreReader | null;

  constructor(config: DaemonConfig) {
    this.#config = config;
    this.dbPath = config.dbPath;
    this.#metrics = buildMetrics({
      store: () => this.#store,
      sources: () => this.#sources.map((s) => ({ name: s.name, records: s.records ?? 0, ok: s.lastError === null, counters: s.counters ?? null })),
      databaseOk: () => this.#store !== null && this.#storeError === null && this.#storeDamage === null,
      onStoreError: (err) => this.#noteStoreError(err),
      containerFamiliesOffThread: () => {
        const reader = this.#reader;
        return reader === null ? null : (args) => reader.run('containerFamiliesText', args);
      },
      ...(config.metricsMaxSeries !== undefined ? { maxSeries: config.metricsMaxSeries } : {}),
      ...(config.metricsSeriesWindowMs !== undefined ? { seriesWindowMs: config.metricsSeriesWindowMs } : {}),
      ...(config.young !== undefined ? { young: config.young } : {}),
    });
    this.#pendingMetrics();
    const readWorkers = config.readWorkers ?? DEFAULT_READ_THREADS;
    this.#reader = readWorkers === 0 ? null : new ThreadStoreReader({
      store: () => this.#store, threads: readWorkers, registry: this.#metrics.registry,
      onThreadFailed: (error) => this.log.error({ event: 'read_thread_failed', error }, `${error}; its read answered 500, the next read starts another thread`),
    });
    this.app = buildApp({ status: { ready: () => this.#ready(), pending: () => this.#pending.stats(), counters: () => this.#sources.map((src) => ({ name: src.name, counters: src.counters ?? null, audit: src.audit ?? null })) }, store: () => this.#store, ...(this.#reader !== null ? { reader: this.#reader } : {}), onStoreError: (err) => this.#noteStoreError(err), token: config.token ?? null, protectReads: config.protectReads ?? false, profiles: () => this.#profiles?.installer ?? null, metrics: this.#metrics.registry, logger: { level: config.logLevel }, ...(config.young !== undefined ? { young: config.young } : {}) });
    this.log = this.app.log;
    this.#events = {
      onNewSyscall: (e) => this.#logNewSyscall(e),
      onLostSignal: (kind, count) => this.log.warn({ event: 'records_lost', kind, count }, 'the kernel reports lost records'),
      onMalformed: (lineNo, reason, excerpt) => this.log.warn({ event: 'malformed_record', line: lineNo, reason, excerpt }, 'malformed seccomp record'),
      onError: (message) => this.log.error({ event: 'attribution_error', error: message }, message),
    };
  }

  async start(): Promise<void> {
    // tables load on first use: a broken install should stop the start, not the first odd record
    checkSyscallTables();
    this.#openStore(false);
    for (const spec of this.#config.sources) {
      const source = parseSourceSpec(spec);
      if (source === null || source.kind === 'none') continue;
      try {
        this.#sources.push(
          source.kind === 'kmsg' || source.kind === 'audit' ? await this.#startReader(source.kind)
            : source.kind === 'file' ? this.#startFile(source.path)
              : source.kind === 'journal' ? this.#startJournal(source.path)
                : this.#startStdin(),
        );
        this.log.info({ event: 'source_started', source: spec }, `reading ${spec === '-' ? 'stdin' : spec}`);
      } catch (err) {
        const error = (err as Error).message;
        this.#sources.push({ name: spec, lastError: error, stop: () => {} });
        this.log.error({ event: 'source_failed', source: spec, error }, 'cannot read source; serving what is known');
      }
    }
    this.#every(1000, () => this.#commitPending());
    this.#every(PRUNE_EVERY_MS, () => this.#prune());
    this.#prune();
    this.#profiles = ProfileDelivery.start({ kubeletSeccompDir: this.#config.kubeletSeccompDir ?? null, syncProfilesFrom: this.#config.syncProfilesFrom ?? null, log: this.log, registry: this.#metrics.registry });
    await this.app.listen({ host: this.#config.host, port: this.#config.port });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    if (this.#openRetry !== null) clearTimeout(this.#openRetry);
    this.#profiles?.stop();
    for (const timer of this.#timers) clearInterval(timer);
    for (const source of this.#sources.reverse()) await source.stop();
    this.#kubeApiPods?.stop();
    this.#commitPending();
    // the read threads' connections first: the last connection to close checkpoints the WAL
    // into the file and removes it, and a read-only one cannot
    await this.#reader?.close();
    this.#store?.close();
    await this.app.close();
  }

  /**
   * The sources that lose records unless read at once (the audit group's socket buffer, the
   * kmsg ring) run on a thread of their own at raised priority; see reader-ingest-worker.ts.
   */
  async #startReader(kind: ReaderKind): Promise<RunningSource> {
    let readerError: string | null = null;
    let canary: string | null = null;
    const ingest = new ReaderIngest({
      kind,
      procRoot: this.#config.procRoot,
      logDir: this.#config.logDir,
      nodeName: this.#config.nodeName,
      pollMs: 2,
      flushMs: FLUSH_MS,
      nice: READER_NICE,
      ...(this.#config.auditRcvbufBytes !== undefined ? { rcvbufBytes: this.#config.auditRcvbufBytes } : {}),
      ...(this.#config.auditBufferBytes !== undefined ? { ringBytes: this.#config.auditBufferBytes } : {}),
      startPosition: this.#store?.position(kind) ?? null,
      onMessage: (m: ReaderIngestMessage) => {
        switch (m.type) {
          case 'batch': return this.#commit(kind, m.batch);
          case 'kube-api':
            return this.#logKubeApi(m.connected ? null : m.error ?? 'unknown error');
          case 'new-syscall': return this.#events.onNewSyscall?.(m.event);
          case 'lost-signal': return this.#events.onLostSignal(m.kind, m.count);
          case 'malformed': return this.#events.onMalformed(m.lineNo, m.reason, m.excerpt);
          case 'resumed':
            this.log.warn({ event: 'audit_resumed', afterSerial: m.afterSerial, firstSerial: m.firstSerial, missedAtMost: m.missedAtMost },
              `records made while the daemon was not reading are missed: audit serials ${m.afterSerial + 1} to ${m.firstSerial - 1} (at most ${m.missedAtMost} records, counted as lost: daemon_down)`);
            return;
          case 'failed':
            this.log.error({ event: `${kind}_error`, source: kind, error: m.error }, m.error);
            return;
          case 'stats':
            if (m.error !== readerError) {
              readerError = m.error;
              if (m.error !== null) this.log.error({ event: 'source_error', source: kind, error: m.error }, `reading ${kind === 'kmsg' ? '/dev/kmsg' : 'the audit multicast group'} failed`);
              else this.log.info({ event: 'source_recovered', source: kind }, `reading ${kind} again`);
            }
            if (m.audit !== null && m.audit.canary.state !== canary) {
              canary = m.audit.canary.state;
              if (canary === 'seen') this.log.info({ event: 'audit_canary', state: canary, latencyMs: m.audit.canary.latencyMs }, 'the canary record arrived: the audit channel works');
              else if (canary !== 'pending') this.log.warn({ event: 'audit_canary', state: canary, detail: m.audit.canary.detail }, m.audit.canary.detail ?? canary);
            }
            return;
          case 'started':
            if (!m.niced) this.log.warn({ event: 'reader_priority', nice: READER_NICE }, `cannot raise the ${kind} reader's priority (needs CAP_SYS_NICE); records may be lost on a busy node`);
            if (m.audit !== null) {
              this.log.info({ event: 'audit_joined', rcvbuf: m.audit.rcvbuf, forced: m.audit.rcvbufForced, ring: m.audit.ring }, `joined the kernel's audit multicast group (socket buffer ${m.audit.rcvbuf} bytes${m.audit.rcvbufForced ? '' : ', capped by net.core.rmem_max'}, ring ${m.audit.ring} bytes); a restart misses records made while the daemon is down`);
              if (m.audit.kernelStatusError !== null) this.log.warn({ event: 'audit_status', error: m.audit.kernelStatusError }, m.audit.kernelStatusError);
            } else {
              this.log.info({ event: 'kmsg_position', resumed: m.resumed }, m.resumed ? 'resuming after the committed kernel sequence number' : 'no position for this boot: reading what the kernel holds');
            }
            return;
          default: return;
        }
      },
    });
    await ingest.start();
    return ingest;
  }

  /**
   * A log file (auditd's, syslog...): a file keeps what it was given, so there is no ring
   * buffer to outrun and it is read on this thread. Position: `<inode>:<offset>`.
   */
  #startFile(path: string): RunningSource {
    const name = `file:${path}`;
    return this.#onThisThread(name, (sink, position) => new FileSource({
      path, sink, readExisting: this.#config.readExisting === true,
      ...(position !== null ? { startPosition: position } : {}),
      onEvent: (e) => this.log[e.type === 'error' ? 'error' : 'info']({ event: `file_${e.type}`, source: name, detail: e.detail }, e.detail),
    }));
  }

  /**
   * journald's kernel and audit transports through `journalctl -f` (a journal directory may be
   * given, e.g. the host's /var/log/journal mounted into a DaemonSet). Position: the cursor.
   */
  #startJournal(directory: string | null): RunningSource {
    return this.#onThisThread('journal', (sink, position) => new JournalSource({
      sink,
      ...(position !== null ? { startCursor: position } : {}),
      ...(directory !== null ? { directory } : {}),
      onEvent: (e) => this.log[e.type === 'error' ? 'error' : 'info']({ event: `journal_${e.type}`, detail: e.detail }, e.detail),
    }));
  }

  /** stdin: no position to resume from, since what was piped in is not piped again. */
  #startStdin(): RunningSource {
    return this.#onThisThread('stdin', (sink) => new StdinSource({ sink, stdin: process.stdin }));
  }

  /**
   * Runs a source and its pipeline on this thread: the source starts from the committed
   * position, and every FLUSH_MS the deltas go to the store with the position they reach
   * (read in the same turn as the deltas are taken, so one covers exactly the other).
   */
  #onThisThread(name: string, open: (sink: RecordPipeline, position: string | null) => LineSourceHandle): RunningSource {
    const pipeline = new RecordPipeline({
      source: name, procRoot: this.#config.procRoot, logDir: this.#config.logDir, nodeName: this.#config.nodeName, events: this.#events,
      kubeApi: this.#kubeApi(),
    });
    pipeline.start();
    const source = open(pipeline, this.#store?.position(name) ?? null);
    source.start();
    let committed = '';
    const flush = (): void => {
      const position = source.position ?? '';
      const batch = pipeline.takeBatch(position === '' || position === committed ? [] : [{ source: name, position }]);
      if (batch === null) return;
      committed = position;
      this.#commit(name, batch);
    };
    this.#every(FLUSH_MS, flush);
    return {
      name,
      get lastError() { return source.lastError; },
      get state() { return source.state; },
      get position() { return source.position; },
      get records() { return pipeline.stats.records; },
      get counters() { return pipeline.counters(); },
      stop: async () => { await source.stop(); flush(); pipeline.stop(); },
    };
  }

  /**
   * Opens the database at the configured path. When it cannot (a foreign or corrupt file, a
   * locked or unwritable one), the daemon still serves health and keeps what it reads in memory
   * (bounded), and tries again after 1 s, 2 s, 4 s... up to MAX_OPEN_RETRY_MS: logged when the
   * error changes, not at each try. `again`: a database was open before (it was deleted or
   * replaced), so a file created now is a new, empty one, and the operator is told.
   */
  #openStore(again: boolean): void {
    this.#openRetry = null;
    if (this.#stopping) return;
    const path = this.#config.dbPath;
    const existed = fileIdentity(path) !== null;
    try {
      const store = SyscallStore.open({ path, ...(this.#config.caps !== undefined ? { caps: this.#config.caps } : {}) });
      this.#store = store;
      this.#storeIdentity = fileIdentity(store.path);
      this.#openRetryMs = 0;
      if (again && !existed) {
        this.log.warn({ event: 'store_created', db: store.path }, `created a new, empty database at ${store.path} with the seccomp-auditor schema: what the old one held is gone (restore it from a backup with the daemon stopped to get it back); what was read meanwhile is committed to the new one`);
      } else {
        this.log.info({ event: 'store_opened', db: store.path, created: !existed }, `database ${store.path}`);
      }
      if (this.#storeError !== null) this.log.info({ event: 'store_recovered', db: store.path, pending: this.#pending.length }, 'the database is open again; committing what was kept in memory');
      this.#storeError = null;
      this.#storeDamage = null;
      this.#commitPending();
    } catch (err) {
      const error = (err as Error).message;
      if (error !== this.#storeError) {
        this.log.error({ event: 'store_failed', db: path, error }, `cannot open the database; keeping what is read in memory (at most ${MAX_PENDING_BATCHES} batches) and trying again`);
      }
      this.#storeError = error;
      this.#openRetryMs = Math.min(Math.max(1000, this.#openRetryMs * 2), MAX_OPEN_RETRY_MS);
      this.#openRetry = setTimeout(() => this.#openStore(again), this.#openRetryMs);
      this.#openRetry.unref();
    }
  }

  /**
   * Whether the path still names the file the store writes to. If the file was deleted or another
   * put in its place, commits would go to a file nobody can reach: the store is closed (readiness
   * fails with what happened and what to do), the old database's WAL is removed from the path so
   * it cannot leak into the next file, and the open is retried after a second.
   */
  #storeFileHolds(store: SyscallStore): boolean {
    if (this.#storeIdentity === null) return true;
    const change = databaseFileChange(store.path, this.#storeIdentity);
    if (change === null) return true;
    this.log.error({ event: 'store_file_changed', db: store.path, error: change }, change);
    this.#storeError = change;
    this.#store = null;
    this.#storeIdentity = null;
    const sidecars = ownSidecars(store.path);
    store.close();
    // the read threads hold the gone file open too; the next read opens what the daemon opens next
    this.#reader?.release();
    removeIfStill(sidecars);
    this.#openRetryMs = 0;
    this.#openRetry = setTimeout(() => this.#openStore(true), 1000);
    this.#openRetry.unref();
    return false;
  }

  /** Commits a batch, or keeps it (in order, bounded) while the store is away or refuses. */
  #commit(source: string, batch: FlushBatch): void {
    if (this.#pending.push(source, batch) !== null && !this.#dropLogged) {
      this.#dropLogged = true;
      this.log.error({ event: 'batch_dropped', source, ...this.#pending.stats() }, `the database was unavailable for too long: the oldest batch kept in memory was dropped, its records counted as lost (store_unavailable)`);
    }
    this.#commitPending();
  }

  #commitPending(): void {
    const store = this.#store;
    // kept, in order, until the store is back (#openStore commits them)
    if (store === null || !this.#storeFileHolds(store)) return;
    while (this.#pending.length > 0) {
      try {
        const started = process.hrtime.bigint();
        store.commitBatch(this.#pending.peek()!);
        this.#metrics.observeCommit(Number(process.hrtime.bigint() - started) / 1e9);
      } catch (err) {
        if (err instanceof StoreError && err.code === 'SA_BATCH_INVALID') {
          // the same batch would fail again and hold every later one (and the positions) back
          this.log.error({ event: 'batch_dropped', db: this.#config.dbPath, error: err.message }, 'a batch the database rejects as invalid was dropped');
          this.#pending.shift();
          continue;
        }
        this.#metrics.observeCommitFailure();
        this.#noteStoreError(err);
        const error = (err as Error).message;
        if (error !== this.#storeError) this.log.error({ event: 'commit_failed', db: this.#config.dbPath, error }, 'cannot commit to the database; keeping the data in memory and retrying');
        this.#storeError = error;
        return;
      }
      this.#pending.shift();
      this.#dropLogged = false;
      if (this.#storeError !== null) {
        this.log.info({ event: 'commit_recovered' }, 'the database takes writes again');
        this.#storeError = null;
      }
    }
  }

  /** A read (API, metrics) failed in the store: damage makes the daemon unready until a reopen. */
  #noteStoreError(err: unknown): void {
    if (!(err instanceof StoreError) || err.code !== 'SA_DB_CORRUPT' || this.#storeDamage === err.message) return;
    this.#storeDamage = err.message;
    this.log.error({ event: 'store_damaged', db: err.path, error: err.message }, err.message);
  }

  /** What the in-memory queue holds and dropped, next to the database's own metrics. */
  #pendingMetrics(): void {
    const pending = (): ReturnType<PendingBatches['stats']> => this.#pending.stats();
    const registers = [this.#metrics.registry];
    new Gauge({
      name: 'seccomp_auditor_pending_batches', help: 'Batches read but not yet committed, kept in memory while the database is unavailable.',
      registers, collect() { this.set(pending().batches); },
    });
    new Counter({
      name: 'seccomp_auditor_pending_batches_dropped_total',
      help: 'Batches dropped from memory (oldest first) because the database stayed unavailable past the bound; their records are counted as lost with reason store_unavailable.',
      registers, collect() { this.reset(); this.inc(pending().droppedBatches); },
    });
  }

  #prune(): void {
    try {
      const { workloads } = this.#store?.prune({ notSeenSinceMs: this.#config.retentionMs }) ?? { workloads: 0 };
      if (workloads > 0) this.log.info({ event: 'pruned', workloads }, 'forgot workloads not seen within the retention time');
    } catch (err) {
      this.log.error({ event: 'prune_failed', error: (err as Error).message }, 'pruning failed');
    }
  }

  /**
   * Labels and owners from the API server for the sources read on this thread (auditd's log,
   * journald, stdin), when a service account is mounted: one list+watch shared by them. The kmsg
   * thread runs its own, since objects do not cross threads.
   */
  #kubeApi(): KubeApiPods | null {
    if (this.#kubeApiPods !== undefined) return this.#kubeApiPods;
    this.#kubeApiPods = KubeApiPods.fromEnvironment(this.#config.nodeName, process.env, {
      onError: (err) => this.#logKubeApi(err.message),
    });
    this.#kubeApiPods?.start().then(
      () => this.#logKubeApi(null),
      (err: Error) => this.#logKubeApi(err.message),
    );
    return this.#kubeApiPods;
  }

  /** null: connected */
  #logKubeApi(error: string | null): void {
    if (error === null) this.log.info({ event: 'kube_api', connected: true }, 'names and owners from the Kubernetes API');
    else this.log.warn({ event: 'kube_api', connected: false, error }, 'the Kubernetes API is not available; names come from the kubelet\'s log directory');
  }

  #every(ms: number, f: () => void): void {
    const timer = setInterval(f, ms);
    timer.unref();
    this.#timers.push(timer);
  }

  #logNewSyscall(e: NewSyscall): void {
    const [kind, id] = e.workload.split(':', 2);
    this.log.info({
      event: 'new_syscall', [kind === 'container' ? 'containerId' : 'unit']: id,
      ...(e.pod ? { namespace: e.namespace, pod: e.pod, container: e.container } : {}),
      arch: archName(e.auditArch, e.syscallNr), syscall: syscallName(e.auditArch, e.syscallNr) ?? e.syscallNr, action: e.action,
    }, 'new syscall observed');
  }

  #ready(): { ready: boolean; sources: { name: string; ok: boolean; error: string | null }[] } {
    const sources = this.#sources.map((s) => ({ name: s.name, ok: s.lastError === null, error: s.lastError, ...(s.state !== undefined ? { state: s.state, position: s.position ?? '' } : {}) }));
    const error = this.#storeError ?? this.#storeDamage;
    sources.push({ name: 'store', ok: error === null, error });
    return { ready: sources.every((s) => s.ok), sources };
  }
}
